"""pytest plugin loaded before Django settings (`-p adplatform.testing.isolation`).

Tests must never touch a developer's ./var/ (a running `make run` holds the chdb path,
and its data is not the tests' to change): everything a test run writes goes to a
fresh temporary directory, and ClickHouse uses a `test_` database, as Django does for
the metadata database.
"""

import os
import tempfile

_tmp = tempfile.mkdtemp(prefix="adplatform-test-")
os.environ["ADPLATFORM_VAR_DIR"] = _tmp
if not os.environ.get("CLICKHOUSE_URL", "").startswith(("http://", "https://")):
    os.environ["CLICKHOUSE_URL"] = f"chdb://{_tmp}/clickhouse"
os.environ["CLICKHOUSE_DATABASE"] = "test_" + os.environ.get("CLICKHOUSE_DATABASE", "adplatform")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# Every suite starts from an empty DAG template table; tests of the connectors' default
# templates load them explicitly (ingestion.services.templates.templates_load_defaults).
os.environ.setdefault("INGESTION_DEFAULT_TEMPLATES", "0")
