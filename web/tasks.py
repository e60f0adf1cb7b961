"""Celery entry points of the web app (thin: the work is in web.notifications).

The signal receivers queue these instead of mailing inline: a slow SMTP server or
webhook must not hold the scheduler's worker thread or a token refresh. Embedded mode
runs them in-process (CELERY_TASK_ALWAYS_EAGER); service mode on any worker.
"""

from celery import shared_task


@shared_task(name="web.notify_task_failed", ignore_result=True)
def notify_task_failed(task_instance_id: int) -> None:
    from web import notifications

    notifications.notify_task_failed(task_instance_id=task_instance_id)


@shared_task(name="web.notify_account_needs_reauth", ignore_result=True)
def notify_account_needs_reauth(ad_account_id: int) -> None:
    from web import notifications

    notifications.notify_account_needs_reauth(ad_account_id=ad_account_id)


@shared_task(name="web.notify_credential_expiring", ignore_result=True)
def notify_credential_expiring(credential_id: int, expires_at: str) -> None:
    from web import notifications

    notifications.notify_credential_expiring(credential_id=credential_id, expires_at=expires_at)


@shared_task(name="web.notify_data_notice", ignore_result=True)
def notify_data_notice(ad_account_id: int, subject: str, body: str) -> None:
    from web import notifications

    notifications.notify_data_notice(ad_account_id=ad_account_id, subject=subject, body=body)
