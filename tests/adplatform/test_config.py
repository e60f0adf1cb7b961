"""Settings parsing: good values are accepted, bad values give errors that name the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from adplatform import config

ROOT = Path(__file__).resolve().parents[2]


def test_sqlite_url_gets_wal_and_timeout():
    db = config.parse_database_url("sqlite:////tmp/x/db.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == "/tmp/x/db.sqlite3"
    assert db["OPTIONS"]["timeout"] == 30
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]


def test_mysql_url_is_parsed_with_utf8mb4_and_strict_mode():
    db = config.parse_database_url("mysql://root:pw@127.0.0.1:3306/adplatform")
    assert db["ENGINE"] == "django.db.backends.mysql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "adplatform",
        "root",
        "pw",
        "127.0.0.1",
        3306,
    )
    assert db["OPTIONS"]["charset"] == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in db["OPTIONS"]["init_command"]


@pytest.mark.parametrize(
    "url, message",
    [
        ("oracle://u:secretpw@h/db", "DATABASE_URL: unsupported scheme 'oracle'"),
        ("mysql://root@127.0.0.1:3306/", "DATABASE_URL: no database name"),
    ],
)
def test_bad_database_url(url, message):
    with pytest.raises(config.ConfigError, match=message) as info:
        config.parse_database_url(url)
    assert "secretpw" not in str(info.value)


def test_clickhouse_urls():
    embedded = config.parse_clickhouse_url("chdb://./var/ch", "adplatform")
    assert embedded.embedded and Path(embedded.chdb_path).is_absolute()
    server = config.parse_clickhouse_url("http://default:pw@ch.example:8123", "ads")
    assert not server.embedded and server.database == "ads"


@pytest.mark.parametrize(
    "url, database, message",
    [
        ("tcp://ch:9000", "a", "CLICKHOUSE_URL: unsupported scheme 'tcp'"),
        ("chdb://", "a", "chdb:// needs a directory"),
        ("http://", "a", "CLICKHOUSE_URL: no host"),
        ("http://ch:8123", "ads; DROP", "CLICKHOUSE_DATABASE: 'ads; DROP' is not a plain identifier"),
    ],
)
def test_bad_clickhouse_url(url, database, message):
    with pytest.raises(config.ConfigError, match=message):
        config.parse_clickhouse_url(url, database)


def test_broker_url():
    assert config.parse_broker_url("") is None
    assert config.parse_broker_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    with pytest.raises(config.ConfigError, match="CELERY_BROKER_URL: unsupported scheme 'kafka'"):
        config.parse_broker_url("kafka://x")


def test_fernet_keys():
    keys = [Fernet.generate_key().decode() for _ in range(2)]
    assert config.parse_fernet_keys(" , ".join(keys)) == keys
    with pytest.raises(config.ConfigError, match="CREDENTIALS_KEYS: key #2 is not a valid Fernet key"):
        config.parse_fernet_keys(f"{keys[0]},not-a-key")
    with pytest.raises(config.ConfigError, match="CREDENTIALS_KEYS: empty"):
        config.parse_fernet_keys(" , ")


def test_time_zone_and_hosts():
    assert config.parse_time_zone("Asia/Shanghai") == "Asia/Shanghai"
    with pytest.raises(config.ConfigError, match="TIME_ZONE: unknown time zone 'Mars/Olympus'"):
        config.parse_time_zone("Mars/Olympus")
    assert config.parse_hosts("a.example, b.example") == ["a.example", "b.example"]
    with pytest.raises(config.ConfigError, match="ALLOWED_HOSTS: empty"):
        config.parse_hosts(" ")


def test_persistent_secret_is_generated_once_with_owner_only_mode(tmp_path):
    path = tmp_path / "sub" / "secret"
    first = config.persistent_secret(path, config.new_secret_key)
    assert config.persistent_secret(path, lambda: "other") == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_redact_url_hides_password():
    assert config.redact_url("redis://:hunter2@h:6379/0") == "redis://:***@h:6379/0"


def _manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_manage_py_reports_a_bad_setting_in_one_line(tmp_path):
    result = _manage("check", ADPLATFORM_VAR_DIR=str(tmp_path), TIME_ZONE="Nowhere/City")
    assert result.returncode != 0
    assert "adplatform: configuration error: TIME_ZONE: unknown time zone 'Nowhere/City'" in result.stderr
    assert "Traceback" not in result.stderr


def test_deploy_check_is_clean_for_a_service_environment(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        ADPLATFORM_VAR_DIR=str(tmp_path),
        ADPLATFORM_HTTPS="true",
        ALLOWED_HOSTS="ads.example.com",
        DATABASE_URL="mysql://root@127.0.0.1:3306/adplatform",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout
