"""Celery entry points of accounts (thin: the work is in services.tokens).

`accounts.refresh_expiring_credentials` is run by the PeriodicTask the data migration
0002 creates (every 10 minutes; editable in the admin under Periodic tasks).
"""
from celery import shared_task


@shared_task(name="accounts.refresh_expiring_credentials", ignore_result=True)
def refresh_expiring_credentials() -> dict:
    from accounts.services.tokens import credentials_refresh_expiring

    return credentials_refresh_expiring()
