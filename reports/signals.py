"""Signals the report side sends (receiver: web.notifications, which mails and posts them).

data_notice(ad_account_id=, subject=, body=)  something about an account's numbers its
    organization must hear once: a reconciliation mismatch, an account late past its
    freshness SLA, a spend alert. Sent on commit of the write that found it.
"""

from django.db import transaction
from django.dispatch import Signal

data_notice = Signal()


def data_notice_send(*, ad_account_id: int, subject: str, body: str) -> None:
    """Send `data_notice` once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        lambda: data_notice.send(sender=None, ad_account_id=ad_account_id, subject=subject, body=body)
    )
