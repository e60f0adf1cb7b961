"""Where the web app calls the DAG engine and the accounts app: one module, one place to
look when their service signatures change.

Each function takes model instances the caller has already scoped to the user (see
`web.selectors`), calls the owning app's service, and turns that app's errors into
`EngineError` with a message fit for a user.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

MAX_TRIGGER_DAYS = 92
# A finished try's closing log line is written just after its state changes.
LOG_GRACE_SECONDS = 10


class EngineError(Exception):
    """An action the engine refused; the message is safe to show the user."""


def _as_date(value, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise EngineError(f"{name}: expected a date (YYYY-MM-DD), got {value!r}") from None


def _date_range(start, end, verb: str) -> tuple[date, date, int]:
    """[start, end] of a trigger or fetch (either end alone means that one day), checked."""
    start = _as_date(start or end, "start")
    end = _as_date(end or start, "end")
    if end < start:
        raise EngineError(f"end: the range ends ({end}) before it starts ({start})")
    days = (end - start).days + 1
    if days > MAX_TRIGGER_DAYS:
        raise EngineError(f"end: {verb} at most {MAX_TRIGGER_DAYS} days at once (asked {days}); use `dags backfill`")
    return start, end, days


def trigger(*, dag, start=None, end=None) -> list[int]:
    """Trigger a run now, or one run per local day of [start, end] (a manual backfill).

    Returns the run ids (an existing run for the same logical time is returned, not duplicated).
    """
    from ingestion.models import DagRun
    from ingestion.services.runs import run_trigger

    if start is None and end is None:
        run, _ = run_trigger(dag_id=dag.dag_id)
        return [run.pk]
    start, end, days = _date_range(start, end, "trigger")
    zone = ZoneInfo(dag.timezone or "UTC")
    run_ids = []
    for i in range(days):
        logical_time = datetime.combine(start + timedelta(days=i), time.min, tzinfo=zone)
        run, _ = run_trigger(dag_id=dag.dag_id, logical_time=logical_time, run_type=DagRun.RunType.BACKFILL)
        run_ids.append(run.pk)
    return run_ids


def fetch(*, dag, start=None, end=None) -> list[int]:
    """The real-time fetch: a run now, or one run per DATA day of [start, end] that fetches
    exactly that day (no look-back; see ingestion.services.fetch). Returns the run ids."""
    from ingestion.services.fetch import runs_fetch_days

    if start is None and end is None:
        return trigger(dag=dag)
    start, end, _ = _date_range(start, end, "fetch")
    return [run.pk for run in runs_fetch_days(dag_id=dag.dag_id, start=start, end=end)]


def pause(*, dag):
    from ingestion.services.manager import dag_set_paused

    return dag_set_paused(dag_id=dag.dag_id, paused=True)


def resume(*, dag):
    from ingestion.services.manager import dag_set_paused

    return dag_set_paused(dag_id=dag.dag_id, paused=False)


@contextmanager
def _refusal():
    """The engine's refusals (ValueError: the task is not in a state for it) as EngineError."""
    try:
        yield
    except ValueError as exc:
        raise EngineError(str(exc)) from None


def clear(*, task_instance):
    """Reset a finished task instance (and its downstream) so the scheduler runs it again."""
    from ingestion.services import runs

    with _refusal():
        return runs.task_instance_clear(task_instance_id=task_instance.pk)


def retry(*, task_instance):
    """Run a failed task instance once more (one more try, keeping its earlier tries' logs)."""
    from ingestion.services import runs

    with _refusal():
        return runs.task_instance_retry(task_instance_id=task_instance.pk)


def mark(*, task_instance, state: str):
    """Set a finished or waiting task instance's outcome by hand (success or failed)."""
    from ingestion.services import runs

    with _refusal():
        return runs.task_instance_mark(task_instance_id=task_instance.pk, state=state)


def mark_success(*, task_instance):
    return mark(task_instance=task_instance, state="success")


def mark_failed(*, task_instance):
    return mark(task_instance=task_instance, state="failed")


@dataclass(frozen=True)
class LogChunk:
    text: str
    next_offset: int
    finished: bool
    state: str


def read_log(*, task_instance, try_number: int, offset: int = 0) -> LogChunk:
    """The log of one try from `offset` on (an opaque position: the engine's chunk number;
    pass back `next_offset`); `finished` once the try is over and fully read."""
    from ingestion.models import TaskInstance
    from ingestion.selectors import task_log_read

    text, next_offset, finished = task_log_read(task_instance_id=task_instance.pk, try_number=try_number, offset=offset)
    if not finished and not text:
        # Tries that will never write their closing line: dummy tasks and tasks that ended
        # without running (upstream_failed, skipped) have no log at all, an earlier try is
        # over, and a try the scheduler reaped as a zombie died before its last line.
        ended_long_ago = (
            task_instance.ended_at is not None
            and (timezone.now() - task_instance.ended_at).total_seconds() > LOG_GRACE_SECONDS
        )
        finished = try_number < task_instance.try_number or (
            task_instance.state in TaskInstance.FINISHED
            and (task_instance.is_dummy or task_instance.try_number == 0 or ended_long_ago)
        )
    return LogChunk(text=text, next_offset=next_offset, finished=finished, state=task_instance.state)
