"""The scheduler loop: timing wheel of DAG fire times -> runs -> dispatched tasks.

At start the wheel is loaded with every active DAG's next_run_at. Afterwards it is kept
up to date incrementally through the DAG change feed: each tick reads the DAGs whose
updated_at moved since the last read (minus a margin, because a row stamped at T may
commit a moment after we read at T), which covers DAGs added, changed, paused or resumed
by any process. A deleted DAG is noticed lazily: its wheel entry fires, the row is gone,
the entry is dropped. No tick ever reads all DAGs.

One tick:
  1. change feed -> wheel.schedule / wheel.cancel
  2. wheel.advance(now) -> due DAGs -> runs (catchup=true: every missed tick, oldest first,
     at most MAX_CATCHUP_PER_TICK per tick; catchup=false: only the latest due tick), then
     next_run_at and the wheel move to the next tick after the last one handled
  3. queued runs start as max_active_runs allows
  4. retries whose time came become ready; zombies are reaped (every few ticks)
  5. ready task instances are dispatched within their pools' slots
Every INGESTION_RECONCILE_SECONDS a tick also reconciles the wheel with the rows due soon
(see `reconcile`); a failed tick puts back what it took out of the wheel (see `_fire`).

Several schedulers may run this loop at once (MySQL/MariaDB): runs are unique per DAG
and logical time, dispatch locks rows with SKIP LOCKED (see services.dispatch).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from ingestion.cron import CronError, CronSchedule
from ingestion.dblock import is_lock_error
from ingestion.models import Dag, DagRun
from ingestion.scheduler.heartbeat import HEARTBEAT_EVERY, heartbeat_beat, heartbeat_name, heartbeat_remove
from ingestion.services.dispatch import task_instances_dispatch
from ingestion.services.execution import retries_promote, zombies_reap
from ingestion.services.runs import run_create, runs_create_batch, runs_start_queued

logger = logging.getLogger(__name__)

FEED_MARGIN = timedelta(seconds=5)
MAX_CATCHUP_PER_TICK = 100
ZOMBIE_CHECK_EVERY = 10.0  # seconds


def reconcile_every() -> float:
    return float(getattr(settings, "INGESTION_RECONCILE_SECONDS", 60.0))


def _default_wheel(now: float, tick: float):
    from ingestion.scheduler.wheel import TimingWheel

    return TimingWheel(now=now, tick=tick)


class SchedulerLoop:
    def __init__(
        self,
        executor,
        *,
        clock: Callable[[], float] = time.time,
        tick: float = 1.0,
        wheel_factory: Callable[[float, float], object] = _default_wheel,
        name: str = "scheduler",
    ):
        self.executor = executor
        self.clock = clock
        self.tick_seconds = tick
        self.wheel_factory = wheel_factory
        self.name = name
        self.wheel = None
        self._feed_since: datetime | None = None
        self._last_zombie_check = 0.0
        self._last_reconcile = 0.0
        self.repairs = 0  # wheel entries the reconciliation had to restore, over this loop's life
        self._schedules: dict[tuple[str, str], CronSchedule] = {}

    # --- wheel maintenance -------------------------------------------------------
    def load(self) -> int:
        now = self.clock()
        self.wheel = self.wheel_factory(now, self.tick_seconds)
        self._feed_since = timezone.now() - FEED_MARGIN
        rows = (
            Dag.objects.filter(is_paused=False, account_paused=False, next_run_at__isnull=False)
            .order_by()
            .values_list("pk", "next_run_at")
        )
        for pk, next_run_at in rows.iterator(chunk_size=5000):
            self.wheel.schedule(pk, next_run_at.timestamp())
        self._last_reconcile = now  # the wheel is the database's state now
        logger.info("%s: wheel loaded with %d DAGs", self.name, len(self.wheel))
        return len(self.wheel)

    def poll_changes(self) -> int:
        started = timezone.now()
        # order_by(): Dag's default ordering (dag_id) would make the database walk the dag_id
        # index over every DAG each tick instead of range-scanning the updated_at index.
        rows = list(
            Dag.objects.filter(updated_at__gte=self._feed_since)
            .order_by()
            .values_list("pk", "is_paused", "account_paused", "next_run_at", "updated_at")
        )
        newest = self._feed_since + FEED_MARGIN
        for pk, paused, account_paused, next_run_at, updated_at in rows:
            if paused or account_paused or next_run_at is None:
                self.wheel.cancel(pk)
            else:
                self.wheel.schedule(pk, next_run_at.timestamp())
            newest = max(newest, updated_at)
        self._feed_since = min(newest, started) - FEED_MARGIN
        return len(rows)

    def _schedule_of(self, dag: Dag) -> CronSchedule:
        # Keyed by (cron, zone), not by DAG: thousands of DAGs share a few dozen schedules.
        key = (dag.schedule, dag.timezone)
        cached = self._schedules.get(key)
        if cached is None:
            cached = self._schedules[key] = CronSchedule(dag.schedule, dag.timezone)
        return cached

    def reconcile(self, now: float) -> int:
        """Compare the wheel with the database for the DAGs due within the next horizon and
        re-arm those the wheel lacks or holds later than their next_run_at. Returns how many.

        Every repair is a bug to look at (a path that took a DAG out of the wheel and lost
        it): the count is logged and goes to /metrics through the heartbeat row. A wheel
        entry earlier than the row is left alone: another scheduler fired that tick first,
        and firing it again finds its run and moves on."""
        horizon = datetime.fromtimestamp(now + 2 * reconcile_every(), UTC)
        rows = (
            Dag.objects.filter(is_paused=False, account_paused=False, next_run_at__lte=horizon)
            .order_by()
            .values_list("pk", "next_run_at")
        )
        repaired = []
        for pk, next_run_at in rows.iterator(chunk_size=5000):
            at = next_run_at.timestamp()
            held = self.wheel.due_of(pk)
            if held is None or held > at:
                self.wheel.schedule(pk, at)
                repaired.append(pk)
        self._last_reconcile = now
        if repaired:
            self.repairs += len(repaired)
            logger.warning(
                "%s: reconciliation re-armed %d DAGs the wheel had lost or held too late (pks %s)",
                self.name,
                len(repaired),
                ", ".join(map(str, repaired[:20])) + (" ..." if len(repaired) > 20 else ""),
            )
        return len(repaired)

    # --- one tick ----------------------------------------------------------------
    def tick(self, now: float | None = None) -> dict:
        if self.wheel is None:
            self.load()
        now = self.clock() if now is None else now
        dispatched = 0
        stats = {"changed": self.poll_changes(), "repaired": 0, "due": 0, "runs": 0, "started": 0}
        stats.update(retries=0, reaped=0)
        if now - self._last_reconcile >= reconcile_every():
            stats["repaired"] = self.reconcile(now)
        due = self.wheel.advance(now)
        stats["due"] = len(due)
        if due:
            stats["runs"], dispatched = self._fire(due, now)
        stats["started"] = runs_start_queued()
        now_dt = datetime.fromtimestamp(now, UTC)
        stats["retries"] = retries_promote(now=now_dt)
        if now - self._last_zombie_check >= ZOMBIE_CHECK_EVERY:
            self._last_zombie_check = now
            stats["reaped"] = zombies_reap(now=now_dt)
        stats["dispatched"] = dispatched + task_instances_dispatch(executor=self.executor, now=now_dt)
        return stats

    def _fire(self, due: list[tuple[object, float]], now: float) -> tuple[int, int]:
        """Runs of the due DAGs, a batch of DAGs at a time, each batch's tries dispatched at
        once (the first due DAGs' tasks go out while the rest of a large tick is still being
        created). Returns (runs created, tries dispatched).

        The database is the truth, the wheel a cache: a DAG taken out of the wheel is
        "unsettled" until its runs and its next_run_at are committed. Whatever raises on the
        way (a read, a batch, the network), every unsettled DAG goes back into the wheel at
        the time it was due, so a later tick fires it again; creating a run that exists
        creates nothing, so nothing runs twice."""
        created = dispatched = 0
        unsettled = dict(due)
        fires: dict[tuple, tuple[list[datetime], datetime]] = {}
        batch = getattr(settings, "INGESTION_RUN_BATCH", 500)
        try:
            for start in range(0, len(due), batch):
                done = self._fire_batch(due[start : start + batch], now, unsettled, fires, batch)
                created, dispatched = created + done[0], dispatched + done[1]
        except BaseException:
            for pk, due_at in unsettled.items():
                self.wheel.schedule(pk, due_at)
            logger.warning("%s: tick failed; %d due DAGs re-armed at their due times", self.name, len(unsettled))
            raise
        return created, dispatched

    def _fire_batch(
        self,
        chunk: list[tuple[object, float]],
        now: float,
        unsettled: dict[object, float],
        fires: dict[tuple, tuple[list[datetime], datetime]],
        batch: int,
    ) -> tuple[int, int]:
        now_dt = datetime.fromtimestamp(now, UTC)
        # Without the timestamps the wheel already holds: fewer values to convert.
        dags = Dag.objects.defer("created_at", "updated_at", "next_run_at").in_bulk([pk for pk, _ in chunk])
        pending: list[tuple[Dag, datetime]] = []
        following_of: dict[int, datetime] = {}
        for pk, due_at in chunk:
            dag = dags.get(pk)
            if dag is None or not dag.is_active:
                del unsettled[pk]  # deleted or paused since it was scheduled
                continue
            try:
                schedule = self._schedule_of(dag)
            except CronError:
                logger.exception("DAG %s has a schedule that no longer parses; not scheduling it", dag.dag_id)
                del unsettled[pk]
                continue
            # DAGs due together mostly share a few crons: compute each (cron, zone, due) once.
            key = (dag.schedule, dag.timezone, due_at, dag.catchup)
            if key not in fires:
                fires[key] = self._ticks(schedule, datetime.fromtimestamp(due_at, UTC), now_dt, dag.catchup)
            ticks, following_of[pk] = fires[key]
            pending.extend((dag, logical_time) for logical_time in ticks)
        created, failed = 0, set()
        for start in range(0, len(pending), batch):  # catchup: up to MAX_CATCHUP_PER_TICK runs a DAG
            done = self._create_runs(pending[start : start + batch])
            created, failed = created + done[0], failed | done[1]
        moved: dict[datetime, list[int]] = {}
        for pk, following in following_of.items():
            if pk in failed:
                # Its run could not be created: it stays due, the next tick tries again.
                self.wheel.schedule(pk, unsettled.pop(pk))
            else:
                moved.setdefault(following, []).append(pk)
        # queryset.update: bookkeeping, not a change other schedulers need from the feed (they
        # fire the same DAGs from their own wheels). One statement per distinct next time;
        # never backwards, so a slower scheduler finishing the same tick late cannot undo it.
        for following, pks in moved.items():
            for i in range(0, len(pks), 1000):
                Dag.objects.filter(pk__in=pks[i : i + 1000], next_run_at__lt=following).update(next_run_at=following)
        for following, pks in moved.items():
            at = following.timestamp()
            for pk in pks:
                self.wheel.schedule(pk, at)
                del unsettled[pk]
        return created, task_instances_dispatch(executor=self.executor, now=now_dt)

    @staticmethod
    def _ticks(
        schedule: CronSchedule, first: datetime, now_dt: datetime, catchup: bool
    ) -> tuple[list[datetime], datetime]:
        """The logical times to run now and the next fire time after them."""
        if catchup:
            ticks, t = [], first
            while t <= now_dt and len(ticks) < MAX_CATCHUP_PER_TICK:
                ticks.append(t)
                t = schedule.next_after(t)
            return ticks, t
        latest = schedule.latest_at_or_before(now_dt)
        ticks = [latest if latest and latest >= first else first]
        return ticks, schedule.next_after(max(ticks[0], now_dt))

    def _create_runs(self, items: list[tuple[Dag, datetime]]) -> tuple[int, set[int]]:
        """One batch of runs in one transaction. Returns (runs created, pks of the DAGs
        whose run could not be created even one by one)."""
        if not items:
            return 0, set()
        try:
            return runs_create_batch(items), set()
        except Exception:
            logger.exception("could not create a batch of %d runs; creating them one by one", len(items))
        created, failed = 0, set()
        for dag, logical_time in items:
            try:
                created += run_create(dag=dag, logical_time=logical_time, run_type=DagRun.RunType.SCHEDULED)[1]
            except Exception:
                logger.exception("could not create the run of %s at %s", dag.dag_id, logical_time.isoformat())
                failed.add(dag.pk)
        return created, failed

    # --- service -------------------------------------------------------------------
    def run_forever(self, stop: threading.Event) -> None:
        logger.info("%s: starting (executor %r, tick %ss)", self.name, self.executor, self.tick_seconds)
        beat_name, beat_started, last_beat = heartbeat_name(self.name), timezone.now(), 0.0
        while not stop.is_set():
            started = self.clock()
            try:
                close_old_connections()
                if time.monotonic() - last_beat >= HEARTBEAT_EVERY:
                    heartbeat_beat(
                        name=beat_name, started_at=beat_started, dags=len(self.wheel or ()), repairs=self.repairs
                    )
                    last_beat = time.monotonic()
                stats = self.tick()
                if stats["due"] or stats["dispatched"]:
                    logger.debug("%s tick: %s", self.name, stats)
            except Exception as exc:
                if is_lock_error(exc):
                    # SQLite's one writer was busy (a task finishing): the next tick redoes it.
                    logger.debug("%s: tick met a lock (%s); next tick", self.name, exc)
                else:
                    logger.exception("%s: tick failed; retrying next tick", self.name)
                    stop.wait(min(5.0, self.tick_seconds * 5))
            # Sleep to the next tick boundary, or sooner when the wheel says a DAG is due.
            wake = started + self.tick_seconds
            next_due = self.wheel.next_due() if self.wheel is not None else None
            if next_due is not None:
                wake = min(wake, max(next_due, started + 0.05))
            stop.wait(max(0.0, wake - self.clock()))
        try:
            heartbeat_remove(name=beat_name)
        except Exception:
            logger.warning("%s: could not remove its heartbeat row", self.name, exc_info=True)
        logger.info("%s: stopped", self.name)
