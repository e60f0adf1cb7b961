"""Helpers of the scheduler tests: a fake clock, a loop that ticks until nothing moves, and
one that ticks until a run finishes on real executor threads."""

from __future__ import annotations

import time
from datetime import datetime

from django.db import OperationalError

from ingestion.dblock import is_lock_error
from ingestion.scheduler.loop import SchedulerLoop
from tests.ingestion.conftest import wheel_factory


class FakeClock:
    def __init__(self, start: datetime | float):
        self.t = start.timestamp() if isinstance(start, datetime) else float(start)

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t

    def set(self, when: datetime | float) -> float:
        self.t = when.timestamp() if isinstance(when, datetime) else float(when)
        return self.t


def make_loop(executor, clock: FakeClock, **kwargs) -> SchedulerLoop:
    return SchedulerLoop(executor, clock=clock, wheel_factory=wheel_factory, **kwargs)


def settle(loop: SchedulerLoop, *, max_ticks: int = 30) -> list[dict]:
    """Tick at the clock's current time until a tick fires, starts and dispatches nothing."""
    ticks = []
    for _ in range(max_ticks):
        stats = loop.tick()
        ticks.append(stats)
        if not (stats["runs"] or stats["started"] or stats["dispatched"] or stats["retries"] or stats["reaped"]):
            return ticks
    raise AssertionError(f"scheduler did not settle in {max_ticks} ticks: {ticks[-3:]}")


def tick_until_finished(loop: SchedulerLoop, run, *, timeout: float = 30.0, wall_clock: bool = False):
    """Tick until `run` succeeds or fails (tries run on executor threads or workers).
    `wall_clock`: move the loop's clock to the real time before each tick."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wall_clock:
            loop.clock.set(time.time())
        try:
            loop.tick()
        except OperationalError as exc:  # SQLite: a worker thread is writing; run_forever retries too
            assert is_lock_error(exc), exc
        run.refresh_from_db()
        if run.state in ("success", "failed"):
            return run
        time.sleep(0.05)
    raise AssertionError(
        f"run still {run.state} after {timeout}s: {list(run.task_instances.values_list('task_id', 'state'))}"
    )
