"""Saving a template materializes it for every account of its platform; dag_id patterns
that would make two DAGs with one dag_id are refused with nothing saved."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.management import CommandError, call_command

from accounts.services.ad_accounts import ad_account_pause
from ingestion.dagspec import TemplateInvalid
from ingestion.models import Dag, DagTemplate, DagTemplateVersion
from ingestion.services.manager import (
    dags_materialize_for_account,
    dags_materialize_for_template,
)
from ingestion.services.templates import template_diff, template_save, template_validate
from tests.ingestion.factories import AdAccountFactory, spec, template

pytestmark = pytest.mark.django_db


def test_a_new_template_gets_dags_for_every_account_imported_before_it():
    sandbox = [AdAccountFactory(), AdAccountFactory(status="needs_reauth")]
    meta = AdAccountFactory(platform="meta")

    result = template_save(platform="sandbox", name="later", spec=spec(dag_id="${account_id}_later"))

    assert result.created and sorted(d.dag_id for d in result.created_dags) == sorted(
        f"{a.external_id}_later" for a in sandbox
    )
    dags = {d.ad_account_id: d for d in Dag.objects.all()}
    assert set(dags) == {a.pk for a in sandbox}  # not the meta account
    assert not dags[sandbox[0].pk].account_paused and dags[sandbox[1].pk].account_paused
    assert all(d.next_run_at is not None and d.template_version == 1 for d in dags.values())
    assert meta.dags.count() == 0


def test_saving_again_creates_nothing_and_touches_nothing():
    accounts = [AdAccountFactory(), AdAccountFactory()]
    template(name="hourly")
    stamps = dict(Dag.objects.values_list("pk", "updated_at"))
    assert len(stamps) == len(accounts)

    again = template_save(platform="sandbox", name="hourly", spec=spec(dag_id="${account_id}_hourly"))

    assert not again.changed and again.dags == []
    assert dict(Dag.objects.values_list("pk", "updated_at")) == stamps


def test_an_unchanged_save_fills_in_the_dag_an_account_lacks_and_keeps_its_paused_state():
    first = AdAccountFactory()
    template(name="one", dag_id="${account_id}_one")
    ad_account_pause(ad_account_id=first.pk)  # the account's state pauses its DAGs
    template(name="two", dag_id="${account_id}_two")  # joins the account's pause
    assert Dag.objects.get(dag_id=f"{first.external_id}_two").account_paused
    Dag.objects.filter(dag_id=f"{first.external_id}_one").delete()

    result = template_save(platform="sandbox", name="one", spec=spec(dag_id="${account_id}_one"))

    assert not result.changed and [d.dag_id for d in result.created_dags] == [f"{first.external_id}_one"]
    assert Dag.objects.get(dag_id=f"{first.external_id}_one").account_paused


def test_an_inactive_template_makes_no_dags_until_it_is_activated():
    account = AdAccountFactory()
    template_save(platform="sandbox", name="later", spec=spec(dag_id="${account_id}_later"), is_active=False)
    assert not Dag.objects.exists()
    result = template_save(platform="sandbox", name="later", spec=spec(dag_id="${account_id}_later"))
    assert [d.ad_account_id for d in result.created_dags] == [account.pk]


def test_a_spec_change_rerenders_existing_dags_in_bulk_and_the_change_feed_sees_it():
    accounts = [AdAccountFactory() for _ in range(3)]
    tmpl = template(name="hourly")
    before = dict(Dag.objects.values_list("pk", "updated_at"))

    result = template_save(
        platform="sandbox", name="hourly", spec=spec(dag_id="${account_id}_hourly", schedule="*/5 * * * *")
    )

    assert result.changed and result.created_dags == [] and len(result.dags) == len(accounts)
    for dag in Dag.objects.filter(template=tmpl):
        assert dag.schedule == "*/5 * * * *" and dag.template_version == 2 and dag.next_run_at.minute % 5 == 0
        assert dag.updated_at > before[dag.pk]  # bulk_update does not set auto_now by itself


def test_a_big_platform_is_materialized_in_one_pass(django_assert_max_num_queries):
    AdAccountFactory.create_batch(600)
    # Per-account upserts would take several queries per account; bulk inserts of 500 rows do not.
    with django_assert_max_num_queries(30):
        result = template_save(platform="sandbox", name="big", spec=spec(dag_id="${account_id}_big"))
    assert len(result.created_dags) == 600 and Dag.objects.filter(template=result.template).count() == 600
    assert all(d.pk is not None for d in result.created_dags)
    assert dags_materialize_for_template(template=result.template).dags == []  # idempotent


# --- dag_id patterns -------------------------------------------------------------------------


def test_a_dag_id_pattern_another_template_of_the_platform_uses_is_refused_and_nothing_is_saved():
    account = AdAccountFactory()
    template(name="first", dag_id="${account_id}_x")
    with pytest.raises(TemplateInvalid) as err:
        # Equal once rendered: the space becomes "_" in a dag_id.
        template_save(platform="sandbox", name="second", spec=spec(dag_id="${account_id} x"))
    [issue] = err.value.issues
    assert issue.path == "dag_id"
    assert "already used by template sandbox/first" in issue.message
    assert not DagTemplate.objects.filter(name="second").exists() and DagTemplateVersion.objects.count() == 1
    assert list(Dag.objects.values_list("dag_id", flat=True)) == [f"{account.external_id}_x"]


def test_an_edit_that_takes_another_templates_pattern_is_refused_and_keeps_the_old_spec():
    template(name="first", dag_id="${account_id}_x")
    second = template(name="second", dag_id="${account_id}_y")
    with pytest.raises(TemplateInvalid, match="already used by template sandbox/first"):
        template_save(platform="sandbox", name="second", spec=spec(dag_id="${account_id}_x"))
    second.refresh_from_db()
    assert second.version == 1 and second.spec["dag_id"] == "${account_id}_y"
    # Saving a template with its own pattern is of course fine.
    assert template_validate(spec=spec(dag_id="${account_id}_y"), platform="sandbox", name="second")


def test_the_same_pattern_on_two_platforms_is_fine_until_the_rendered_ids_meet():
    AdAccountFactory(external_id="100")
    meta = AdAccountFactory(platform="meta", external_id="200")
    template(name="first", dag_id="${account_id}_x")
    template(platform="meta", name="first", dag_id="${account_id}_x")
    assert Dag.objects.get(ad_account=meta).dag_id == "200_x"

    AdAccountFactory(platform="meta", external_id="100")  # the sandbox account's id, on meta
    with pytest.raises(TemplateInvalid) as err:
        template_save(platform="meta", name="first", spec=spec(dag_id="${account_id}_x", schedule="0 1 * * *"))
    assert err.value.issues[0].path == "dag_id"
    assert "'100_x' belongs to DAG" in str(err.value) and "template sandbox/first" in str(err.value)
    assert "${platform}_${account_id}_" in str(err.value)  # what to do about it
    assert DagTemplate.objects.get(platform="meta").version == 1 and Dag.objects.count() == 2

    template_save(platform="meta", name="first", spec=spec(dag_id="${platform}_${account_id}_x"))
    assert sorted(Dag.objects.values_list("dag_id", flat=True)) == ["100_x", "meta_100_x", "meta_200_x"]


def test_a_pattern_without_the_account_renders_one_id_for_every_account_and_is_refused():
    AdAccountFactory.create_batch(2)
    with pytest.raises(TemplateInvalid, match=r"'static' is rendered for two accounts of this template"):
        template_save(platform="sandbox", name="static", spec=spec(dag_id="static"))
    assert not DagTemplate.objects.exists() and not Dag.objects.exists()


def test_an_import_meeting_a_clash_logs_it_and_still_gets_its_other_dags(caplog):
    template(name="good", dag_id="${account_id}_good")
    template(platform="meta", name="clash", dag_id="${account_id}_good")
    sandbox = AdAccountFactory(external_id="300")
    dags_materialize_for_account(ad_account_id=sandbox.pk)  # imported: 300_good
    meta = AdAccountFactory(platform="meta", external_id="300")  # imported after: no save checked it
    template(platform="meta", name="other", dag_id="${account_id}_other")

    with caplog.at_level(logging.ERROR, logger="ingestion.services.manager"):
        dags = dags_materialize_for_account(ad_account_id=meta.pk)

    assert [d.dag_id for d in dags] == ["300_other"]
    assert "no DAG from template meta/clash" in caplog.text and "'300_good' belongs to DAG" in caplog.text


# --- templates sync --------------------------------------------------------------------------


def _sync(*args) -> str:
    out = io.StringIO()
    call_command("templates", "sync", *args, stdout=out)
    return out.getvalue()


def test_sync_dry_run_prints_the_dags_it_would_create_then_sync_creates_them(tmp_path):
    accounts = [AdAccountFactory(), AdAccountFactory()]
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "hourly.json").write_text(json.dumps(spec(dag_id="${account_id}_hourly")))

    out = _sync(str(tmp_path), "--dry-run")
    ids = sorted(f"{a.external_id}_hourly" for a in accounts)
    assert f"DAGs that would be created (2): {', '.join(ids)}" in out and "dry run: nothing saved" in out
    assert not DagTemplate.objects.exists() and not Dag.objects.exists()

    out = _sync(str(tmp_path))
    assert "sandbox/hourly: created (v1); 2 DAGs created, 0 re-materialized" in out
    assert sorted(Dag.objects.values_list("dag_id", flat=True)) == ids

    third = AdAccountFactory()
    (tmp_path / "sandbox" / "hourly.json").write_text(
        json.dumps(spec(dag_id="${account_id}_hourly", schedule="0 2 * * *"))
    )
    out = _sync(str(tmp_path), "--dry-run")
    assert f"DAGs that would change (2): {', '.join(ids)}" in out
    assert f"DAGs that would be created (1): {third.external_id}_hourly" in out
    assert Dag.objects.count() == 2


def test_template_diff_of_an_unchanged_template_lists_only_missing_dags():
    account = AdAccountFactory()
    template(name="hourly")
    Dag.objects.all().delete()
    plan = template_diff(platform="sandbox", name="hourly", spec=spec(dag_id="${account_id}_hourly"))
    assert plan.diff == "" and plan.changed_dags == [] and plan.created_dags == [f"{account.external_id}_hourly"]


def test_sync_refuses_two_files_of_a_platform_with_one_pattern_and_saves_nothing(tmp_path):
    (tmp_path / "sandbox").mkdir()
    for name in ("a", "b"):
        (tmp_path / "sandbox" / f"{name}.json").write_text(json.dumps(spec(dag_id="${account_id}_same")))
    with pytest.raises(CommandError) as err:
        _sync(str(tmp_path))
    assert "b.json: dag_id: the pattern '${account_id}_same' is also used by" in str(err.value)
    assert "nothing saved" in str(err.value) and not DagTemplate.objects.exists()


def test_sync_refuses_a_pattern_a_stored_template_uses(tmp_path):
    template(name="stored", dag_id="${account_id}_same")
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "new.json").write_text(json.dumps(spec(dag_id="${account_id}_same")))
    with pytest.raises(CommandError, match="already used by template sandbox/stored"):
        _sync(str(tmp_path))
    assert list(DagTemplate.objects.values_list("name", flat=True)) == ["stored"]
