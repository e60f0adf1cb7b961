"""Builders of the ingestion tests' rows: organizations, ad accounts, templates (saved
through template_save, so they are validated like the admin's), DAGs."""

from __future__ import annotations

import copy
import itertools

import factory

from tests.accounts import factories as accounts_factories

# The DAG engine issue's example template, as our users write it (no params anywhere).
ISSUE_EXAMPLE = {
    "dag_id": "${account_id}_today_insights",
    "schedule_interval": "*/60 * * * *",
    "tasks": [
        {
            "task_id": "dummy_task",
            "downstream_task_ids": ["account_meta_task", "ad_meta_task"],
            "is_dummy": True,
            "operator_name": "DummyOperator",
        },
        {"task_id": "account_meta_task", "operator_type": "basic", "operator_name": "ad_meta_operator"},
        {
            "task_id": "ad_meta_task",
            "downstream_task_ids": ["ad_daily_insight_task"],
            "operator_name": "ad_meta_operator",
        },
        {"task_id": "ad_daily_insight_task", "operator_name": "insight_operator"},
    ],
}

_seq = itertools.count(1)


class AdAccountFactory(accounts_factories.AdAccountFactory):
    """An account without a credential (the engine never calls the platform in these tests)."""

    credential = None
    organization = factory.SubFactory(accounts_factories.OrganizationFactory)
    platform = "sandbox"
    external_id = factory.Sequence(lambda n: f"{7000 + n}")
    timezone = "UTC"


def spec(tasks=None, *, schedule: str = "0 * * * *", dag_id: str = "${account_id}_test", **dag_fields) -> dict:
    """A template spec; tasks default to a -> b (test_ok operators)."""
    tasks = tasks or (
        {"task_id": "a", "operator_name": "test_ok", "downstream_task_ids": ["b"]},
        {"task_id": "b", "operator_name": "test_ok"},
    )
    return {"dag_id": dag_id, "schedule_interval": schedule, "tasks": [copy.deepcopy(t) for t in tasks], **dag_fields}


def template(*, platform: str = "sandbox", name: str | None = None, **spec_kwargs):
    """A saved template; its dag_id pattern defaults to `${account_id}_<name>`, since two
    templates of one platform may not share one. Saving materializes it for every account
    of `platform` that exists already."""
    from ingestion.services.templates import template_save

    name = name or f"tmpl{next(_seq)}"
    spec_kwargs.setdefault("dag_id", "${account_id}_" + name)
    return template_save(platform=platform, name=name, spec=spec(**spec_kwargs)).template


def dag(*, account=None, template_obj=None, now=None, **spec_kwargs):
    """A DAG materialized from a (new) template for a (new) account.

    A new account without a template gets a platform of its own: saving its template
    materializes it for every account of the platform, and a test that makes three DAGs
    means three, not one plus two plus three."""
    from ingestion.services.manager import dag_upsert

    if account is None:
        account = AdAccountFactory(**({} if template_obj else {"platform": f"engine{next(_seq)}"}))
    template_obj = template_obj or template(platform=account.platform, **spec_kwargs)
    return dag_upsert(template=template_obj, ad_account=account, now=now)[0]
