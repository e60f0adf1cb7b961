"""A failed tick loses nothing: the database is the truth, the wheel a cache of it.

Whatever raises inside a tick (the DAG read, a later batch, the run inserts and their
one-by-one fallback), the DAGs the wheel handed out go back at their due times and run
on a later tick; the periodic reconciliation re-arms what the wheel lost some other way
and counts it. Faults are injected into the database queries (tests/ingestion/faults.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError, connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ingestion.cron import CronSchedule
from ingestion.models import Dag, DagRun
from ingestion.scheduler.heartbeat import heartbeat_beat
from tests.ingestion.conftest import RecordingExecutor
from tests.ingestion.factories import AdAccountFactory, template
from tests.ingestion.faults import DAG_ROWS_READ, RUN_INSERT, QueryFaults
from tests.ingestion.scheduling import FakeClock, make_loop, settle

pytestmark = pytest.mark.django_db(transaction=True)

# Dummy-only DAGs: a run is created and finished by the tick itself, no executor involved.
DUMMY = ({"task_id": "start", "is_dummy": True},)


def _dags(n: int, *, schedule: str = "0 * * * *", catchup: bool = False) -> list[Dag]:
    from ingestion.services.manager import dag_upsert

    tmpl = template(schedule=schedule, tasks=DUMMY, catchup=catchup, max_active_runs=16)
    return [dag_upsert(template=tmpl, ad_account=AdAccountFactory())[0] for _ in range(n)]


def _runs(dag: Dag) -> list[datetime]:
    return sorted(DagRun.objects.filter(dag=dag).values_list("logical_time", flat=True))


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(QueryFaults({0}), id="the tick's first query"),
        pytest.param(QueryFaults({0}, match=DAG_ROWS_READ), id="the first read after the wheel handed out DAGs"),
    ],
)
def test_a_tick_whose_first_read_raises_still_runs_the_dag_then_at_its_next_fire_time(fault, settings):
    settings.INGESTION_RECONCILE_SECONDS = 10**9  # the re-arm alone must do it
    (dag,) = _dags(1)
    Dag.objects.update(updated_at=datetime.now(UTC) - timedelta(hours=1))  # out of the change feed's reach
    due = dag.next_run_at
    clock = FakeClock(due)
    loop = make_loop(RecordingExecutor(), clock)
    loop.load()

    with connection.execute_wrapper(fault), pytest.raises(OperationalError, match="injected fault"):
        loop.tick()
    assert fault.raised == 1
    assert _runs(dag) == []
    assert loop.wheel.due_of(dag.pk) == due.timestamp()  # back at its old due time

    clock.advance(1)
    settle(loop)
    assert _runs(dag) == [due]
    clock.set(due + timedelta(hours=1))
    settle(loop)
    assert _runs(dag) == [due, due + timedelta(hours=1)]
    dag.refresh_from_db()
    assert dag.next_run_at == due + timedelta(hours=2)
    assert loop.repairs == 0


def test_batches_after_the_first_are_re_armed_when_their_read_fails(settings):
    settings.INGESTION_RUN_BATCH = 2
    settings.INGESTION_RECONCILE_SECONDS = 10**9
    dags = _dags(5)
    Dag.objects.update(updated_at=datetime.now(UTC) - timedelta(hours=1))  # out of the change feed's reach
    due = dags[0].next_run_at
    clock = FakeClock(due)
    loop = make_loop(RecordingExecutor(), clock)
    loop.load()

    fault = QueryFaults({1}, match=DAG_ROWS_READ)  # the second batch's DAG rows
    with connection.execute_wrapper(fault), pytest.raises(OperationalError):
        loop.tick()
    first = sorted(dags, key=lambda d: d.pk)[:2]  # the wheel hands out equal due times in pk order
    assert DagRun.objects.count() == 2 and set(DagRun.objects.values_list("dag_id", flat=True)) == {d.pk for d in first}
    rows = dict(Dag.objects.values_list("pk", "next_run_at"))
    assert sorted(rows.values()) == [due] * 3 + [due + timedelta(hours=1)] * 2  # only the settled ones moved on
    for d in dags:
        assert loop.wheel.due_of(d.pk) == rows[d.pk].timestamp()

    clock.advance(1)
    settle(loop)
    assert {d.pk: _runs(d) for d in dags} == {d.pk: [due] for d in dags}


def test_runs_whose_batch_and_one_by_one_inserts_both_fail_stay_due(settings):
    settings.INGESTION_RECONCILE_SECONDS = 10**9
    dags = _dags(3)
    Dag.objects.update(updated_at=datetime.now(UTC) - timedelta(hours=1))  # out of the change feed's reach
    due = dags[0].next_run_at
    clock = FakeClock(due)
    loop = make_loop(RecordingExecutor(), clock)
    loop.load()

    fault = QueryFaults(range(100), match=RUN_INSERT)  # the batch and each single insert
    with connection.execute_wrapper(fault):
        stats = loop.tick()  # logged, not raised: the rest of the tick goes on
    assert stats["runs"] == 0 and fault.raised == 4  # one batch, then three one by one
    assert not DagRun.objects.exists()
    assert all(loop.wheel.due_of(d.pk) == due.timestamp() for d in dags)
    assert set(Dag.objects.values_list("next_run_at", flat=True)) == {due}

    clock.advance(1)
    settle(loop)
    assert {d.pk: _runs(d) for d in dags} == {d.pk: [due] for d in dags}


def test_reconciliation_re_arms_lost_and_late_entries_counts_them_and_metrics_show_it(settings, client):
    settings.INGESTION_RECONCILE_SECONDS = 60
    lost, late, early, far = _dags(4, schedule="*/5 * * * *")
    Dag.objects.update(updated_at=datetime.now(UTC) - timedelta(hours=1))  # out of the change feed's reach
    due = lost.next_run_at
    clock = FakeClock(due - timedelta(seconds=90))
    loop = make_loop(RecordingExecutor(), clock)
    loop.load()
    # Three ways a wheel can disagree with the rows, and one DAG beyond the horizon.
    loop.wheel.cancel(lost.pk)
    loop.wheel.schedule(late.pk, (due + timedelta(minutes=5)).timestamp())
    loop.wheel.schedule(early.pk, (due - timedelta(minutes=5)).timestamp() + 1)  # fires early: harmless
    Dag.objects.filter(pk=far.pk).update(next_run_at=due + timedelta(hours=1))
    loop.wheel.cancel(far.pk)

    clock.advance(1)
    assert loop.tick()["repaired"] == 0  # not yet time to reconcile
    clock.advance(60)
    stats = loop.tick()
    assert stats["repaired"] == 2 and loop.repairs == 2
    assert loop.wheel.due_of(lost.pk) == loop.wheel.due_of(late.pk) == due.timestamp()
    assert far.pk not in loop.wheel  # beyond the horizon: a later pass finds it before it is due

    clock.set(due)
    settle(loop)
    assert _runs(lost) == _runs(late) == [due]

    heartbeat_beat(name="host:1:scheduler", started_at=datetime.now(UTC), dags=len(loop.wheel), repairs=loop.repairs)
    body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'adplatform_scheduler_wheel_repairs_total{scheduler="host:1:scheduler"} 2.0' in body


def test_reconciliation_finds_nothing_to_repair_in_a_healthy_wheel(settings):
    settings.INGESTION_RECONCILE_SECONDS = 5
    dags = _dags(3, schedule="*/2 * * * * *")
    clock = FakeClock(dags[0].next_run_at)
    loop = make_loop(RecordingExecutor(), clock)
    for _ in range(40):
        loop.tick()
        clock.advance(1)
    assert loop.repairs == 0
    assert DagRun.objects.count() == 3 * 20


# A fault: (ticks' worth of seconds to advance first, first failing query of the tick, how many fail).
FAULTS = st.tuples(st.integers(1, 4), st.integers(0, 40), st.integers(1, 8))
SCHEDULES = ("*/2 * * * * *", "*/3 * * * * *", "*/5 * * * * *")


@pytest.fixture
def fault_dags(db, settings):
    settings.INGESTION_RUN_BATCH = 2  # a tick of three DAGs makes two batches
    settings.INGESTION_RECONCILE_SECONDS = 10**9
    return [_dags(1, schedule=s, catchup=True)[0] for s in SCHEDULES]


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(st.none(), FAULTS), min_size=1, max_size=12))
def test_every_due_dag_and_logical_time_gets_exactly_one_run_whatever_fails(fault_dags, steps):
    DagRun.objects.all().delete()
    start = datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)
    for dag in fault_dags:
        first = CronSchedule(dag.schedule, dag.timezone).next_after(start - timedelta(seconds=1))
        # Out of the change feed's reach: only the wheel and the rows' next_run_at count.
        Dag.objects.filter(pk=dag.pk).update(next_run_at=first, updated_at=start - timedelta(hours=1))
    clock = FakeClock(start)
    loop = make_loop(RecordingExecutor(), clock)
    loop.load()
    for step in steps:
        advance, first_failing, failing = step or (1, 0, 0)
        clock.advance(advance)
        fault = QueryFaults(range(first_failing, first_failing + failing))
        try:
            with connection.execute_wrapper(fault):
                loop.tick()
        except OperationalError as exc:
            assert "injected fault" in str(exc)
    clock.advance(1)
    settle(loop)

    end = datetime.fromtimestamp(clock(), UTC)
    for dag in fault_dags:
        expected = CronSchedule(dag.schedule, dag.timezone).fire_times(start, end)
        created = list(DagRun.objects.filter(dag=dag).order_by("logical_time").values_list("logical_time", flat=True))
        assert created == expected, (dag.schedule, steps)
    assert loop.repairs == 0
