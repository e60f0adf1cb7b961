"""Running one try of one task instance: the code path every executor shares.

`task_instance_execute(task_instance_id=, try_number=)` is what a Celery worker's task and
the in-process thread pool both call:
  1. claim: queued -> running for exactly this try (a duplicate delivery, or a message for
     a try the scheduler already gave up on, claims nothing and is dropped);
  2. a heartbeat thread stamps heartbeat_at and flushes the try's log while it runs;
  3. the operator runs in its own thread under the task's timeout;
  4. `task_instance_finish` records success, a retry (with backoff) or failure, guarded by
     (state=running, try_number) so a late finisher cannot overwrite a reaped zombie.
A worker that dies mid-task stops heartbeating; `zombies_reap` (run by the scheduler)
treats that try as failed and retries it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
import threading
import time
import traceback
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from ingestion.dblock import retry_on_lock
from ingestion.models import DagRun, TaskInstance
from ingestion.operators.base import OperatorContext
from ingestion.operators.registry import operator_class
from ingestion.retry import retry_decision
from ingestion.services.runs import run_evaluate
from ingestion.services.task_states import TRANSITIONS, Event, task_instances_transition
from ingestion.services.tasklog import TryLog, task_log_append_final
from ingestion.signals import task_failed

logger = logging.getLogger(__name__)
task_logger = logging.getLogger("ingestion.task")
TI = TaskInstance.State


class TaskTimeout(Exception):
    pass


class ZombieTask(Exception):
    """The try's worker stopped heartbeating (killed, out of memory, machine lost)."""


def heartbeat_interval() -> float:
    return float(getattr(settings, "INGESTION_HEARTBEAT_SECONDS", 5.0))


def zombie_threshold() -> float:
    return float(getattr(settings, "INGESTION_ZOMBIE_SECONDS", 60.0))


def queued_timeout() -> float:
    return float(getattr(settings, "INGESTION_QUEUED_TIMEOUT_SECONDS", 900.0))


def task_instance_execute(*, task_instance_id: int, try_number: int, hostname: str | None = None) -> str | None:
    """Run the given try if it is still queued; returns the state it ended in, None if not claimed."""
    now = timezone.now()
    claimed = retry_on_lock(
        lambda: task_instances_transition(
            Event.START,
            ids=task_instance_id,
            try_number=try_number,
            now=now,
            hostname=(hostname or socket.gethostname())[:200],
            pid=os.getpid(),
        )
    )
    if not claimed:
        logger.info("task instance %s try %s is no longer queued; not running it", task_instance_id, try_number)
        return None
    ti = TaskInstance.objects.select_related("run__dag").get(pk=task_instance_id)
    log = TryLog(ti.pk, try_number)
    log.attach()
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(ti.pk, try_number, log, stop), daemon=True, name=f"hb-{ti.pk}")
    beat.start()
    error: BaseException | None = None
    try:
        task_logger.info(
            "%s.%s @ %s: try %s of %s on %s (pid %s)",
            ti.run.dag.dag_id,
            ti.task_id,
            ti.run.logical_time.isoformat(),
            try_number,
            ti.max_tries,
            socket.gethostname(),
            os.getpid(),
        )
        deadline = time.monotonic() + ti.timeout if ti.timeout else None
        context = _context(ti, try_number, deadline)
        _run_with_timeout(operator_class(ti.operator)().execute, context, ti.timeout, log)
    except BaseException as exc:
        error = exc
        log.write("".join(traceback.format_exception(exc)))
    finally:
        stop.set()
        beat.join()
        log.detach()
    state = retry_on_lock(lambda: task_instance_finish(task_instance_id=ti.pk, try_number=try_number, error=error))
    log.write(f"--- try {try_number} finished: {state or 'already finished elsewhere'}\n")
    retry_on_lock(log.close)
    return state


def _context(ti: TaskInstance, try_number: int, deadline: float | None) -> OperatorContext:
    dag = ti.run.dag
    return OperatorContext(
        dag_id=dag.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        logical_time=ti.run.logical_time,
        timezone=dag.timezone,
        params=dict(ti.params),
        ad_account_id=dag.ad_account_id,
        platform=dag.platform,
        try_number=try_number,
        max_tries=ti.max_tries,
        task_instance=ti,
        log=task_logger,
        deadline=deadline,
    )


def _heartbeat(ti_id: int, try_number: int, log: TryLog, stop: threading.Event) -> None:
    try:
        while not stop.wait(heartbeat_interval()):
            try:
                task_instances_transition(Event.HEARTBEAT, ids=ti_id, try_number=try_number, now=timezone.now())
                log.flush()
            except Exception:  # a missed beat is survivable; a dead heartbeat thread is not
                logger.exception("heartbeat of task instance %s failed", ti_id)
    finally:
        connections.close_all()


def _run_with_timeout(fn, context: OperatorContext, timeout: float | None, log: TryLog) -> None:
    if not timeout:
        fn(context)
        return
    outcome: dict[str, BaseException] = {}

    def target():
        log.attach()
        try:
            fn(context)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            log.detach()
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True, name=f"task-{context.task_instance.pk}")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        # Python cannot kill a thread; an asynchronous exception stops pure-Python code at
        # its next bytecode (a blocking C call finishes first). Operators are idempotent,
        # so a straggler that finishes later does no harm, and its result is ignored.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(TaskTimeout))
        thread.join(1.0)
        raise TaskTimeout(f"timed out after {timeout:g}s")
    if "error" in outcome:
        raise outcome["error"]


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:4000]


def task_instance_finish(
    *, task_instance_id: int, try_number: int, error: BaseException | None = None, now: datetime | None = None
) -> str | None:
    """Record the end of a running try: success, up_for_retry (with next_try_at) or failed.

    Returns the new state, or None when the try is no longer the running one (a zombie the
    scheduler already reaped, a duplicate)."""
    now = now or timezone.now()
    with transaction.atomic():
        run_id = TaskInstance.objects.filter(pk=task_instance_id).values_list("run_id", flat=True).first()
        if run_id is None:
            return None
        # Same lock order as run_evaluate (run, then its task instances): no deadlock.
        DagRun.objects.select_for_update().filter(pk=run_id).first()
        ti = TaskInstance.objects.select_for_update().select_related("run__dag").get(pk=task_instance_id)
        if ti.state != TI.RUNNING or ti.try_number != try_number:
            return None
        if error is None:
            event, values = Event.SUCCEED, {}
        else:
            decision = retry_decision(error, try_number=try_number, max_tries=ti.max_tries, retry_delay=ti.retry_delay)
            values = {"error": f"{_error_text(error)} ({decision.reason})"}
            if decision.retry:
                event, values["next_try_at"] = Event.RETRY, now + timedelta(seconds=decision.delay)
            else:
                event = Event.FAIL
        if not task_instances_transition(event, ids=ti.pk, try_number=try_number, now=now, **values):
            return None
        state = TRANSITIONS[event].target
        if state != TI.UP_FOR_RETRY:
            run_evaluate(run_id=run_id, now=now)
        if state == TI.FAILED:
            transaction.on_commit(lambda: task_failed.send_robust(sender=TaskInstance, task_instance_id=ti.pk))
    # A lost grant is not the engine's to act on: the operator has asked accounts to
    # suspend the account (its state, its DAGs' pause, the notification) before raising.
    return state


def retries_promote(*, now: datetime | None = None) -> int:
    """up_for_retry tasks whose next_try_at has come become scheduled (ready for dispatch)."""
    now = now or timezone.now()
    return task_instances_transition(Event.PROMOTE, ids=None, only_if={"next_try_at__lte": now})


def zombies_reap(*, now: datetime | None = None) -> int:
    """Fail (and so retry, while tries remain) running tries whose heartbeat stopped, and put
    back queued tries whose message never reached a worker."""
    now = now or timezone.now()
    reaped = 0
    stale = TaskInstance.objects.filter(
        state=TI.RUNNING, heartbeat_at__lt=now - timedelta(seconds=zombie_threshold())
    ).values_list("pk", "try_number", "hostname", "pid", "heartbeat_at")
    for pk, try_number, host, pid, beat in stale:
        message = f"no heartbeat since {beat.isoformat()} from {host or '?'} pid {pid or '?'}: the worker died"
        state = task_instance_finish(task_instance_id=pk, try_number=try_number, error=ZombieTask(message), now=now)
        if state is not None:
            task_log_append_final(
                task_instance_id=pk, try_number=try_number, text=f"--- zombie: {message}; now {state}\n"
            )
            logger.warning("task instance %s try %s: %s -> %s", pk, try_number, message, state)
            reaped += 1
    lost = TaskInstance.objects.filter(state=TI.QUEUED, queued_at__lt=now - timedelta(seconds=queued_timeout()))
    for pk, try_number in lost.values_list("pk", "try_number"):
        # The try never started: hand it out again under the same number.
        if task_instances_transition(Event.REQUEUE, ids=pk, try_number=try_number):
            logger.warning(
                "task instance %s try %s was queued for over %ss; re-dispatching", pk, try_number, queued_timeout()
            )
            reaped += 1
    return reaped
