"""Builders of the objects the web tests need: users in organizations, ad accounts,
DAGs made from a real template by the engine's services, runs and task instances."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from django.contrib.auth import get_user_model

_seq = itertools.count(1)
PASSWORD = "pw"


def _register_test_operator():
    # The web tests never execute tasks; they need a registered operator name that does
    # not depend on the report operators' module being importable.
    from ingestion.operators.base import Operator
    from ingestion.operators.registry import register_operator

    @register_operator("web_test_operator", replace=True)
    class WebTestOperator(Operator):
        def execute(self, context):
            context.log.info("web test operator ran %s", context.task_id)

    @register_operator("web_failing_operator", replace=True)
    class WebFailingOperator(Operator):
        def execute(self, context):
            from connectors.errors import TransientError

            raise TransientError("sandbox answered 503 three times", platform="sandbox", endpoint="reports")


_register_test_operator()

TEMPLATE = {
    "dag_id": "${account_id}_today_insights",
    "schedule_interval": "0 * * * *",
    "tasks": [
        {
            "task_id": "dummy_task",
            "downstream_task_ids": ["account_meta_task", "ad_meta_task"],
            "is_dummy": True,
            "operator_name": "DummyOperator",
        },
        {"task_id": "account_meta_task", "operator_type": "basic", "operator_name": "web_test_operator"},
        {
            "task_id": "ad_meta_task",
            "downstream_task_ids": ["ad_daily_insight_task"],
            "operator_name": "web_test_operator",
        },
        {"task_id": "ad_daily_insight_task", "operator_name": "web_test_operator", "params": {"granularity": "day"}},
    ],
}


TEMPLATE_PERMISSIONS = ("add_dagtemplate", "change_dagtemplate", "delete_dagtemplate")


def user(*, staff: bool = False, superuser: bool = False, email: str | None = None, permissions=()):
    """A user; `permissions` are codenames of Django model permissions to grant."""
    from django.contrib.auth.models import Permission

    n = next(_seq)
    created = get_user_model().objects.create_user(
        username=f"user{n}",
        password=PASSWORD,
        email=email if email is not None else f"user{n}@example.com",
        is_staff=staff or superuser,
        is_superuser=superuser,
    )
    if permissions:
        created.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    return created


def organization(*, name: str | None = None, members=(), role: str = "admin", **fields):
    from accounts.models import Membership, Organization

    org = Organization.objects.create(name=name or f"Org {next(_seq)}", **fields)
    for member in members:
        Membership.objects.create(user=member, organization=org, role=role)
    return org


def ad_account(
    *, organization, platform: str = "sandbox", name: str | None = None, timezone_name: str = "UTC", **fields
):
    from accounts.models import AdAccount

    n = next(_seq)
    return AdAccount.objects.create(
        organization=organization,
        platform=platform,
        external_id=str(1000 + n),
        name=name or f"Account {n}",
        timezone=timezone_name,
        **{"currency": "USD", **fields},
    )


def template(*, name: str | None = None, spec: dict | None = None, platform: str = "sandbox"):
    from ingestion.services.templates import template_save

    name = name or f"tpl{next(_seq)}"
    # dag_id must be unique per account across templates
    spec = spec or {**TEMPLATE, "dag_id": "${account_id}_" + name}
    return template_save(platform=platform, name=name, spec=spec).template


def dag(*, account, tpl=None):
    from ingestion.services.manager import dag_upsert

    created, _ = dag_upsert(template=tpl or template(), ad_account=account)
    return created


def run(*, dag, logical_time: datetime | None = None):
    from ingestion.services.runs import run_trigger

    created, _ = run_trigger(dag_id=dag.dag_id, logical_time=logical_time or datetime(2024, 3, 8, tzinfo=UTC))
    return created


def log(*, task_instance, try_number: int, chunks: list[str], final: bool):
    from ingestion.models import TaskLog

    for seq, text in enumerate(chunks):
        TaskLog.objects.create(
            task_instance=task_instance,
            try_number=try_number,
            seq=seq,
            text=text,
            is_final=final and seq == len(chunks) - 1,
        )
