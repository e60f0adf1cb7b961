"""Signals the accounts app sends.

`account_needs_reauth(ad_account_id=...)` is sent after the transaction that set an ad
account to needs_reauth commits (the web app emails the organization).

`credential_expiring(credential_id=..., expires_at=...)` is sent once per access expiry
of a credential nothing can renew (Meta's 60-day token, a TikTok token with an expiry),
after the refresh sweep has claimed the warning in the database and committed: the
organization must re-authorize before `expires_at`.

A receiver that fails is logged and does not undo the state change.
"""

import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)

account_needs_reauth = Signal()
credential_expiring = Signal()


def send_logged(signal: Signal, sender, **kwargs) -> None:
    """signal.send_robust, each failing receiver logged with its traceback."""
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error("receiver %r of %s failed: %s", receiver, kwargs, result, exc_info=result)
