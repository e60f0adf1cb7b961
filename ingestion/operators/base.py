"""The operator interface and the context every `execute` receives.

An operator is a class with `execute(self, context)`; one instance per try. Raise an error
from `connectors.errors` to tell the scheduler what to do (see `ingestion.services.retry`):
TokenExpired retries at once (the next try gets a freshly refreshed token),
RateLimited(retry_after) retries no sooner than the platform asked, AuthorizationRevoked
and PermanentError fail without retry, anything else retries with backoff while tries remain.
Operators must be idempotent: a try may run again after a worker died mid-task.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo


@dataclass
class OperatorContext:
    dag_id: str
    task_id: str
    run_id: int
    logical_time: datetime  # UTC; the cron tick this run stands for
    timezone: str  # the DAG's time zone: "today" for a report means today there
    params: dict[str, Any]
    ad_account_id: int | None  # accounts.AdAccount primary key, None for a DAG without an account
    platform: str
    try_number: int
    max_tries: int
    task_instance: Any  # ingestion.models.TaskInstance
    log: logging.Logger  # records go into this try's log
    deadline: float | None = None  # time.monotonic() value at which the try times out
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def local_logical_time(self) -> datetime:
        return self.logical_time.astimezone(ZoneInfo(self.timezone))

    def time_left(self) -> float | None:
        """Seconds before the timeout; long loops may check it to stop cleanly."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())


class Operator:
    """Base class; subclasses set `name` (or get it from @register_operator) and implement execute."""

    name: ClassVar[str] = ""
    # True for operators whose `params` may carry an explicit window of data days,
    # {"start_date": "YYYY-MM-DD", "end_date": "YYYY-MM-DD"} (inclusive, the account's
    # calendar), fetched instead of the window they derive from the logical time. The
    # real-time fetch of a date range sets it on each run's tasks (ingestion.services.fetch).
    takes_date_window: ClassVar[bool] = False

    def execute(self, context: OperatorContext) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class DummyOperator(Operator):
    """Does nothing: a join or fan-out point. The scheduler marks dummy tasks successful
    without dispatching them; `execute` exists so `dags test` can run one too."""

    name = "DummyOperator"

    def execute(self, context: OperatorContext) -> None:
        context.log.info("dummy task: nothing to do")
