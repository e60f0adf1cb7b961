"""The one settings module of adplatform, configured from environment variables.

With nothing set it runs embedded: SQLite and chdb under ./var/, tasks in-process,
secrets generated once and kept under ./var/. A service deployment (SaaS or
on-premise) differs only by its environment: see README "Service mode".
"""

from __future__ import annotations

from pathlib import Path

import environ

from adplatform import config

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

VAR_DIR = Path(env.str("ADPLATFORM_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or config.persistent_secret(
    VAR_DIR / "secret_key", config.new_secret_key
)
CREDENTIALS_KEYS = config.parse_fernet_keys(
    env.str("CREDENTIALS_KEYS", default="")
    or config.persistent_secret(VAR_DIR / "credentials_key", config.new_fernet_key)
)
ALLOWED_HOSTS = config.parse_hosts(env.str("ALLOWED_HOSTS", default="localhost,127.0.0.1,[::1],testserver"))
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = config.parse_time_zone(env.str("TIME_ZONE", default="UTC"))
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en-us"

# The public base URL of this deployment: OAuth redirect URIs are built from it.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # reports first: its `migrate` command extends Django's to migrate ClickHouse too.
    "reports",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_celery_beat",
    "adplatform",
    "connectors",
    "connectors.sandbox",
    "accounts",
    "ingestion",
    "web",
    "currencies",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "adplatform.urls"
WSGI_APPLICATION = "adplatform.wsgi.application"
ASGI_APPLICATION = "adplatform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "adplatform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Metadata database -------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'adplatform.sqlite3'}"
DATABASES = {"default": config.parse_database_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

# --- ClickHouse (reports) ----------------------------------------------------------
CLICKHOUSE = config.parse_clickhouse_url(
    env.str("CLICKHOUSE_URL", default="") or f"chdb://{VAR_DIR / 'clickhouse'}",
    env.str("CLICKHOUSE_DATABASE", default="adplatform"),
)
# "cluster name" switches report tables to ReplicatedReplacingMergeTree + Distributed.
CLICKHOUSE_CLUSTER = env.str("CLICKHOUSE_CLUSTER", default="")

# --- Celery -------------------------------------------------------------------------
CELERY_BROKER_URL = config.parse_broker_url(env.str("CELERY_BROKER_URL", default=""))
# Embedded mode: no broker, Celery tasks (periodic jobs, notifications) run in-process.
EMBEDDED = CELERY_BROKER_URL is None
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Task state lives in our own tables; Celery's result backend is not used.
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

REDIS_URL = env.str("REDIS_URL", default=CELERY_BROKER_URL if (CELERY_BROKER_URL or "").startswith("redis") else "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions read through the cache (written through to the database), which saves a query
# on every request. Only where the cache is shared by every web process: Redis, or the
# embedded mode's one process. With per-process memory caches, a logout in one gunicorn
# worker would leave the session alive in another's cache.
if REDIS_URL or EMBEDDED:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Web ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "adplatform API",
    "DESCRIPTION": "Ad accounts, DAGs, runs, task logs and reports.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# Real-time fetches (`POST /api/v1/fetch/`) allowed per organization (DRF rate syntax).
FETCH_RATE = env.str("FETCH_RATE", default="30/min")

# Prometheus /metrics: with a token, `Authorization: Bearer <token>`; without, loopback only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# HTTPS behind a proxy (service mode): `ADPLATFORM_HTTPS=true` turns on the settings
# that `manage.py check --deploy` asks for.
HTTPS = env.bool("ADPLATFORM_HTTPS", default=False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = ["security.W021"] if HTTPS and not SECURE_HSTS_PRELOAD else []

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="adplatform@localhost")

# Per-platform base URLs can be overridden (proxies, private deployments, tests):
# ADPLATFORM_ENDPOINTS='{"oceanengine": {"api": "https://proxy.example/oe"}}'
PLATFORM_ENDPOINTS = env.json("ADPLATFORM_ENDPOINTS", default={})
# Serve the simulated `sandbox` ad platform under /sandbox/ (the demo and tests use it).
SANDBOX_ENABLED = env.bool("ADPLATFORM_SANDBOX", default=True)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}, "urllib3": {"level": "WARNING"}},
}

# Background components of `manage.py runplatform` (embedded mode), by dotted path.
EMBEDDED_COMPONENTS = env.list(
    "EMBEDDED_COMPONENTS",
    default=["adplatform.embedded_beat.EmbeddedBeat", "ingestion.scheduler.component.EmbeddedScheduler"],
)
# Called by `manage.py bootstrap` after the admin user exists (demo accounts, DAGs).
BOOTSTRAP_HOOKS = env.list("BOOTSTRAP_HOOKS", default=["accounts.bootstrap.demo_accounts"])

# DAG engine. The executor defaults to threads in the embedded mode and Celery when a
# broker is configured; pools cap concurrent tries (one pool per platform by default).
INGESTION_EXECUTOR = env.str("INGESTION_EXECUTOR", default="")
INGESTION_WORKER_THREADS = env.int("INGESTION_WORKER_THREADS", default=4)
INGESTION_DEFAULT_POOL_SLOTS = env.int("INGESTION_DEFAULT_POOL_SLOTS", default=32)
INGESTION_POOL_SLOTS = {name: int(slots) for name, slots in env.dict("INGESTION_POOL_SLOTS", default={}).items()}
INGESTION_QUEUE_PER_POOL = env.bool("INGESTION_QUEUE_PER_POOL", default=False)
INGESTION_HEARTBEAT_SECONDS = env.float("INGESTION_HEARTBEAT_SECONDS", default=5.0)
INGESTION_ZOMBIE_SECONDS = env.float("INGESTION_ZOMBIE_SECONDS", default=60.0)
INGESTION_QUEUED_TIMEOUT_SECONDS = env.float("INGESTION_QUEUED_TIMEOUT_SECONDS", default=900.0)
# Finished runs older than this many days are deleted daily (0: keep them all).
INGESTION_RUN_RETENTION_DAYS = env.float("INGESTION_RUN_RETENTION_DAYS", default=30.0)
# A scheduler whose heartbeat row is older than this counts as gone (/healthz, DAG pages).
INGESTION_SCHEDULER_TIMEOUT_SECONDS = env.float("INGESTION_SCHEDULER_TIMEOUT_SECONDS", default=30.0)
# Every this many seconds a scheduler compares its wheel with the DAGs due soon and re-arms lost ones.
INGESTION_RECONCILE_SECONDS = env.float("INGESTION_RECONCILE_SECONDS", default=60.0)
# Tries handed to the executor per dispatch call (the loop dispatches after each batch of
# INGESTION_RUN_BATCH runs, and once more per tick); pool slots cap concurrency anyway.
INGESTION_DISPATCH_BATCH = env.int("INGESTION_DISPATCH_BATCH", default=5000)
INGESTION_RUN_BATCH = env.int("INGESTION_RUN_BATCH", default=500)

# Accounts: workers of the token refresh sweep,
# and origins other than PUBLIC_URL's that may receive OAuth2 callbacks (a separate front end).
CREDENTIAL_REFRESH_WORKERS = env.int("CREDENTIAL_REFRESH_WORKERS", default=0)  # 0: 8, or 1 on SQLite
AUTHORIZATION_REDIRECT_ORIGINS = env.list("AUTHORIZATION_REDIRECT_ORIGINS", default=[])
