"""Runs, task instances (clear, retry) and task logs (tail with offsets) through the API."""

from rest_framework.test import APIClient

from ingestion.models import TaskInstance
from tests.web import factories


def test_runs_list_and_detail_are_scoped(api, dag_a, dag_b):
    mine, theirs = factories.run(dag=dag_a), factories.run(dag=dag_b)
    body = api.get("/api/v1/runs/").json()
    assert [r["id"] for r in body["results"]] == [mine.pk]
    detail = api.get(f"/api/v1/runs/{mine.pk}/").json()
    assert detail["dag"] == dag_a.pk
    assert sorted(t["task_id"] for t in detail["task_instances"]) == [
        "account_meta_task",
        "ad_daily_insight_task",
        "ad_meta_task",
        "dummy_task",
    ]
    assert api.get(f"/api/v1/runs/{theirs.pk}/").status_code == 404
    assert api.get(f"/api/v1/runs/?dag={dag_b.pk}").json()["count"] == 0
    assert api.get("/api/v1/runs/?state=bogus").status_code == 400


def test_task_instances_list_filter_and_scope(api, dag_a, dag_b):
    run = factories.run(dag=dag_a)
    theirs = factories.run(dag=dag_b).task_instances.first()
    body = api.get(f"/api/v1/task-instances/?run={run.pk}&task_id=ad_meta_task").json()
    assert body["count"] == 1 and body["results"][0]["task_id"] == "ad_meta_task"
    assert api.get(f"/api/v1/task-instances/{theirs.pk}/").status_code == 404
    for action in ("clear", "retry"):
        assert api.post(f"/api/v1/task-instances/{theirs.pk}/{action}/").status_code == 404


def test_log_tail_with_offsets(api, dag_a):
    ti = factories.run(dag=dag_a).task_instances.get(task_id="ad_meta_task")
    TaskInstance.objects.filter(pk=ti.pk).update(try_number=1, state="running")
    factories.log(task_instance=ti, try_number=1, chunks=["line 1\n", "line 2\n"], final=False)
    first = api.get(f"/api/v1/logs/{ti.pk}/").json()
    assert first["text"] == "line 1\nline 2\n" and first["finished"] is False and first["state"] == "running"
    assert first["try_number"] == 1
    from ingestion.models import TaskLog

    TaskLog.objects.create(task_instance=ti, try_number=1, seq=2, text="done\n", is_final=True)
    second = api.get(f"/api/v1/logs/{ti.pk}/?offset={first['next_offset']}").json()
    assert second["text"] == "done\n" and second["finished"] is True
    third = api.get(f"/api/v1/logs/{ti.pk}/?offset={second['next_offset']}").json()
    assert third["text"] == "" and third["finished"] is True


def test_log_of_a_try_that_does_not_exist_and_bad_offset(api, dag_a):
    ti = factories.run(dag=dag_a).task_instances.get(task_id="ad_meta_task")
    TaskInstance.objects.filter(pk=ti.pk).update(try_number=1)
    response = api.get(f"/api/v1/logs/{ti.pk}/?try_number=5")
    assert response.status_code == 404 and "no try 5" in response.json()["detail"]
    bad = api.get(f"/api/v1/logs/{ti.pk}/?offset=-1")
    assert bad.status_code == 400 and "offset" in bad.json()


def test_log_of_another_organization_is_404(api, dag_b):
    ti = factories.run(dag=dag_b).task_instances.first()
    factories.log(task_instance=ti, try_number=1, chunks=["secret-ish\n"], final=True)
    assert api.get(f"/api/v1/logs/{ti.pk}/").status_code == 404


def test_anonymous_cannot_read_logs(dag_a):
    ti = factories.run(dag=dag_a).task_instances.first()
    assert APIClient().get(f"/api/v1/logs/{ti.pk}/").status_code in (401, 403)


def test_retry_and_clear_go_through_the_engine(api, dag_a):
    run = factories.run(dag=dag_a)
    tis = {ti.task_id: ti for ti in run.task_instances.all()}
    TaskInstance.objects.filter(pk=tis["ad_meta_task"].pk).update(
        state="failed", try_number=1, max_tries=1, error="boom"
    )
    TaskInstance.objects.filter(pk=tis["ad_daily_insight_task"].pk).update(state="upstream_failed")
    retried = api.post(f"/api/v1/task-instances/{tis['ad_meta_task'].pk}/retry/")
    assert retried.status_code == 200 and retried.json()["state"] == "scheduled" and retried.json()["max_tries"] == 2
    assert TaskInstance.objects.get(pk=tis["ad_daily_insight_task"].pk).state == "none"
    again = api.post(f"/api/v1/task-instances/{tis['ad_meta_task'].pk}/retry/")
    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["task ad_meta_task is scheduled; only a failed task can be retried"]}
    busy = api.post(f"/api/v1/task-instances/{tis['ad_meta_task'].pk}/clear/")
    assert busy.status_code == 400 and "only finished tasks can be cleared" in busy.json()["non_field_errors"][0]
    TaskInstance.objects.filter(pk=tis["account_meta_task"].pk).update(state="success", try_number=1)
    cleared = api.post(f"/api/v1/task-instances/{tis['account_meta_task'].pk}/clear/")
    # back to none, and (the run is running, its upstream a dummy) at once ready again
    assert cleared.status_code == 200 and cleared.json()["state"] in ("none", "scheduled")
    assert cleared.json()["max_tries"] == 2


def test_logs_that_will_never_grow_read_as_finished(api, dag_a):
    run = factories.run(dag=dag_a)
    dummy = run.task_instances.get(task_id="dummy_task")
    TaskInstance.objects.filter(pk=dummy.pk).update(state="success")
    assert api.get(f"/api/v1/logs/{dummy.pk}/").json() | {"offset": 0} == {
        "task_instance": dummy.pk,
        "try_number": 1,
        "offset": 0,
        "next_offset": 0,
        "text": "",
        "finished": True,
        "state": "success",
    }
    ti = run.task_instances.get(task_id="ad_meta_task")
    TaskInstance.objects.filter(pk=ti.pk).update(state="running", try_number=2)
    factories.log(task_instance=ti, try_number=1, chunks=["cut short\n"], final=False)  # a reaped try
    first = api.get(f"/api/v1/logs/{ti.pk}/?try_number=1").json()
    assert first["text"] == "cut short\n" and first["finished"] is False  # text came: read on
    tail = api.get(f"/api/v1/logs/{ti.pk}/?try_number=1&offset={first['next_offset']}").json()
    assert tail["text"] == "" and tail["finished"] is True
    current = api.get(f"/api/v1/logs/{ti.pk}/?try_number=2").json()
    assert current["finished"] is False


def test_id_filters_refuse_numbers_beyond_bigint(api, dag_a):
    response = api.get("/api/v1/dags/?ad_account=6864364093279974719488")
    assert response.status_code == 400 and "ad_account" in response.json()
    assert api.get("/api/v1/runs/?dag=0").status_code == 400


def test_mark_success_and_failed_go_through_the_engine(api, dag_a, dag_b):
    run = factories.run(dag=dag_a)
    tis = {ti.task_id: ti for ti in run.task_instances.all()}
    TaskInstance.objects.filter(pk=tis["ad_meta_task"].pk).update(state="failed", try_number=1, max_tries=1)
    TaskInstance.objects.filter(pk=tis["ad_daily_insight_task"].pk).update(state="upstream_failed")

    marked = api.post(f"/api/v1/task-instances/{tis['ad_meta_task'].pk}/mark-success/")

    assert marked.status_code == 200 and marked.json()["state"] == "success"
    assert TaskInstance.objects.get(pk=tis["ad_daily_insight_task"].pk).state == "scheduled"  # ready at once
    failed = api.post(f"/api/v1/task-instances/{tis['ad_daily_insight_task'].pk}/mark-failed/")
    assert failed.status_code == 200 and failed.json()["state"] == "failed"
    TaskInstance.objects.filter(pk=tis["account_meta_task"].pk).update(state="running")
    busy = api.post(f"/api/v1/task-instances/{tis['account_meta_task'].pk}/mark-success/")
    assert busy.status_code == 400 and "is running; wait for it" in busy.json()["non_field_errors"][0]
    theirs = factories.run(dag=dag_b).task_instances.first()
    assert api.post(f"/api/v1/task-instances/{theirs.pk}/mark-success/").status_code == 404
    assert api.get(f"/api/v1/task-instances/{tis['ad_meta_task'].pk}/mark-success/").status_code == 405
