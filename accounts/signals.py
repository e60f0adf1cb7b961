"""Signals the accounts app sends.

`account_needs_reauth(ad_account_id=...)` is sent after the transaction that set an ad
account to needs_reauth commits (the web app emails the organization). A receiver that
fails is logged and does not undo the state change.
"""
from django.dispatch import Signal

account_needs_reauth = Signal()
