"""Celery entry point: `currencies.refresh_ecb_rates`, run daily by the PeriodicTask that
migration 0002 creates (16:45 UTC, after the ECB publishes; editable in the admin)."""

from celery import shared_task

from currencies.ecb import RateFetchError


@shared_task(
    name="currencies.refresh_ecb_rates",
    ignore_result=True,
    autoretry_for=(RateFetchError,),
    retry_backoff=300,
    max_retries=6,
)
def refresh_ecb_rates() -> dict:
    from currencies.services import rates_refresh

    return rates_refresh()
