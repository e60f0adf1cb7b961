"""Versioned ClickHouse schema migrations.

Numbered SQL files in `reports/clickhouse/migrations/` (`0001_report_rows.sql`, ...)
are applied in order, once each, and recorded in `schema_migrations` in the same
ClickHouse database. A file that changed after it was applied is an error rather than
silently skipped, because the store would no longer match the code.

SQL files may use placeholders, so one file serves a single server, chdb and a cluster:
  ${database}        the configured database
  ${on_cluster}      "ON CLUSTER name" when CLICKHOUSE_CLUSTER is set, else ""
  ${replacing}       ReplacingMergeTree or ReplicatedReplacingMergeTree(...) on a cluster
  ${replacing_deleted}  the same with tombstones: (version, is_deleted)
  ${local_suffix}    "_local" on a cluster (the Distributed table takes the plain name)
Statements are separated by a line that ends with ";". A statement whose text contains
the comment `-- cluster only` is applied only when CLICKHOUSE_CLUSTER is set.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from django.conf import settings

from reports.clickhouse.client import clickhouse_client, ensure_database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class ClickHouseMigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self, context: dict) -> list[str]:
        rendered = Template(self.sql).substitute(context)
        chunks = re.split(r";\s*(?:\n|$)", rendered)
        statements = [c.strip() for c in chunks if c.strip() and not _only_comments(c)]
        if not context.get("cluster"):
            statements = [s for s in statements if "-- cluster only" not in s]
        return statements


def _only_comments(chunk: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in chunk.splitlines())


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = FILENAME.match(path.name)
        if not match:
            raise ClickHouseMigrationError(f"{path.name}: ClickHouse migration files are named NNNN_name.sql")
        migrations.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ClickHouseMigrationError(f"duplicate ClickHouse migration numbers in {directory}")
    return migrations


def render_context() -> dict:
    database = settings.CLICKHOUSE.database
    cluster = settings.CLICKHOUSE_CLUSTER
    if cluster:
        return {
            "database": database,
            "on_cluster": f"ON CLUSTER `{cluster}`",
            "replacing": (
                "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)"
            ),
            "replacing_deleted": (
                "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', "
                "version, is_deleted)"
            ),
            "local_suffix": "_local",
            "cluster": cluster,
        }
    return {
        "database": database,
        "on_cluster": "",
        "replacing": "ReplacingMergeTree(version)",
        "replacing_deleted": "ReplacingMergeTree(version, is_deleted)",
        "local_suffix": "",
        "cluster": "",
    }


def _ensure_ledger(client, context) -> None:
    client.command(
        f"CREATE TABLE IF NOT EXISTS `{context['database']}`.schema_migrations {context['on_cluster']} "
        "(version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )


def applied() -> dict[int, tuple[str, str]]:
    context = render_context()
    ensure_database(context["database"])
    client = clickhouse_client()
    _ensure_ledger(client, context)
    rows = client.query(
        f"SELECT version, name, checksum FROM `{context['database']}`.schema_migrations FINAL"  # noqa: S608 (configured name)
    ).result_rows
    return {version: (name, checksum) for version, name, checksum in rows}


def migrate(directory: Path = MIGRATIONS_DIR, log=print) -> list[Migration]:
    """Apply pending migrations; return those applied now (empty when up to date)."""
    done = applied()
    pending = []
    for migration in discover(directory):
        if migration.version in done:
            _name, checksum = done[migration.version]
            if checksum != migration.checksum:
                raise ClickHouseMigrationError(
                    f"ClickHouse migration {migration.version:04d}_{migration.name} was changed after it was applied; "
                    "add a new migration instead of editing an applied one"
                )
            continue
        pending.append(migration)
    client = clickhouse_client()
    context = render_context()
    for migration in pending:
        log(f"  Applying ClickHouse {migration.version:04d}_{migration.name}...")
        for statement in migration.statements(context):
            client.command(statement)
        client.insert(
            f"`{context['database']}`.schema_migrations",
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
    return pending
