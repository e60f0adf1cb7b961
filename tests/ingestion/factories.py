"""Builders of the ingestion tests' rows: organizations, ad accounts, templates (saved
through template_save, so they are validated like the admin's), DAGs."""
from __future__ import annotations

import copy
import itertools

import factory

from accounts.models import AdAccount, Organization

_seq = itertools.count(1)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")


class AdAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdAccount

    organization = factory.SubFactory(OrganizationFactory)
    platform = "sandbox"
    external_id = factory.Sequence(lambda n: f"{7000 + n}")
    name = factory.Sequence(lambda n: f"Account {n}")
    timezone = "UTC"


def spec(tasks=None, *, schedule: str = "0 * * * *", dag_id: str = "${account_id}_test", **dag_fields) -> dict:
    """A template spec; tasks default to a -> b (test_ok operators)."""
    tasks = tasks or (
        {"task_id": "a", "operator_name": "test_ok", "downstream_task_ids": ["b"]},
        {"task_id": "b", "operator_name": "test_ok"},
    )
    return {"dag_id": dag_id, "schedule_interval": schedule, "tasks": [copy.deepcopy(t) for t in tasks], **dag_fields}


def template(*, platform: str = "sandbox", name: str | None = None, **spec_kwargs):
    from ingestion.services.templates import template_save

    return template_save(platform=platform, name=name or f"tmpl{next(_seq)}", spec=spec(**spec_kwargs)).template


def dag(*, account=None, template_obj=None, now=None, **spec_kwargs):
    """A DAG materialized from a (new) template for a (new) account."""
    from ingestion.services.manager import dag_upsert

    account = account or AdAccountFactory()
    template_obj = template_obj or template(platform=account.platform, **spec_kwargs)
    return dag_upsert(template=template_obj, ad_account=account, now=now)[0]
