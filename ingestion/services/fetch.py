"""Real-time fetch of a range of data days: one run per day, each fetching exactly its day.

A scheduled run fetches a window derived from its logical time (a daily task: yesterday
plus the platform's look-back), so triggering the run of each day of a range made the days
overlap: with a 3-day look-back every day was asked for up to four times, spending the
platform's quota for nothing. Here the run of data day D (logical time: local midnight of
D + 1, the tick at which D is complete) carries the explicit window D..D in the params of
every task whose operator takes one (`Operator.takes_date_window`), so together the runs
fetch each day once.

Why one run per day rather than one run over the whole range: a run per day is what the
DAG views, the run ids the API answers and the scheduler's max_active_runs already work
with; a failure retries one day, not the range; platforms cap how many days one report
request may cover, which a one-day window never reaches; and DagRun's UNIQUE(dag,
logical_time) stays a function of the data: the run of D always means the window D..D, so
a second fetch of an overlapping range returns the runs it shares with the first instead of
a run whose window might not cover the day asked for. A run that exists already at that
logical time (from an earlier fetch, or a trigger from the DAG page, whose window covers D
and its look-back) is returned as it is.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from ingestion.models import Dag, DagRun, TaskInstance
from ingestion.operators.registry import UnknownOperator, operator_class
from ingestion.services.runs import run_create

ONE_DAY = timedelta(days=1)


def fetch_logical_time(*, dag: Dag, day: date) -> datetime:
    """The logical time of the run that fetches data day `day`: the next local midnight."""
    return datetime.combine(day + ONE_DAY, time.min, tzinfo=ZoneInfo(dag.timezone or "UTC"))


def _takes_window(operator: str) -> bool:
    try:
        return bool(getattr(operator_class(operator), "takes_date_window", False))
    except UnknownOperator:  # a plugin gone since the DAG was made: the run will say so
        return False


def runs_fetch_days(*, dag_id: str, start: date, end: date) -> list[DagRun]:
    """One run per data day of [start, end] (inclusive, the account's calendar), each with
    the window of its own day; returns them in day order (existing runs included)."""
    dag = Dag.objects.get(dag_id=dag_id)
    runs = []
    day = start
    while day <= end:
        # Run and window in one transaction: a scheduler never sees the run's tasks with
        # the look-back window they were created with.
        with transaction.atomic():
            run, created = run_create(
                dag=dag, logical_time=fetch_logical_time(dag=dag, day=day), run_type=DagRun.RunType.BACKFILL
            )
            if created:
                window = {"start_date": day.isoformat(), "end_date": day.isoformat()}
                tis = [
                    ti
                    for ti in TaskInstance.objects.select_for_update().filter(run=run, is_dummy=False)
                    if _takes_window(ti.operator)
                ]
                for ti in tis:
                    ti.params = {**ti.params, **window}
                TaskInstance.objects.bulk_update(tis, ["params"])
        runs.append(run)
        day += ONE_DAY
    return runs
