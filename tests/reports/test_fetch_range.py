"""The real-time fetch of a date range (POST /api/v1/fetch/) against the sandbox over HTTP:
each day is asked of the platform once, whatever the DAG's look-back."""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from ingestion.models import Dag, DagRun, TaskInstance
from ingestion.services.templates import templates_load_defaults
from reports.selectors import report_totals
from tests.ingestion.conftest import InlineExecutor
from tests.ingestion.scheduling import FakeClock, make_loop, settle
from tests.reports.sandbox_numbers import core, sandbox_totals

pytestmark = pytest.mark.django_db(transaction=True)

# The sandbox's names of the levels the default daily DAG reports (account, campaign, ad).
DAILY_LEVELS = ("advertiser", "campaign", "ad")


@pytest.fixture
def api(sandbox_account):
    from django.contrib.auth import get_user_model

    from accounts.models import Membership

    user = get_user_model().objects.create_user("fetcher", password="pw")
    Membership.objects.create(user=user, organization=sandbox_account.organization, role=Membership.Role.ADMIN)
    client = APIClient()
    client.force_authenticate(user)
    return client


def _requested_days(stats) -> dict[str, int]:
    return {key: n for key, n in stats.items() if key.startswith("report_day:")}


def _run_all(runs) -> None:
    loop = make_loop(InlineExecutor(), FakeClock(time.time()))
    settle(loop, max_ticks=60)
    for run in runs:
        run.refresh_from_db()
        assert run.state == "success", list(run.task_instances.values_list("task_id", "state", "error"))


def test_a_date_range_fetches_each_day_once_and_stores_it(api, sandbox_account, sandbox_server, report_store):
    account = sandbox_account
    templates_load_defaults(platforms=["sandbox"])  # the daily DAG re-fetches 3 days of look-back
    daily = Dag.objects.get(ad_account=account, dag_id__endswith="_daily_insights")
    assert {t["params"]["lookback_days"] for t in daily.tasks if not t["is_dummy"]} == {3}
    today = account.sandbox_now.astimezone(ZoneInfo(account.timezone)).date()
    days = [today - timedelta(days=n) for n in (6, 5, 4)]

    response = api.post(
        "/api/v1/fetch/",
        {
            "ad_account": account.pk,
            "granularity": "day",
            "level": "ad",
            "start": days[0].isoformat(),
            "end": days[-1].isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["dags"] == [daily.dag_id] and body["run_id"] == body["run_ids"][0] and len(body["run_ids"]) == 3
    runs = list(DagRun.objects.filter(pk__in=body["run_ids"]).order_by("logical_time"))
    assert [r.logical_time.astimezone(ZoneInfo(daily.timezone)).date() for r in runs] == [
        d + timedelta(days=1) for d in days
    ]
    for run, day in zip(runs, days, strict=True):
        windows = {
            (ti.params["start_date"], ti.params["end_date"])
            for ti in TaskInstance.objects.filter(run=run, is_dummy=False)
        }
        assert windows == {(day.isoformat(), day.isoformat())}

    _run_all(runs)

    # Each day of the range, at each level, asked for once; none of the look-back days. The
    # account level is asked once more per lower level: its totals reconcile that level's rows.
    assert _requested_days(sandbox_server.stats) == {
        f"report_day:{level}:day:{day}": 1 + 2 * (level == "advertiser") for level in DAILY_LEVELS for day in days
    }
    ours = report_totals(account_ids=[account.pk], start=days[0], end=days[-1], granularity="day", level="ad")
    assert core(ours) == core(
        sandbox_totals(
            account.external_id, level="ad", granularity="day", start=days[0], end=days[-1], now=account.sandbox_now
        )
    )

    # An overlapping range reuses the runs of the days it shares: only the new day is fetched.
    again = api.post(
        "/api/v1/fetch/",
        {
            "ad_account": account.pk,
            "granularity": "day",
            "level": "ad",
            "start": days[1].isoformat(),
            "end": (days[-1] + timedelta(days=1)).isoformat(),
        },
        format="json",
    ).json()
    assert again["run_ids"][:2] == body["run_ids"][1:]
    _run_all(DagRun.objects.filter(pk__in=again["run_ids"]))
    requested = _requested_days(sandbox_server.stats)
    assert {n for key, n in requested.items() if ":advertiser:" not in key} == {1}
    assert {n for key, n in requested.items() if ":advertiser:" in key} == {3}  # + two reconciliations
    assert {key.rsplit(":", 1)[1] for key in requested} == {
        d.isoformat() for d in [*days, days[-1] + timedelta(days=1)]
    }


def test_an_hourly_range_fetches_each_day_once(api, sandbox_account, sandbox_server, report_store):
    # An hourly run fetches yesterday and today: day by day, each day would come twice.
    account = sandbox_account
    templates_load_defaults(platforms=["sandbox"])
    today = account.sandbox_now.astimezone(ZoneInfo(account.timezone)).date()
    start, end = today - timedelta(days=4), today - timedelta(days=2)

    body = api.post(
        "/api/v1/fetch/",
        {"ad_account": account.pk, "granularity": "hour", "start": start.isoformat(), "end": end.isoformat()},
        format="json",
    ).json()
    _run_all(DagRun.objects.filter(pk__in=body["run_ids"]))

    requested = _requested_days(sandbox_server.stats)
    assert requested and set(requested.values()) == {1}, requested
    assert {key.rsplit(":", 1)[1] for key in requested} == {(start + timedelta(days=n)).isoformat() for n in range(3)}
    assert all(":hour:" in key for key in requested)
