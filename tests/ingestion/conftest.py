"""Fixtures of the ingestion tests: test operators, the wheel factory, inline and recording executors."""

from __future__ import annotations

import pytest

import tests.ingestion.sample_operators  # noqa: F401 - registers the test operators


def wheel_factory(now: float, tick: float):
    from ingestion.scheduler.wheel import TimingWheel

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
