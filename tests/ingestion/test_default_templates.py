"""The connectors' default DAG templates: created by migrate (post_migrate) and by account
imports, validated, never overwriting a template the user edited."""

from __future__ import annotations

import logging

import pytest
from django.core.management.sql import emit_post_migrate_signal

from connectors.registry import PLATFORMS
from ingestion.models import Dag, DagTemplate
from ingestion.operators import registry
from ingestion.services.manager import dags_materialize_for_account
from ingestion.services.templates import default_template_files, template_save, templates_load_defaults
from tests.ingestion.factories import AdAccountFactory

pytestmark = pytest.mark.django_db


def _expected() -> set[str]:
    return {f"{p}/{f.stem}" for p in PLATFORMS for f in default_template_files(p)}


def test_every_platforms_defaults_are_created_once_and_validate():
    expected = _expected()
    assert {"sandbox/metadata", "sandbox/hourly_today", "sandbox/daily_lookback"} <= expected
    assert len({k.split("/")[0] for k in expected}) >= 6  # every connector ships its own

    first = templates_load_defaults()
    assert first["invalid"] == [] and set(first["created"]) == expected
    assert {f"{t.platform}/{t.name}" for t in DagTemplate.objects.all()} == expected

    again = templates_load_defaults()
    assert again["created"] == [] and set(again["existing"]) == expected


def test_an_edited_default_is_never_overwritten():
    templates_load_defaults(platforms=["sandbox"])
    edited = dict(DagTemplate.objects.get(platform="sandbox", name="metadata").spec, schedule_interval="0 3 * * *")
    template_save(platform="sandbox", name="metadata", spec=edited)

    templates_load_defaults(platforms=["sandbox"])

    template = DagTemplate.objects.get(platform="sandbox", name="metadata")
    assert template.version == 2 and template.spec["schedule_interval"] == "0 3 * * *"


def test_a_default_whose_operator_is_missing_is_skipped_with_a_warning_then_loaded_later(caplog, monkeypatch):
    insight = registry._registry["insight_operator"]
    monkeypatch.delitem(registry._registry, "insight_operator")
    with caplog.at_level(logging.WARNING, logger="ingestion.services.templates"):
        result = templates_load_defaults(platforms=["sandbox"])
    assert sorted(result["invalid"]) == ["sandbox/daily_lookback", "sandbox/hourly_today"]
    assert result["created"] == ["sandbox/metadata"]
    assert (
        "default DAG template sandbox/daily_lookback" in caplog.text
        and "unknown operator 'insight_operator'" in caplog.text
    )

    monkeypatch.setitem(registry._registry, "insight_operator", insight)
    assert sorted(templates_load_defaults(platforms=["sandbox"])["created"]) == [
        "sandbox/daily_lookback",
        "sandbox/hourly_today",
    ]


def test_migrate_creates_the_defaults(settings):
    settings.INGESTION_DEFAULT_TEMPLATES = True
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert {f"{t.platform}/{t.name}" for t in DagTemplate.objects.all()} == _expected()


def test_an_account_import_loads_missing_defaults_and_materializes_them(settings):
    settings.INGESTION_DEFAULT_TEMPLATES = True
    account = AdAccountFactory(external_id="555", timezone="Asia/Shanghai")
    dags = dags_materialize_for_account(ad_account_id=account.pk)
    assert sorted(d.dag_id for d in dags) == [
        "sandbox_555_daily_insights",
        "sandbox_555_metadata",
        "sandbox_555_today_insights",
    ]
    daily = Dag.objects.get(dag_id="sandbox_555_daily_insights")
    assert daily.timezone == "Asia/Shanghai" and daily.pool == "sandbox" and daily.schedule == "30 2 * * *"


def test_accounts_of_two_platforms_with_the_same_id_both_get_the_default_dags(settings):
    # `${account_id}` is the platform's own id, so two platforms can both have "555"; the
    # defaults start with ${platform}_, so their DAGs cannot meet.
    settings.INGESTION_DEFAULT_TEMPLATES = True
    sandbox = AdAccountFactory(external_id="555")
    meta = AdAccountFactory(external_id="555", platform="meta")
    dags_materialize_for_account(ad_account_id=sandbox.pk)
    dags_materialize_for_account(ad_account_id=meta.pk)
    assert sorted(Dag.objects.filter(dag_id__endswith="_555_daily_insights").values_list("dag_id", "ad_account")) == [
        ("meta_555_daily_insights", meta.pk),
        ("sandbox_555_daily_insights", sandbox.pk),
    ]


def test_defaults_loaded_after_accounts_were_imported_reach_those_accounts():
    accounts = [AdAccountFactory(), AdAccountFactory()]
    templates_load_defaults(platforms=["sandbox"])
    assert Dag.objects.filter(ad_account__in=accounts).count() == 2 * len(default_template_files("sandbox"))


def test_with_defaults_off_nothing_appears_on_its_own(settings):
    settings.INGESTION_DEFAULT_TEMPLATES = False
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    dags_materialize_for_account(ad_account_id=AdAccountFactory().pk)
    assert not DagTemplate.objects.exists()
