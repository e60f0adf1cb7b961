"""Fixtures of the report tests: an empty `report_rows` per test."""
import pytest

from reports.clickhouse.client import clickhouse_client


@pytest.fixture
def report_store(db):
    """The test ClickHouse database (migrated by pytest-django's `migrate`) with no report rows."""
    client = clickhouse_client()
    client.command("TRUNCATE TABLE report_rows")
    yield client
    client.command("TRUNCATE TABLE report_rows")
