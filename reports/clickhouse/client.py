"""Access to ClickHouse through clickhouse-connect, for a server (http/https) or chdb.

`clickhouse_client()` returns a client bound to the configured database, one per
thread: clickhouse-connect's HTTP client keeps per-session state that two threads
must not share, and chdb allows one data path per process, which many clients in the
same process may share.
"""

from __future__ import annotations

import threading
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from django.conf import settings

_local = threading.local()
_database_ready: set[tuple[str, str]] = set()
_lock = threading.Lock()


def _open(database: str | None) -> Client:
    url = settings.CLICKHOUSE.url
    kwargs: dict[str, Any] = {"dsn": url}
    if database:
        kwargs["database"] = database
    if not settings.CLICKHOUSE.embedded:
        kwargs.update(autogenerate_session_id=False, connect_timeout=5, send_receive_timeout=300)
    return clickhouse_connect.get_client(**kwargs)


def server_client() -> Client:
    """A client with no database selected (to create or drop databases)."""
    return _open(None)


def ensure_database(database: str | None = None) -> None:
    database = database or settings.CLICKHOUSE.database
    key = (settings.CLICKHOUSE.url, database)
    if key in _database_ready:
        return
    with _lock:
        client = server_client()
        try:
            client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        finally:
            client.close()
        _database_ready.add(key)


def clickhouse_client() -> Client:
    """The calling thread's client for settings.CLICKHOUSE (created on first use)."""
    key = (settings.CLICKHOUSE.url, settings.CLICKHOUSE.database)
    cached = getattr(_local, "clients", None)
    if cached is None:
        cached = _local.clients = {}
    client = cached.get(key)
    if client is None:
        ensure_database(settings.CLICKHOUSE.database)
        client = cached[key] = _open(settings.CLICKHOUSE.database)
    return client


def forget_clients() -> None:
    """Drop cached clients (tests that switch databases)."""
    for client in getattr(_local, "clients", {}).values():
        client.close()
    _local.clients = {}
    _database_ready.clear()
