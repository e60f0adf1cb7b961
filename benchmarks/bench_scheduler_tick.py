"""One scheduler tick against the database: `python -m benchmarks scheduler_tick [--dags=10000] [--due=10] [--quick]`.

A scratch SQLite database (benchmarks.settings) holds N DAGs of mixed crons (every
30 minutes to yearly, three time zones) whose next fire time is at least half an hour
away, plus `--due` DAGs that fire every second. SchedulerLoop.tick() runs two ways on the
same simulated clock, in the same run:
  wheel      the real loop: the change feed, TimingWheel.advance, runs for what is due,
             queued runs, retries, zombies, dispatch
  full scan  the same loop whose wheel is replaced by the naive scheduler: every tick it
             loads every active DAG and asks its cron (croniter, parsed schedules cached)
             whether it fired since the previous tick
Ticks alternate between a whole second (the `--due` DAGs fire) and half a second later
(nothing due). Both ways must create exactly the same runs; the run stops if not.
"""

from __future__ import annotations

import logging
import statistics
import time
from datetime import UTC, datetime, timedelta

CRONS = ["*/30 * * * *", "0 */2 * * *", "15 */6 * * *", "0 3 * * *", "30 2 * * 1", "@weekly", "@monthly", "0 0 1 1 *"]
TIMEZONES = ["UTC", "Asia/Shanghai", "America/New_York"]


class _NullExecutor:
    """Takes dispatched tries and runs nothing: the benchmark times the scheduler, not operators."""

    def __init__(self):
        self.submitted = 0

    def submit(self, task_instance_id, try_number, *, queue=None):
        self.submitted += 1

    def stop(self, wait=True):
        pass


class FullScanWheel:
    """The naive scheduler behind the wheel's interface: advance() reads and checks every active DAG."""

    def __init__(self, *, now: float, tick: float = 1.0):
        self._previous = now - tick
        self._schedules = {}

    def schedule(self, key, due):
        pass  # nothing to keep: every tick asks the database and the crons again

    def cancel(self, key):
        return False

    def next_due(self):
        return None

    def __len__(self):
        return 0

    def advance(self, now: float):
        from ingestion.cron import CronSchedule
        from ingestion.models import Dag

        previous, self._previous = self._previous, now
        due = []
        rows = Dag.objects.filter(is_paused=False, account_paused=False).values_list("pk", "schedule", "timezone")
        for pk, expression, tz in rows.iterator(chunk_size=5000):
            schedule = self._schedules.get((expression, tz))
            if schedule is None:
                schedule = self._schedules[(expression, tz)] = CronSchedule(expression, tz)
            fire = schedule.next_after(previous).timestamp()
            if fire <= now:
                due.append((pk, fire))
        return sorted(due, key=lambda kd: kd[1])


def _options(argv) -> dict:
    # The full scan costs seconds per tick at 10,000 DAGs: one tick of each kind keeps the run under a minute.
    options = {"dags": 10_000, "due": 10, "ticks": 10, "scan_ticks": 1}
    for arg in argv:
        key, _, value = arg.lstrip("-").partition("=")
        if key.replace("-", "_") in options:
            options[key.replace("-", "_")] = int(value)
    if "--quick" in argv:
        options.update(dags=2000, ticks=5)
    return options


def _create_dags(n: int, due: int, start: datetime) -> None:
    from django.utils import timezone

    from ingestion.cron import CronSchedule
    from ingestion.dagspec import DagSpec, TaskSpec
    from ingestion.models import Dag
    from ingestion.services.manager import pool_ensure

    pool_ensure("default")
    start_task = TaskSpec("start", "DummyOperator", is_dummy=True)
    spec = DagSpec(dag_id="x", schedule_interval="", tasks=(start_task,)).to_dict()
    nexts = {(c, tz): CronSchedule(c, tz).next_after(start) for c in CRONS for tz in TIMEZONES}
    dags = []
    for i in range(n):
        if i < due:
            cron, tz, next_run_at = "* * * * * *", "UTC", start
        else:
            cron, tz = CRONS[i % len(CRONS)], TIMEZONES[i // len(CRONS) % len(TIMEZONES)]
            next_run_at = nexts[(cron, tz)]
        dags.append(
            Dag(
                dag_id=f"bench_{i:06d}",
                platform="sandbox",
                schedule=cron,
                timezone=tz,
                pool="default",
                spec={**spec, "dag_id": f"bench_{i:06d}", "schedule_interval": cron},
                next_run_at=next_run_at,
            )
        )
    Dag.objects.bulk_create(dags, batch_size=1000)
    # The DAGs existed before the scheduler started: keep them out of its change feed.
    Dag.objects.update(updated_at=timezone.now() - timedelta(hours=1))


def _run(loop, start: float, ticks: int, due: int) -> tuple[float, list, list]:
    """Load, then `ticks` pairs of ticks; returns the load time and (wall, cpu) per busy and idle tick."""
    started = time.perf_counter()
    loop.load()
    loaded = time.perf_counter() - started
    busy, idle = [], []
    for k in range(ticks):
        for offset, times in ((0.0, busy), (0.5, idle)):
            wall, cpu = time.perf_counter(), time.process_time()
            stats = loop.tick(start + k + offset)
            times.append((time.perf_counter() - wall, time.process_time() - cpu))
            assert stats["due"] == (due if offset == 0.0 else 0), (loop.name, start + k + offset, stats)
    return loaded, busy, idle


def _runs_until(end: float) -> set:
    from ingestion.models import DagRun

    return set(
        DagRun.objects.filter(logical_time__lt=datetime.fromtimestamp(end, UTC)).values_list(
            "dag__dag_id", "logical_time"
        )
    )


def _reset(due: int, start: datetime) -> None:
    from ingestion.models import Dag, DagRun

    DagRun.objects.all().delete()
    Dag.objects.filter(dag_id__lt=f"bench_{due:06d}").update(next_run_at=start)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main(argv: list[str]) -> None:
    from django.core.management import call_command

    from ingestion.scheduler.loop import SchedulerLoop

    options = _options(argv)
    logging.getLogger("ingestion.scheduler.loop").setLevel(logging.WARNING)  # "wheel loaded with ..." lines
    call_command("migrate", verbosity=0)
    # A fixed simulated clock, 7 s past noon UTC: no cron of CRONS fires in the window.
    start_dt = datetime.now(UTC).replace(hour=12, minute=0, second=7, microsecond=0)
    start = start_dt.timestamp()
    began = time.perf_counter()
    _create_dags(options["dags"], options["due"], start_dt)
    print(
        f"{options['dags']:,} DAGs ({options['due']} firing every second, the rest every 30 min to yearly in "
        f"{len(TIMEZONES)} time zones) created in {time.perf_counter() - began:.1f} s; SQLite",
        flush=True,
    )

    executor = _NullExecutor()
    wheel_loop = SchedulerLoop(executor, clock=lambda: start, name="wheel")
    wheel = _run(wheel_loop, start, options["ticks"], options["due"])
    wheel_runs = _runs_until(start + options["scan_ticks"])
    total_runs = len(_runs_until(start + options["ticks"]))
    _reset(options["due"], start_dt)

    scan_loop = SchedulerLoop(
        executor,
        clock=lambda: start,
        name="full-scan",
        wheel_factory=lambda now, tick: FullScanWheel(now=now, tick=tick),
    )
    scan = _run(scan_loop, start, options["scan_ticks"], options["due"])
    scan_runs = _runs_until(start + options["scan_ticks"])
    assert wheel_runs == scan_runs, f"wheel and full scan disagree: {len(wheel_runs)} vs {len(scan_runs)} runs"
    assert len(wheel_runs) == options["due"] * options["scan_ticks"], len(wheel_runs)
    print(
        f"same runs from both ({len(scan_runs)} in the first {options['scan_ticks']} s; wheel: {total_runs} in "
        f"{options['ticks']} s)"
    )

    def median(times, which):
        return statistics.median(t[which] for t in times)

    print(
        f"{'':10} {'load':>11} {'tick, ' + str(options['due']) + ' due':>14} {'cpu':>11} {'tick, none due':>15} "
        f"{'cpu':>11}   (wall and cpu time, median)"
    )
    for name, (loaded, busy, idle) in (("wheel", wheel), ("full scan", scan)):
        print(
            f"{name:10} {_ms(loaded):>11} {_ms(median(busy, 0)):>14} {_ms(median(busy, 1)):>11} "
            f"{_ms(median(idle, 0)):>15} {_ms(median(idle, 1)):>11}"
        )
    print(
        f"full scan / wheel: tick with {options['due']} due {median(scan[1], 0) / median(wheel[1], 0):.1f}x "
        f"(cpu {median(scan[1], 1) / median(wheel[1], 1):.1f}x), tick with none due "
        f"{median(scan[2], 0) / median(wheel[2], 0):.1f}x (cpu {median(scan[2], 1) / median(wheel[2], 1):.1f}x)"
    )
