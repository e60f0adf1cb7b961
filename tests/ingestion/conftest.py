"""Fixtures of the ingestion tests: test operators, a wheel, an inline executor."""
from __future__ import annotations

import heapq

import pytest

import tests.ingestion.sample_operators  # noqa: F401 - registers the test operators


class HeapWheel:
    """Stand-in with TimingWheel's interface, used only while ingestion/scheduler/wheel.py is absent."""

    def __init__(self, *, now: float, tick: float = 1.0):
        self._heap: list[tuple[float, int, object]] = []
        self._due: dict[object, float] = {}
        self._n = 0

    def schedule(self, key, due: float) -> None:
        self._due[key] = due
        self._n += 1
        heapq.heappush(self._heap, (due, self._n, key))

    def cancel(self, key) -> bool:
        return self._due.pop(key, None) is not None

    def advance(self, now: float):
        out = []
        while self._heap and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            if self._due.get(key) == due:
                del self._due[key]
                out.append((key, due))
        return out

    def next_due(self):
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def __len__(self):
        return len(self._due)

    def __contains__(self, key):
        return key in self._due


def wheel_factory(now: float, tick: float):
    try:
        from ingestion.scheduler.wheel import TimingWheel
    except ImportError:
        return HeapWheel(now=now, tick=tick)
    return TimingWheel(now=now, tick=tick)


class InlineExecutor:
    """Runs each dispatched try at once in the dispatching thread (deterministic tests)."""

    def __init__(self):
        self.submitted: list[tuple[int, int]] = []

    def submit(self, task_instance_id: int, try_number: int, *, queue=None):
        from ingestion.services.execution import task_instance_execute

        self.submitted.append((task_instance_id, try_number))
        task_instance_execute(task_instance_id=task_instance_id, try_number=try_number)

    def stop(self, wait=True):
        pass


class RecordingExecutor(InlineExecutor):
    """Records dispatches without running them (pool and HA tests)."""

    def submit(self, task_instance_id: int, try_number: int, *, queue=None):
        self.submitted.append((task_instance_id, try_number))


@pytest.fixture
def inline_executor():
    return InlineExecutor()


@pytest.fixture
def recording_executor():
    return RecordingExecutor()


@pytest.fixture(autouse=True)
def _fast_heartbeats(settings):
    settings.INGESTION_HEARTBEAT_SECONDS = 0.2
