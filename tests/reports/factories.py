"""Factories of the report tests: organizations, ad accounts, connector entities."""

from __future__ import annotations

import factory

from accounts.models import AdAccount
from connectors.base import Entity
from tests.accounts import factories as accounts_factories


class AdAccountFactory(accounts_factories.AdAccountFactory):
    """An account without a credential, in UTC and USD."""

    credential = None
    organization = factory.SubFactory(accounts_factories.OrganizationFactory)
    platform = "sandbox"
    external_id = factory.Sequence(lambda n: f"9{n:05d}")
    currency = "USD"
    timezone = "UTC"


def ad_account(**kwargs) -> AdAccount:
    return AdAccountFactory(**kwargs)


def entity(external_id, name="", *, level="ad", parent="", status="active", deleted=False, raw=None) -> Entity:
    """A connector Entity as a fetch yields it."""
    return Entity(
        level=level,
        external_id=str(external_id),
        parent_external_id=parent or None,
        name=name,
        status="deleted" if deleted else status,
        raw=raw or {"id": str(external_id)},
        deleted=deleted,
    )
