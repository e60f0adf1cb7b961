"""Sandbox grants for the embedded demo, made in-process.

`manage.py bootstrap` runs before the platform serves /sandbox/, so the demo cannot walk
the redirect flow over HTTP. `demo_grant()` issues the same signed tokens the token
endpoint would (valid for the running platform's /sandbox/, which shares SECRET_KEY) and
lists the advertisers they reach, ready to be stored as a credential and ad accounts.
"""

from __future__ import annotations

from connectors import oauth2
from connectors.base import AccountInfo, TokenSet
from connectors.sandbox import authserver
from connectors.sandbox.connector import DEMO_CLIENT_ID, STATUSES
from connectors.sandbox.world import Advertiser, Profile


def demo_grant(*, profile: str = "1:3:20", client_id: str = DEMO_CLIENT_ID) -> tuple[TokenSet, list[AccountInfo]]:
    """(tokens, advertisers) of a new sandbox grant for `profile` ('seed:accounts:ads')."""
    parsed = Profile.parse(profile)
    token = oauth2.token_set(authserver.issue_grant(client_id=client_id, profile=parsed))
    accounts = []
    for index in range(parsed.accounts):
        adv = Advertiser(parsed.seed, parsed.ads, index)
        raw = {
            "advertiser_id": adv.id,
            "name": adv.name,
            "currency": adv.currency,
            "timezone": adv.timezone,
            "status": "enable",
        }
        accounts.append(
            AccountInfo(
                external_id=adv.id,
                name=adv.name,
                currency=adv.currency,
                timezone=adv.timezone,
                status=STATUSES["enable"],
                raw=raw,
            )
        )
    return token, accounts
