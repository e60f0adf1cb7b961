"""Fixtures of the report tests: an empty `report_rows` per test."""

from datetime import UTC

import pytest

from reports.clickhouse.client import clickhouse_client


@pytest.fixture
def report_store(db):
    """The test ClickHouse database (migrated by pytest-django's `migrate`) with no report rows."""
    client = clickhouse_client()
    client.command("TRUNCATE TABLE report_rows")
    yield client
    client.command("SYSTEM START MERGES report_rows")
    client.command("TRUNCATE TABLE report_rows")


@pytest.fixture
def sandbox_account(sandbox_server, db):
    """A sandbox grant (profile 1:2:20, OAuth2 over HTTP) stored as Organization, PlatformApp,
    Credential and the grant's first AdAccount (America/New_York, USD), created directly.
    The sandbox's clock is fixed at the current hour (its numbers then never move) and its
    tokens live 10 days, so tests may move that clock forward by days."""
    from datetime import datetime, timedelta

    from accounts.models import AdAccount, Credential, Organization, PlatformApp

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    sandbox_server.configure(now=now, access_lifetime=timedelta(days=10), refresh_lifetime=timedelta(days=60))
    connector = sandbox_server.connector(client_id="test-app")
    token = sandbox_server.authorize(connector, profile="1:2:20")
    info = next(iter(connector.list_accounts(token)))
    organization = Organization.objects.create(name="Reports test org")
    app = PlatformApp.objects.create(
        platform="sandbox",
        name="test app",
        client_id="test-app",
        client_secret="test-app-secret",
        redirect_uri="http://127.0.0.1/callback",
    )
    credential = Credential(organization=organization, platform="sandbox", app=app, subject="tester")
    credential.store(token)
    credential.save()
    account = AdAccount.objects.create(
        organization=organization,
        platform="sandbox",
        external_id=info.external_id,
        name=info.name,
        currency=info.currency,
        timezone=info.timezone,
        credential=credential,
    )
    account.sandbox_now = now
    return account
