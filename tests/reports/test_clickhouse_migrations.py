"""ClickHouse migrations: applied once, idempotent on fresh and existing stores, guarded against edits."""

import pytest
from django.test import override_settings

from adplatform.config import ClickHouseConfig
from reports.clickhouse import migrations
from reports.clickhouse.client import clickhouse_client, forget_clients, server_client


@pytest.fixture
def fresh_store(settings, tmp_path):
    """A ClickHouse database of its own, dropped afterwards."""
    database = f"{settings.CLICKHOUSE.database}_mig"
    with override_settings(CLICKHOUSE=ClickHouseConfig(url=settings.CLICKHOUSE.url, database=database)):
        forget_clients()
        yield database
        server_client().command(f"DROP DATABASE IF EXISTS `{database}`")
        forget_clients()


def _write(dir_, name, sql):
    (dir_ / name).write_text(sql)


def test_test_database_was_migrated_by_manage_py_migrate(db):
    # pytest-django's test database creation ran `migrate`, which ran our migrations too.
    assert 1 in migrations.applied()
    columns = dict(
        clickhouse_client()
        .query("SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'report_rows'")
        .result_rows
    )
    assert columns["extra"] == "Map(LowCardinality(String), Float64)"
    assert columns["cost"] == "Decimal(18, 6)"


def test_fresh_store_applies_each_migration_once(fresh_store):
    first = migrations.migrate(log=lambda *_: None)
    assert [m.version for m in first] == [m.version for m in migrations.discover()]
    assert migrations.migrate(log=lambda *_: None) == []
    count = clickhouse_client().command("SELECT count() FROM schema_migrations FINAL")
    assert count == len(first)
    engine = clickhouse_client().command(
        "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'report_rows'"
    )
    assert engine == "ReplacingMergeTree"


def test_existing_store_gets_only_new_migrations(fresh_store, tmp_path):
    _write(
        tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS `${database}`.a (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
    )
    assert [m.name for m in migrations.migrate(tmp_path, log=lambda *_: None)] == ["a"]
    clickhouse_client().command("INSERT INTO a VALUES (7)")
    _write(
        tmp_path,
        "0002_b.sql",
        "-- adds a column\nALTER TABLE `${database}`.a ADD COLUMN IF NOT EXISTS y UInt8 DEFAULT 1;\nCREATE TABLE "
        "`${database}`.b (x UInt8) ENGINE = MergeTree ORDER BY x;\n",
    )
    assert [m.name for m in migrations.migrate(tmp_path, log=lambda *_: None)] == ["b"]
    assert migrations.migrate(tmp_path, log=lambda *_: None) == []
    assert clickhouse_client().query("SELECT x, y FROM a").result_rows == [(7, 1)]


def test_editing_an_applied_migration_is_an_error(fresh_store, tmp_path):
    _write(
        tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS `${database}`.a (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
    )
    migrations.migrate(tmp_path, log=lambda *_: None)
    _write(
        tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS `${database}`.a (x UInt16) ENGINE = MergeTree ORDER BY x;\n"
    )
    with pytest.raises(migrations.ClickHouseMigrationError, match="0001_a was changed after it was applied"):
        migrations.migrate(tmp_path, log=lambda *_: None)


def test_badly_named_file_is_rejected(tmp_path):
    _write(tmp_path, "1_a.sql", "SELECT 1;")
    with pytest.raises(migrations.ClickHouseMigrationError, match=r"named NNNN_name.sql"):
        migrations.discover(tmp_path)


def test_cluster_variant_renders_replicated_tables_and_a_distributed_table(settings):
    settings.CLICKHOUSE_CLUSTER = "ads_cluster"
    migration = next(m for m in migrations.discover() if m.name == "report_rows")
    statements = migration.statements(migrations.render_context())
    assert len(statements) == 2
    assert "report_rows_local ON CLUSTER `ads_cluster`" in statements[0]
    assert "ReplicatedReplacingMergeTree(" in statements[0]
    assert "ENGINE = Distributed(`ads_cluster`" in statements[1]
    settings.CLICKHOUSE_CLUSTER = ""
    single = migration.statements(migrations.render_context())
    assert len(single) == 1 and "ReplacingMergeTree(version)" in single[0] and "_local" not in single[0]
