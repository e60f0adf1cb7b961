"""DAG API: list/detail scoped to the user's organizations, pause, resume, trigger."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from ingestion.models import Dag, DagRun


def test_anonymous_is_refused(db):
    assert APIClient().get("/api/v1/dags/").status_code in (401, 403)


def test_list_shows_only_my_organizations_dags(api, dag_a, dag_b):
    response = api.get("/api/v1/dags/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [d["dag_id"] for d in body["results"]] == [dag_a.dag_id]
    assert body["results"][0]["ad_account"] == dag_a.ad_account_id
    assert body["results"][0]["last_run_state"] is None


def test_list_filters_and_paginates(api, account_a, tpl, dag_a):
    from tests.web import factories

    other = factories.dag(account=account_a, tpl=factories.template(name="other"))
    Dag.objects.filter(pk=other.pk).update(is_paused=True)
    assert [d["id"] for d in api.get("/api/v1/dags/?is_paused=true").json()["results"]] == [other.pk]
    assert [d["id"] for d in api.get("/api/v1/dags/?is_paused=false").json()["results"]] == [dag_a.pk]
    page = api.get("/api/v1/dags/?limit=1").json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
    bad = api.get("/api/v1/dags/?is_paused=maybe")
    assert bad.status_code == 400 and "is_paused" in bad.json()


def test_detail_has_tasks_with_edges_and_latest_state(api, dag_a):
    from tests.web import factories

    run = factories.run(dag=dag_a)
    run.task_instances.filter(task_id="dummy_task").update(state="success")
    body = api.get(f"/api/v1/dags/{dag_a.pk}/").json()
    tasks = {t["task_id"]: t for t in body["tasks"]}
    assert set(tasks) == {"dummy_task", "account_meta_task", "ad_meta_task", "ad_daily_insight_task"}
    assert tasks["ad_daily_insight_task"]["upstream"] == ["ad_meta_task"]
    assert tasks["dummy_task"]["state"] == "success"
    assert tasks["ad_daily_insight_task"]["state"] == "none"
    assert body["last_run_state"] == run.state


def test_other_organizations_dag_is_404_everywhere(api, dag_b):
    for method, path in [("get", ""), ("post", "pause/"), ("post", "resume/"), ("post", "trigger/")]:
        response = getattr(api, method)(f"/api/v1/dags/{dag_b.pk}/{path}")
        assert response.status_code == 404, path
    dag_b.refresh_from_db()
    assert not dag_b.is_paused
    assert not DagRun.objects.filter(dag=dag_b).exists()


def test_pause_and_resume(api, dag_a):
    assert api.post(f"/api/v1/dags/{dag_a.pk}/pause/").json()["is_paused"] is True
    dag_a.refresh_from_db()
    assert dag_a.is_paused
    assert api.post(f"/api/v1/dags/{dag_a.pk}/resume/").json()["is_paused"] is False
    dag_a.refresh_from_db()
    assert not dag_a.is_paused


def test_trigger_now_creates_one_manual_run(api, dag_a):
    response = api.post(f"/api/v1/dags/{dag_a.pk}/trigger/", {}, format="json")
    assert response.status_code == 201
    (run_id,) = response.json()["run_ids"]
    run = DagRun.objects.get(pk=run_id)
    assert run.dag_id == dag_a.pk and run.run_type == "manual"
    assert run.task_instances.count() == 4


def test_trigger_a_date_range_makes_one_run_per_day(api, dag_a):
    response = api.post(
        f"/api/v1/dags/{dag_a.pk}/trigger/", {"start": "2024-03-01", "end": "2024-03-03"}, format="json"
    )
    assert response.status_code == 201
    runs = DagRun.objects.filter(pk__in=response.json()["run_ids"]).order_by("logical_time")
    assert [r.logical_time for r in runs] == [datetime(2024, 3, d, tzinfo=UTC) for d in (1, 2, 3)]
    # the same range again returns the same runs (exactly one run per logical time)
    again = api.post(f"/api/v1/dags/{dag_a.pk}/trigger/", {"start": "2024-03-01", "end": "2024-03-03"}, format="json")
    assert sorted(again.json()["run_ids"]) == sorted(response.json()["run_ids"])


@pytest.mark.parametrize(
    "payload, field, message",
    [
        ({"start": "2024-03-05", "end": "2024-03-01"}, "end", "before it starts"),
        ({"start": "2024-01-01", "end": "2024-12-31"}, "end", "at most 92 days"),
        ({"start": "yesterday"}, "start", "Date has wrong format"),
    ],
)
def test_trigger_validation_errors_name_the_field(api, dag_a, payload, field, message):
    response = api.post(f"/api/v1/dags/{dag_a.pk}/trigger/", payload, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not DagRun.objects.filter(dag=dag_a).exists()
