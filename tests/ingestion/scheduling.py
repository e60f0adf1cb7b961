"""Helpers of the scheduler tests: a fake clock and a loop that ticks until nothing moves."""
from __future__ import annotations

from datetime import datetime

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
