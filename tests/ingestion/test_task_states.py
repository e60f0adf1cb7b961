"""The task-instance state machine (ingestion.services.task_states): the table's shape, the
guarded UPDATE against a pure model of the table (hypothesis), and that no other module
writes a task instance's state."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ingestion.models import DagRun, TaskInstance
from ingestion.services.task_states import (
    ALL_STATES,
    HELD,
    TRANSITIONS,
    Event,
    TransitionRefused,
    allowed,
    task_instances_transition,
    transition_apply,
)
from tests.ingestion import factories

TI = TaskInstance.State
WORKER_EVENTS = {Event.START, Event.HEARTBEAT, Event.SUCCEED, Event.RETRY, Event.FAIL, Event.REQUEUE}


def test_the_table_names_real_states_and_every_state_is_reachable_from_none():
    for rule in TRANSITIONS.values():
        assert rule.sources <= ALL_STATES and rule.target in ALL_STATES and rule.sources
    reached, frontier = {TI.NONE}, [TI.NONE]
    while frontier:
        state = frontier.pop()
        for rule in TRANSITIONS.values():
            if state in rule.sources and rule.target not in reached:
                reached.add(rule.target)
                frontier.append(rule.target)
    assert reached == ALL_STATES - {TI.SKIPPED}  # skipped: no operator skips yet; marks and clears accept it


def test_only_a_claim_hands_a_try_out_and_only_the_worker_moves_a_held_try():
    assert [e for e, r in TRANSITIONS.items() if r.target == TI.QUEUED] == [Event.CLAIM]
    assert {e for e, r in TRANSITIONS.items() if r.target == TI.RUNNING} == {Event.START, Event.HEARTBEAT}
    for event, rule in TRANSITIONS.items():
        if rule.sources & HELD:
            assert event in WORKER_EVENTS, event
    # Every finished task can be run again by hand, and a failed one retried once more.
    assert TRANSITIONS[Event.CLEAR].sources >= TaskInstance.FINISHED
    assert allowed(TI.FAILED, Event.RETRY_NOW) and not allowed(TI.SUCCESS, Event.RETRY_NOW)


def test_transition_apply_refuses_what_the_table_forbids_and_names_the_task():
    ti = TaskInstance(task_id="fetch", state=TI.RUNNING)
    with pytest.raises(TransitionRefused, match="task fetch is running: schedule is not allowed"):
        transition_apply(ti, Event.SCHEDULE)
    assert ti.state == TI.RUNNING
    with pytest.raises(TypeError, match="claim needs the database"):
        transition_apply(TaskInstance(task_id="x", state=TI.SCHEDULED), Event.CLAIM)


def _model(state: str, try_number: int, event: Event, guard: int | None) -> tuple[str, int, int]:
    """The table applied by hand: (state, try_number, rows changed)."""
    rule = TRANSITIONS[event]
    if state not in rule.sources or (guard is not None and guard != try_number):
        return state, try_number, 0
    delta = {Event.CLAIM: 1, Event.REQUEUE: -1}.get(event, 0)
    return rule.target, try_number + delta, 1


@pytest.fixture
def one_task(db):
    dag = factories.dag()
    run = DagRun.objects.create(dag=dag, logical_time=datetime(2026, 12, 1, tzinfo=UTC), state="running")
    return TaskInstance.objects.create(run=run, task_id="t", operator="test_ok")


STEPS = st.lists(st.tuples(st.sampled_from(list(Event)), st.sampled_from([None, 0, -1, 1])), max_size=30)


@pytest.mark.django_db
@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_the_guarded_update_changes_exactly_what_the_table_allows(one_task, steps):
    TaskInstance.objects.filter(pk=one_task.pk).update(state=TI.NONE, try_number=0)
    state, try_number = TI.NONE, 0
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for event, offset in steps:
        guard = None if offset is None else try_number + offset
        if event is Event.REQUEUE and guard is None:
            guard = try_number  # requeue is always for the try that was handed out
        state, try_number, expected = _model(state, try_number, event, guard)
        assert task_instances_transition(event, ids=one_task.pk, try_number=guard, now=now) == expected, (event, guard)
        row = TaskInstance.objects.values("state", "try_number").get(pk=one_task.pk)
        assert row == {"state": state, "try_number": try_number}
        assert try_number >= 0


def test_no_module_but_the_state_machine_writes_a_task_instances_state():
    root = Path(__file__).resolve().parents[2]
    writes = re.compile(
        r"\.update\([^)]*\bstate=|\bti\.state\s*=(?!=)|tis?\[[^]]+\]\.state\s*=(?!=)|target\.state\s*=(?!=)"
    )
    offenders = []
    for app in ("ingestion", "accounts", "reports", "web", "connectors"):
        for path in (root / app).rglob("*.py"):
            if path.name == "task_states.py" or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if writes.search(line) and "DagRun" not in line:
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []
