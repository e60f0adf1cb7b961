"""Celery entry points of accounts (thin: the work is in services.tokens).

`accounts.refresh_expiring_credentials` is run by the PeriodicTask the data migration
0002 creates (every 10 minutes; editable in the admin under Periodic tasks). Settings:
CREDENTIAL_REFRESH_WORKERS refreshes run at a time (default 8; 1 on SQLite).
"""

from celery import shared_task


@shared_task(name="accounts.refresh_expiring_credentials", ignore_result=True)
def refresh_expiring_credentials() -> dict:
    from django.conf import settings
    from django.db import connection

    from accounts.services.tokens import credentials_refresh_expiring

    # SQLite serializes writers: parallel refreshes would only wait on its lock.
    default = 1 if connection.vendor == "sqlite" else 8
    return credentials_refresh_expiring(workers=getattr(settings, "CREDENTIAL_REFRESH_WORKERS", None) or default)
