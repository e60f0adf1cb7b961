"""The DAG manager: per-account DAGs from templates, re-materialization, pause/resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.services.ad_accounts import ad_account_pause
from ingestion.dagspec import TemplateInvalid
from ingestion.models import Dag, DagTemplate, DagTemplateVersion
from ingestion.services.manager import (
    dag_set_paused,
    dags_materialize_for_account,
    dags_pause_for_account,
    dags_resume_for_account,
)
from ingestion.services.templates import template_save
from tests.ingestion.factories import AdAccountFactory, spec, template

pytestmark = pytest.mark.django_db


def test_materialize_creates_one_dag_per_template_rendered_for_the_account():
    template(name="hourly", schedule="0 * * * *", dag_id="${account_id}_hourly")
    template(name="daily", schedule="30 2 * * *", dag_id="${account_id}_daily", pool="${platform}_reports")
    template(platform="meta", name="other_platform")
    account = AdAccountFactory(external_id="123", timezone="Asia/Shanghai")

    dags = dags_materialize_for_account(ad_account_id=account.pk)

    assert sorted(d.dag_id for d in dags) == ["123_daily", "123_hourly"]
    daily = Dag.objects.get(dag_id="123_daily")
    assert daily.ad_account == account and daily.platform == "sandbox"
    assert daily.timezone == "Asia/Shanghai"  # the account's, since the template names none
    assert daily.pool == "sandbox_reports"
    # 02:30 in Shanghai is 18:30 UTC the day before
    assert daily.next_run_at.astimezone(UTC).strftime("%H:%M") == "18:30"
    assert daily.spec["tasks"][0]["downstream_task_ids"] == ["b"]
    assert daily.spec["tasks"][1]["upstream_task_ids"] == ["a"]


def test_materialize_twice_creates_nothing_and_touches_nothing():
    template(name="hourly")
    account = AdAccountFactory()
    first = dags_materialize_for_account(ad_account_id=account.pk)
    stamp = Dag.objects.get(pk=first[0].pk).updated_at

    again = dags_materialize_for_account(ad_account_id=account.pk)

    assert [d.pk for d in again] == [d.pk for d in first]
    assert Dag.objects.count() == 1
    assert Dag.objects.get(pk=first[0].pk).updated_at == stamp


def test_template_change_rematerializes_its_dags_and_keeps_the_old_version():
    tmpl = template(name="hourly", schedule="0 * * * *")
    accounts = [AdAccountFactory(), AdAccountFactory()]
    for account in accounts:
        dags_materialize_for_account(ad_account_id=account.pk)

    result = template_save(platform="sandbox", name="hourly", spec=spec(schedule="*/15 * * * *"))

    assert result.changed and not result.created
    assert result.template.version == 2
    assert sorted(d.dag_id for d in result.dags) == sorted(f"{a.external_id}_test" for a in accounts)
    for dag in Dag.objects.filter(template=tmpl):
        assert dag.schedule == "*/15 * * * *" and dag.template_version == 2
        assert dag.next_run_at.minute % 15 == 0
    versions = DagTemplateVersion.objects.filter(template=tmpl).order_by("version")
    assert [(v.version, v.spec["schedule_interval"]) for v in versions] == [(1, "0 * * * *"), (2, "*/15 * * * *")]


def test_saving_the_same_spec_again_changes_nothing():
    template(name="hourly", dag_id="${account_id}_test")
    result = template_save(platform="sandbox", name="hourly", spec=spec())
    assert not result.changed and result.template.version == 1
    assert DagTemplateVersion.objects.count() == 1


def test_deactivating_a_template_pauses_its_dags():
    template(name="hourly")
    account = AdAccountFactory()
    (dag,) = dags_materialize_for_account(ad_account_id=account.pk)
    template_save(platform="sandbox", name="hourly", spec=spec(), is_active=False)
    dag.refresh_from_db()
    assert dag.is_paused and not dag.is_active


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        (
            (
                {"task_id": "a", "operator_name": "test_ok", "upstream_task_ids": ["c"]},
                {"task_id": "b", "operator_name": "test_ok", "upstream_task_ids": ["a"]},
                {"task_id": "c", "operator_name": "test_ok", "upstream_task_ids": ["b"]},
            ),
            "cycle: a -> b -> c -> a",
        ),
        (({"task_id": "a", "operator_name": "no_such_operator"},), "unknown operator 'no_such_operator'"),
    ],
)
def test_an_invalid_template_is_never_saved(tasks, message):
    with pytest.raises(TemplateInvalid) as err:
        template_save(platform="sandbox", name="bad", spec=spec(tasks))
    assert message in str(err.value)
    assert not DagTemplate.objects.exists()


def test_a_bad_cron_is_never_saved_and_an_edit_to_it_keeps_the_old_spec():
    with pytest.raises(TemplateInvalid) as err:
        template_save(platform="sandbox", name="bad", spec=spec(schedule="61 * * * *"))
    assert "schedule_interval" in str(err.value)
    assert not DagTemplate.objects.exists()

    tmpl = template(name="good")
    with pytest.raises(TemplateInvalid):
        template_save(platform="sandbox", name="good", spec=spec(schedule="every hour"))
    tmpl.refresh_from_db()
    assert tmpl.version == 1 and tmpl.spec["schedule_interval"] == "0 * * * *"


def test_account_pause_and_resume_pause_its_dags_only():
    template(name="one", dag_id="${account_id}_one")
    template(name="two", dag_id="${account_id}_two")
    account, other = AdAccountFactory(), AdAccountFactory()
    dags_materialize_for_account(ad_account_id=account.pk)
    dags_materialize_for_account(ad_account_id=other.pk)
    before = dict(Dag.objects.values_list("pk", "updated_at"))

    assert dags_pause_for_account(ad_account_id=account.pk) == 2
    assert dags_pause_for_account(ad_account_id=account.pk) == 0  # already paused
    assert set(Dag.objects.filter(account_paused=True).values_list("ad_account", flat=True)) == {account.pk}
    assert all(not d.is_active for d in Dag.objects.filter(ad_account=account))
    # The scheduler's change feed sees the pause.
    assert all(d.updated_at > before[d.pk] for d in Dag.objects.filter(ad_account=account))

    assert dags_resume_for_account(ad_account_id=account.pk) == 2
    assert all(d.is_active for d in Dag.objects.all())


def test_a_resumed_dag_skips_the_ticks_it_slept_through_unless_catchup():
    template(name="hourly", schedule="0 * * * *")
    account = AdAccountFactory()
    (dag,) = dags_materialize_for_account(ad_account_id=account.pk)
    Dag.objects.filter(pk=dag.pk).update(next_run_at=datetime(2020, 1, 1, tzinfo=UTC))
    dag_set_paused(dag_id=dag.dag_id, paused=True)
    resumed = dag_set_paused(dag_id=dag.dag_id, paused=False)
    assert resumed.next_run_at > datetime.now(UTC) - timedelta(seconds=1)


def test_materializing_for_a_paused_account_keeps_the_new_dag_paused():
    template(name="one", dag_id="${account_id}_one")
    account = AdAccountFactory()
    dags_materialize_for_account(ad_account_id=account.pk)
    ad_account_pause(ad_account_id=account.pk)  # the account's state pauses its DAGs
    template(name="two", dag_id="${account_id}_two")
    dags_materialize_for_account(ad_account_id=account.pk)
    assert set(Dag.objects.values_list("dag_id", "account_paused")) == {
        (f"{account.external_id}_one", True),
        (f"{account.external_id}_two", True),
    }


def test_an_account_that_is_not_active_gets_paused_dags():
    template(name="one")
    account = AdAccountFactory(status="needs_reauth")
    (dag,) = dags_materialize_for_account(ad_account_id=account.pk)
    assert dag.account_paused and not dag.is_active
