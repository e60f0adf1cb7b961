"""Parsing and validation of the environment that configures adplatform.

Pure functions, no Django import: settings.py calls them, tests call them directly.
Every error names the variable and what a good value looks like, because the person
reading it is an operator with a broken deployment, not a developer.
"""

from __future__ import annotations

import os
import secrets
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from cryptography.fernet import Fernet


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


DATABASE_SCHEMES = {"sqlite", "mysql", "mysql2", "mysqlgis", "mariadb", "postgres", "postgresql", "pgsql"}
BROKER_SCHEMES = {"redis", "rediss", "amqp", "amqps", "pyamqp", "memory"}


def parse_database_url(value: str) -> dict[str, Any]:
    """DATABASE_URL -> a Django DATABASES entry (django-environ does the mapping)."""
    scheme = urlsplit(value).scheme
    if scheme not in DATABASE_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL: unsupported scheme {scheme!r} in {redact_url(value)!r}; "
            "use sqlite:////path/db.sqlite3 or mysql://user:password@host:3306/name"
        )
    if scheme != "sqlite" and not urlsplit(value).path.strip("/"):
        raise ConfigError(
            f"DATABASE_URL: no database name in {redact_url(value)!r}; e.g. mysql://root@127.0.0.1:3306/adplatform"
        )
    config: dict[str, Any] = environ.Env.db_url_config(value)
    # Keep a thread's connection across requests (`?conn_max_age=0` in the URL turns it
    # off): opening and closing a SQLite connection per request was half of a cached
    # dashboard request's server time under load; on MySQL it saves a handshake.
    config.setdefault("CONN_MAX_AGE", 60)
    config.setdefault("CONN_HEALTH_CHECKS", True)
    if config["ENGINE"] == "django.db.backends.mysql":
        options = config.setdefault("OPTIONS", {})
        # utf8mb4 for names in any script (Chinese campaign names), strict mode so bad
        # data raises instead of being silently truncated.
        options.setdefault("charset", "utf8mb4")
        options.setdefault("init_command", "SET sql_mode='STRICT_TRANS_TABLES', innodb_lock_wait_timeout=50")
        options.setdefault("isolation_level", "read committed")
        config.setdefault("TEST", {}).setdefault("CHARSET", "utf8mb4")
        config["TEST"].setdefault("COLLATION", "utf8mb4_unicode_ci")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Several threads (web, scheduler, workers) share one file in the embedded mode:
        # WAL lets readers proceed during a write; the timeout waits out short write locks.
        config.setdefault("OPTIONS", {}).setdefault("timeout", 30)
        config["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
        config["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        # Tests on a file next to it, not Django's shared-cache in-memory database: shared
        # cache locks whole tables and fails at once ("database table is locked") where a
        # file in WAL mode, as in production, waits out a writer. Threaded tests (executor,
        # scheduler, health checks) then meet the locking the embedded platform really has.
        name = Path(config["NAME"])
        config.setdefault("TEST", {}).setdefault("NAME", str(name.with_name(f"test_{name.name}")))
    return config


@dataclass(frozen=True)
class ClickHouseConfig:
    url: str
    database: str

    @property
    def embedded(self) -> bool:
        return self.url.startswith("chdb://")

    @property
    def chdb_path(self) -> str | None:
        return self.url[len("chdb://") :] if self.embedded else None


def parse_clickhouse_url(value: str, database: str) -> ClickHouseConfig:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https", "chdb"}:
        raise ConfigError(
            f"CLICKHOUSE_URL: unsupported scheme {parts.scheme!r} in {redact_url(value)!r}; "
            "use chdb:///path/to/dir (embedded) or http(s)://user:password@host:8123"
        )
    if parts.scheme == "chdb" and not value[len("chdb://") :]:
        raise ConfigError("CLICKHOUSE_URL: chdb:// needs a directory, e.g. chdb://./var/clickhouse")
    if parts.scheme != "chdb" and not parts.hostname:
        raise ConfigError(f"CLICKHOUSE_URL: no host in {redact_url(value)!r}")
    if not database.replace("_", "").isalnum():
        raise ConfigError(f"CLICKHOUSE_DATABASE: {database!r} is not a plain identifier (letters, digits, _)")
    if parts.scheme == "chdb":
        path = value[len("chdb://") :]
        value = "chdb://" + str(Path(path).expanduser().resolve())
    return ClickHouseConfig(url=value, database=database)


def parse_broker_url(value: str | None) -> str | None:
    if not value:
        return None
    scheme = urlsplit(value).scheme
    if scheme not in BROKER_SCHEMES:
        raise ConfigError(
            f"CELERY_BROKER_URL: unsupported scheme {scheme!r} in {redact_url(value)!r}; "
            "use redis://host:6379/0 or amqp://user:password@host:5672//, or leave it unset for in-process execution"
        )
    return value


def parse_fernet_keys(value: str) -> list[str]:
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        raise ConfigError("CREDENTIALS_KEYS: empty; give one or more Fernet keys, newest first, comma-separated")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                f"CREDENTIALS_KEYS: key #{position} is not a valid Fernet key (32 url-safe base64-encoded bytes); "
                "generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None
    return keys


def parse_time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"TIME_ZONE: unknown time zone {value!r}; use an IANA name such as UTC or Asia/Shanghai"
        ) from None
    return value


def parse_hosts(value: str) -> list[str]:
    hosts = [h.strip() for h in value.split(",") if h.strip()]
    if not hosts:
        raise ConfigError("ALLOWED_HOSTS: empty; give comma-separated host names, e.g. ads.example.com,localhost")
    return hosts


def persistent_secret(path: Path, generate: Callable[[], str]) -> str:
    """Read a secret from `path`, creating it with `generate()` on first use.

    The embedded mode must work with nothing configured, yet a secret must never be a
    constant in the repository: it is generated once per installation and kept in var/
    with owner-only permissions.
    """
    if path.exists():
        text: str = path.read_text()
        return text.strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, value.encode())
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return value


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()


def redact_url(url: str) -> str:
    """The URL with its password replaced, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
