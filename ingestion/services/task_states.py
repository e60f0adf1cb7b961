"""The task-instance state machine: every change of a task instance's state goes through here.

`TRANSITIONS` is the whole machine: for each event, the states it may leave from and the
state it enters. `task_instances_transition` applies an event as one guarded UPDATE
(WHERE state IN the event's sources, and try_number = the try when given), so a change
from a state the table does not allow, or for a try that is no longer the current one (a
reaped zombie finishing late, a duplicate delivery), changes no row; callers read the
returned count. `transition_apply` is the same rule on an object in memory, for rows a
service holds locked or has not inserted yet (a run's new task instances, evaluated
before the bulk insert of a burst).

Who fires what:
  claim                 dispatch (and backfill) hands a try out: try_number + 1
  start                 a worker begins that try; heartbeat while it runs
  succeed / retry / fail the try ended (retry: up_for_retry until next_try_at)
  promote               a retry's time came: ready for dispatch again
  requeue               a claimed try never reached a worker: handed out again, same number
  schedule / upstream_fail / pass_dummy   run evaluation of a task whose upstream finished
  unblock               its upstream failure was cleared or marked success
  clear / retry_now     by hand (a fresh set of tries / exactly one more)
  mark_success / mark_failed  by hand; never while a worker holds the try
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db.models import F

from ingestion.models import TaskInstance

TI = TaskInstance.State
# A worker holds these: nothing but the worker's own events (or the zombie reaper, through
# the worker's `fail`/`retry` under the try's number) may change them.
HELD = frozenset({TI.QUEUED, TI.RUNNING})
ALL_STATES = frozenset(TI.values)


class Event(StrEnum):
    CLAIM = "claim"
    START = "start"
    HEARTBEAT = "heartbeat"
    SUCCEED = "succeed"
    RETRY = "retry"
    FAIL = "fail"
    PROMOTE = "promote"
    REQUEUE = "requeue"
    SCHEDULE = "schedule"
    UPSTREAM_FAIL = "upstream_fail"
    PASS_DUMMY = "pass_dummy"  # noqa: S105 - an event name, not a secret
    UNBLOCK = "unblock"
    CLEAR = "clear"
    RETRY_NOW = "retry_now"
    MARK_SUCCESS = "mark_success"
    MARK_FAILED = "mark_failed"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str


TRANSITIONS: dict[Event, Transition] = {
    Event.CLAIM: Transition(frozenset({TI.SCHEDULED}), TI.QUEUED),
    Event.START: Transition(frozenset({TI.QUEUED}), TI.RUNNING),
    Event.HEARTBEAT: Transition(frozenset({TI.RUNNING}), TI.RUNNING),
    Event.SUCCEED: Transition(frozenset({TI.RUNNING}), TI.SUCCESS),
    Event.RETRY: Transition(frozenset({TI.RUNNING}), TI.UP_FOR_RETRY),
    Event.FAIL: Transition(frozenset({TI.RUNNING}), TI.FAILED),
    Event.PROMOTE: Transition(frozenset({TI.UP_FOR_RETRY}), TI.SCHEDULED),
    Event.REQUEUE: Transition(frozenset({TI.QUEUED}), TI.SCHEDULED),
    Event.SCHEDULE: Transition(frozenset({TI.NONE}), TI.SCHEDULED),
    Event.UPSTREAM_FAIL: Transition(frozenset({TI.NONE}), TI.UPSTREAM_FAILED),
    Event.PASS_DUMMY: Transition(frozenset({TI.NONE}), TI.SUCCESS),
    Event.UNBLOCK: Transition(frozenset({TI.UPSTREAM_FAILED}), TI.NONE),
    Event.CLEAR: Transition(ALL_STATES - HELD, TI.NONE),
    Event.RETRY_NOW: Transition(frozenset({TI.FAILED}), TI.SCHEDULED),
    Event.MARK_SUCCESS: Transition(ALL_STATES - HELD - {TI.SUCCESS}, TI.SUCCESS),
    Event.MARK_FAILED: Transition(ALL_STATES - HELD - {TI.FAILED}, TI.FAILED),
}


def _values(event: Event, now: datetime | None) -> dict:
    """The columns an event sets besides the state (F() expressions for the database only)."""
    if event is Event.CLAIM:
        return {"try_number": F("try_number") + 1, "queued_at": now, "hostname": "", "pid": None, "heartbeat_at": None}
    if event is Event.START:
        return {"started_at": now, "heartbeat_at": now, "ended_at": None, "error": ""}
    if event is Event.HEARTBEAT:
        return {"heartbeat_at": now}
    if event in (Event.SUCCEED, Event.FAIL):
        return {"ended_at": now, "next_try_at": None}
    if event is Event.RETRY:
        return {"ended_at": now}  # next_try_at: given by the caller
    if event is Event.REQUEUE:
        return {"try_number": F("try_number") - 1}  # the try never started: same number again
    if event is Event.UPSTREAM_FAIL:
        return {"ended_at": now}
    if event is Event.PASS_DUMMY:
        return {"started_at": now, "ended_at": now}
    if event is Event.UNBLOCK:
        return {"ended_at": None}
    if event in (Event.CLEAR, Event.RETRY_NOW):
        return {"next_try_at": None, "ended_at": None, "error": ""}  # max_tries: given by the caller
    if event in (Event.MARK_SUCCESS, Event.MARK_FAILED):
        return {"ended_at": now, "next_try_at": None}
    return {}  # PROMOTE, SCHEDULE


class TransitionRefused(ValueError):
    """An event the table does not allow from the task instance's state."""


def allowed(state: str, event: Event) -> bool:
    return state in TRANSITIONS[event].sources


def task_instances_transition(
    event: Event,
    *,
    ids: int | Iterable[int] | None,
    now: datetime | None = None,
    try_number: int | None = None,
    only_if: dict | None = None,
    **values,
) -> int:
    """Apply `event` to the task instances `ids` (None: every row) that are in one of its
    source states (and at `try_number`, and match `only_if`, when given), in one UPDATE. `values` are columns the
    caller sets on top (an error text, next_try_at, max_tries). Returns the rows changed."""
    rule = TRANSITIONS[event]
    rows = TaskInstance.objects.filter(state__in=rule.sources, **(only_if or {}))
    if isinstance(ids, int):
        rows = rows.filter(pk=ids)
    elif ids is not None:
        rows = rows.filter(pk__in=list(ids))
    if try_number is not None:
        rows = rows.filter(try_number=try_number)
    return rows.update(state=rule.target, **_values(event, now), **values)


def transition_apply(ti, event: Event, *, now: datetime | None = None, **values) -> None:
    """Apply `event` to `ti` in memory (a locked model instance, or a row about to be
    inserted); the caller writes it. Raises TransitionRefused when the table forbids it."""
    rule = TRANSITIONS[event]
    if ti.state not in rule.sources:
        raise TransitionRefused(f"task {ti.task_id} is {ti.state}: {event} is not allowed from there")
    for name, value in {**_values(event, now), **values}.items():
        if hasattr(value, "resolve_expression"):  # F("try_number") + 1: only the database knows
            raise TypeError(f"{event} needs the database (it sets {name} from the row)")
        setattr(ti, name, value)
    ti.state = rule.target
