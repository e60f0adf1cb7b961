"""DAG runs: create (exactly once per DAG and logical time), start, evaluate, trigger.

Exactly once: DagRun has UNIQUE(dag, logical_time). Two schedulers, a restart or a
duplicate trigger all go through `run_create`, whose insert either wins or finds the
winner's row; task instances are created in the same transaction as their run, so a run
never exists without them.

Evaluation (`run_evaluate`) is the small state machine of one run, done under a lock on
the run's row so two upstream tasks finishing at the same moment on two workers cannot
both miss that their common downstream task became ready:
  none -> scheduled       when every upstream task succeeded (dummy tasks: -> success at once)
  none -> upstream_failed when an upstream task failed or was upstream_failed
  run  -> success/failed  when every task instance finished (failed if any did not succeed)
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from ingestion.bulk import insert_rows
from ingestion.models import Dag, DagRun, TaskInstance
from ingestion.services.task_states import HELD, Event, allowed, task_instances_transition, transition_apply
from ingestion.signals import dag_run_finished

TI = TaskInstance.State
# Every column but the id: what runs_create_batch inserts with insert_rows.
_RUN_FIELDS = [f.name for f in DagRun._meta.concrete_fields if not f.primary_key]
_TASK_INSTANCE_FIELDS = [f.name for f in TaskInstance._meta.concrete_fields if not f.primary_key]


def _task_values(dag: Dag) -> list[dict]:
    """The columns of a new run's task instances that come from the DAG's spec."""
    spec_pool = dag.pool
    return [
        dict(
            task_id=t["task_id"],
            operator=t["operator_name"],
            is_dummy=t["is_dummy"],
            params=t.get("params") or {},
            upstream_task_ids=list(t["upstream_task_ids"]),
            max_tries=int(t.get("retries", 0)) + 1,
            retry_delay=float(t.get("retry_delay", 60.0)),
            timeout=t.get("timeout"),
            pool=t.get("pool") or spec_pool,
        )
        for t in dag.spec["tasks"]
    ]


def _task_instances_for(dag: Dag, run: DagRun) -> list[TaskInstance]:
    return [TaskInstance(run=run, **values) for values in _task_values(dag)]


# A new task instance of runs_create_batch: TaskInstance's columns as plain attributes.
# Building a model instance costs about 15 us; a burst builds one per task of thousands of runs.
_TASK_INSTANCE_DEFAULTS = {f.attname: f.get_default() for f in TaskInstance._meta.concrete_fields if not f.primary_key}


def _new_task_rows(dag: Dag, run_pk: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(**{**_TASK_INSTANCE_DEFAULTS, **values, "run_id": run_pk}) for values in _task_values(dag)]


def run_create(
    *, dag: Dag, logical_time: datetime, run_type: str = DagRun.RunType.SCHEDULED, start: bool = True
) -> tuple[DagRun, bool]:
    """Create the run of `dag` at `logical_time` unless it exists. Returns (run, created).

    With `start`, the run starts at once when the DAG has room under max_active_runs;
    otherwise it waits as `queued` for `runs_start_queued`.
    """
    existing = DagRun.objects.filter(dag=dag, logical_time=logical_time).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            # The DAG row lock serializes creators of this DAG's runs (two schedulers firing
            # it at once): the second one waits here, then finds the first one's run.
            Dag.objects.select_for_update().filter(pk=dag.pk).first()
            existing = DagRun.objects.filter(dag=dag, logical_time=logical_time).first()
            if existing is not None:
                return existing, False
            running = DagRun.objects.filter(dag=dag, state=DagRun.State.RUNNING).count() if start else 0
            now = timezone.now()
            room = (
                start
                and running < dag.max_active_runs
                and not DagRun.objects.filter(dag=dag, state=DagRun.State.QUEUED).exists()
            )
            run = DagRun.objects.create(
                dag=dag,
                logical_time=logical_time,
                run_type=run_type,
                state=DagRun.State.RUNNING if room else DagRun.State.QUEUED,
                started_at=now if room else None,
            )
            TaskInstance.objects.bulk_create(_task_instances_for(dag, run))
            if room:
                run = run_evaluate(run_id=run.pk, now=now)
    except IntegrityError:
        # Inserted by another process between our read and insert (SQLite has no row locks).
        return DagRun.objects.get(dag=dag, logical_time=logical_time), False
    return run, True


def runs_start_queued(*, dag_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Start queued runs, oldest logical time first, while their DAG has room under max_active_runs."""
    queued = DagRun.objects.filter(state=DagRun.State.QUEUED)
    if dag_ids is not None:
        queued = queued.filter(dag_id__in=dag_ids)
    started = 0
    # order_by(): every tick asks this; DagRun's default ordering (-logical_time) would sort
    # what the (state, dag) index already yields.
    for dag_id in set(queued.order_by().values_list("dag_id", flat=True).distinct()):
        with transaction.atomic():
            # The DAG row lock serializes this DAG's starts across schedulers, so two of them
            # cannot both see one free slot and start two runs.
            dag = Dag.objects.select_for_update().filter(pk=dag_id).first()
            if dag is None:
                continue
            counts = dict(
                DagRun.objects.filter(dag=dag, state__in=[DagRun.State.QUEUED, DagRun.State.RUNNING])
                .values_list("state")
                .annotate(n=Count("id"))
            )
            room = dag.max_active_runs - counts.get(DagRun.State.RUNNING, 0)
            if room <= 0:
                continue
            for run in DagRun.objects.filter(dag=dag, state=DagRun.State.QUEUED).order_by("logical_time")[:room]:
                run.state = DagRun.State.RUNNING
                run.started_at = now or timezone.now()
                run.save(update_fields=["state", "started_at"])
                run_evaluate(run_id=run.pk)
                started += 1
    return started


@transaction.atomic
def run_evaluate(*, run_id: int, now: datetime | None = None) -> DagRun:
    """Advance the run's task instances as far as their upstream allows; derive the run's state."""
    now = now or timezone.now()
    run = DagRun.objects.select_for_update().get(pk=run_id)
    if run.state != DagRun.State.RUNNING:
        return run
    # Locking reads: they see what other transactions committed, whatever the isolation level.
    tis = {ti.task_id: ti for ti in TaskInstance.objects.select_for_update().filter(run=run)}
    by_event: dict[Event, list[int]] = {}
    for ti, event in _advance(tis, now):
        by_event.setdefault(event, []).append(ti.pk)
    for event, ids in by_event.items():  # the rows are locked: one UPDATE per kind of change
        task_instances_transition(event, ids=ids, now=now)
    if all(ti.state in TaskInstance.FINISHED for ti in tis.values()):
        ok = all(ti.state in (TI.SUCCESS, TI.SKIPPED) for ti in tis.values())
        run.state = DagRun.State.SUCCESS if ok else DagRun.State.FAILED
        run.ended_at = now
        run.save(update_fields=["state", "ended_at"])
        transaction.on_commit(lambda: dag_run_finished.send_robust(sender=DagRun, run_id=run.pk, state=run.state))
    return run


def _advance(tis: dict, now: datetime) -> list[tuple[object, Event]]:
    """The evaluation of run_evaluate on in-memory task instances (locked model instances, or
    runs_create_batch's rows before their insert); returns those it changed, with the event."""
    changed_tis, changed = [], True
    while changed:
        changed = False
        for ti in tis.values():
            if ti.state != TI.NONE:
                continue
            upstream = [tis[u].state for u in ti.upstream_task_ids if u in tis]
            if any(s in (TI.FAILED, TI.UPSTREAM_FAILED) for s in upstream):
                event = Event.UPSTREAM_FAIL
            elif all(s in (TI.SUCCESS, TI.SKIPPED) for s in upstream):
                event = Event.PASS_DUMMY if ti.is_dummy else Event.SCHEDULE
            else:
                continue
            transition_apply(ti, event, now=now)
            changed_tis.append((ti, event))
            changed = True
    return changed_tis


def runs_create_batch(items: list[tuple[Dag, datetime]], *, run_type: str = DagRun.RunType.SCHEDULED) -> int:
    """Create the runs of many (dag, logical_time) pairs in one transaction (the scheduler's
    due DAGs of a tick; callers chunk, see INGESTION_RUN_BATCH). Returns how many were created.

    Same outcome as `run_create` for each pair, in a constant number of statements per batch:
    the DAG rows are locked (one statement, primary-key order, so two schedulers' batches
    queue instead of deadlocking; serializes with run_create and runs_start_queued for
    max_active_runs), runs that exist are skipped, the rest are bulk-inserted with
    INSERT IGNORE semantics on UNIQUE(dag, logical_time), and only the rows this call
    inserted (matched by created_at) get task instances, whose initial states are computed
    in memory (root tasks scheduled, dummy roots succeeded and their children evaluated).
    """
    if not items:
        return 0
    now = timezone.now()
    dag_pks = sorted({dag.pk for dag, _ in items})
    times = {lt for _, lt in items}
    with transaction.atomic():
        if connection.features.has_select_for_update:  # SQLite: the transaction's write lock serializes
            list(Dag.objects.select_for_update().filter(pk__in=dag_pks).order_by("pk").values_list("pk", flat=True))
        # One read for both: which of these runs exist, and the DAGs' active runs per state.
        existing, counts = set(), {}
        for dag_id, logical_time, state in (
            DagRun.objects.filter(dag_id__in=dag_pks)
            .filter(Q(logical_time__in=times) | Q(state__in=[DagRun.State.QUEUED, DagRun.State.RUNNING]))
            .order_by()
            .values_list("dag_id", "logical_time", "state")
        ):
            if logical_time in times:
                existing.add((dag_id, logical_time))
            if state in (DagRun.State.QUEUED, DagRun.State.RUNNING):
                by_state = counts.setdefault(dag_id, {})
                by_state[state] = by_state.get(state, 0) + 1
        runs: dict[tuple[int, datetime], tuple[Dag, DagRun]] = {}
        for dag, logical_time in sorted(items, key=lambda item: (item[0].pk, item[1])):
            key = (dag.pk, logical_time)
            if key in existing or key in runs:
                continue
            c = counts.setdefault(dag.pk, {})
            room = c.get(DagRun.State.RUNNING, 0) < dag.max_active_runs and not c.get(DagRun.State.QUEUED, 0)
            state = DagRun.State.RUNNING if room else DagRun.State.QUEUED
            c[state] = c.get(state, 0) + 1
            runs[key] = (
                dag,
                DagRun(
                    dag=dag, logical_time=logical_time, run_type=run_type, state=state, started_at=now if room else None
                ),
            )
        if not runs:
            return 0
        for _, run in runs.values():
            run.created_at = now  # auto_now_add's value; insert_rows runs no pre_save
        insert_rows(DagRun, [run for _, run in runs.values()], _RUN_FIELDS, ignore_conflicts=True)
        # Which rows are ours: a row another process inserted first (SQLite: between our read
        # and our write) has another created_at than the object we built.
        ours = []
        for pk, dag_id, logical_time, created_at in (
            DagRun.objects.filter(dag_id__in=dag_pks, logical_time__in={lt for _, lt in runs})
            .order_by()
            .values_list("pk", "dag_id", "logical_time", "created_at")
        ):
            entry = runs.get((dag_id, logical_time))
            if entry is not None and entry[1].created_at == created_at:
                entry[1].pk = pk
                ours.append(entry)
        new_tis, finished = [], []
        for dag, run in ours:
            tis = _new_task_rows(dag, run.pk)
            if run.state == DagRun.State.RUNNING:
                by_id = {ti.task_id: ti for ti in tis}
                _advance(by_id, now)
                if all(ti.state in TaskInstance.FINISHED for ti in tis):
                    finished.append(run.pk)  # only dummy tasks: run_evaluate ends it (and signals)
            new_tis.extend(tis)
        insert_rows(TaskInstance, new_tis, _TASK_INSTANCE_FIELDS)
        for run_id in finished:
            run_evaluate(run_id=run_id, now=now)
    return len(ours)


def run_trigger(
    *, dag_id: str, logical_time: datetime | None = None, run_type: str = DagRun.RunType.MANUAL
) -> tuple[DagRun, bool]:
    """Trigger a run now (the real-time API, `dags trigger`). A second trigger for the same
    DAG and logical time returns the existing run (created=False). Paused DAGs may be
    triggered by hand; the scheduler dispatches the tasks on its next tick."""
    dag = Dag.objects.get(dag_id=dag_id)
    logical_time = (logical_time or timezone.now()).replace(microsecond=0)
    return run_create(dag=dag, logical_time=logical_time, run_type=run_type)


@transaction.atomic
def run_clear_failed(*, run_id: int) -> DagRun:
    """Give a failed run's failed and upstream_failed tasks a fresh set of tries and run it
    again (backfill resume). Succeeded tasks are kept."""
    run = DagRun.objects.select_for_update().get(pk=run_id)
    tis = (
        TaskInstance.objects.select_for_update()
        .filter(run=run)
        .filter(Q(state=TI.FAILED) | Q(state=TI.UPSTREAM_FAILED))
    )
    for ti in tis:
        retries = ti.max_tries - 1
        task_instances_transition(Event.CLEAR, ids=ti.pk, max_tries=ti.try_number + retries + 1)
    run.state = DagRun.State.QUEUED
    run.ended_at = None
    run.save(update_fields=["state", "ended_at"])
    return run


def _locked(task_instance_id: int) -> tuple[DagRun, dict[str, TaskInstance], TaskInstance]:
    """The task instance's run and all its task instances, locked (in this order, as
    run_evaluate locks them), and the task instance itself."""
    run_id = TaskInstance.objects.values_list("run_id", flat=True).get(pk=task_instance_id)
    run = DagRun.objects.select_for_update().get(pk=run_id)
    tis = {ti.task_id: ti for ti in TaskInstance.objects.select_for_update().filter(run=run)}
    return run, tis, next(ti for ti in tis.values() if ti.pk == task_instance_id)


def _unblock_downstream(tis: dict[str, TaskInstance], task_id: str) -> None:
    """Downstream tasks failed only because of `task_id` wait for it again."""
    for downstream in _downstream_of(tis, task_id):
        if allowed(tis[downstream].state, Event.UNBLOCK):
            task_instances_transition(Event.UNBLOCK, ids=tis[downstream].pk)


def _reopen(run: DagRun) -> None:
    if run.state != DagRun.State.RUNNING:
        run.state, run.ended_at = DagRun.State.RUNNING, None
        run.save(update_fields=["state", "ended_at"])


def _downstream_of(tis: dict[str, TaskInstance], task_id: str) -> set[str]:
    out, frontier = set(), [task_id]
    while frontier:
        current = frontier.pop()
        for ti in tis.values():
            if current in ti.upstream_task_ids and ti.task_id not in out:
                out.add(ti.task_id)
                frontier.append(ti.task_id)
    return out


@transaction.atomic
def task_instance_clear(*, task_instance_id: int) -> TaskInstance:
    """Run a finished task instance and everything downstream of it again (like Airflow's
    clear): they go back to `none` with a fresh set of tries, earlier tries' logs kept."""
    run, tis, target = _locked(task_instance_id)
    if target.state not in TaskInstance.FINISHED:
        raise ValueError(f"task {target.task_id} is {target.state}; only finished tasks can be cleared")
    for task_id in {target.task_id} | _downstream_of(tis, target.task_id):
        ti = tis[task_id]
        if allowed(ti.state, Event.CLEAR):  # not one a worker holds
            task_instances_transition(Event.CLEAR, ids=ti.pk, max_tries=ti.try_number + _retries(ti) + 1)
    if run.state != DagRun.State.RUNNING:
        run.state, run.ended_at = DagRun.State.QUEUED, None
        run.save(update_fields=["state", "ended_at"])
    else:
        run_evaluate(run_id=run.pk)
    transaction.on_commit(lambda: runs_start_queued(dag_ids=[run.dag_id]))
    target.refresh_from_db()
    return target


def _retries(ti: TaskInstance) -> int:
    # The retries the template gave the task; max_tries counts tries of every clearing so far.
    for task in ti.run.dag.spec["tasks"]:
        if task["task_id"] == ti.task_id:
            return int(task.get("retries", 0))
    return 0


@transaction.atomic
def task_instance_retry(*, task_instance_id: int) -> TaskInstance:
    """Give a failed task instance exactly one more try now; its upstream_failed
    downstream tasks wait for it again."""
    run, tis, target = _locked(task_instance_id)
    if not allowed(target.state, Event.RETRY_NOW):
        raise ValueError(f"task {target.task_id} is {target.state}; only a failed task can be retried")
    task_instances_transition(Event.RETRY_NOW, ids=target.pk, max_tries=target.try_number + 1)
    _unblock_downstream(tis, target.task_id)
    _reopen(run)
    target.refresh_from_db()
    return target


MARKABLE = (TI.SUCCESS, TI.FAILED)


@transaction.atomic
def task_instance_mark(*, task_instance_id: int, state: str, now: datetime | None = None) -> TaskInstance:
    """Set a task instance's outcome by hand (Airflow's "mark success / failed"): a fetch
    that can never succeed for a day the platform has no data for is marked success so its
    downstream tasks run; a stuck-looking success is marked failed so the run reports it.

    Downstream follows as if the task had ended so: marked success, its upstream_failed
    downstream tasks wait again and become ready; marked failed, those not started become
    upstream_failed. The run is evaluated again (and may end). Queued or running tasks are
    refused: their worker would overwrite the mark."""
    if state not in MARKABLE:
        raise ValueError(f"a task can be marked {' or '.join(MARKABLE)}, not {state!r}")
    now = now or timezone.now()
    run, tis, target = _locked(task_instance_id)
    if target.state in HELD:
        raise ValueError(f"task {target.task_id} is {target.state}; wait for it to finish (or time out), then mark it")
    if target.state == state:
        return target
    task_instances_transition(
        Event.MARK_SUCCESS if state == TI.SUCCESS else Event.MARK_FAILED,
        ids=target.pk,
        now=now,
        started_at=target.started_at or now,
        error="" if state == TI.SUCCESS else "marked failed by hand",
    )
    target.refresh_from_db()
    if state == TI.SUCCESS:
        _unblock_downstream(tis, target.task_id)
    _reopen(run)
    run_evaluate(run_id=run.pk, now=now)
    return target
