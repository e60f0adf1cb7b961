"""Report API and the dashboard bundle: numbers from ClickHouse, accounts scoped to the user."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from connectors.base import ReportRow
from reports.store import report_rows_write

PERIOD = "start=2024-03-08&end=2024-03-14"


def day_row(entity_id, day, *, level="campaign", impressions=100, clicks=10, cost="1.50", conversions=1.0):
    return ReportRow(
        level=level,
        granularity="day",
        entity_id=str(entity_id),
        stat_time=datetime(day.year, day.month, day.day, tzinfo=ZoneInfo("UTC")),
        impressions=impressions,
        clicks=clicks,
        cost=Decimal(cost),
        conversions=conversions,
        currency="USD",
        extra={},
    )


@pytest.fixture
def data(report_store, account_a, account_b):
    report_rows_write(
        account=account_a,
        run_id="t",
        rows=[
            day_row("c1", date(2024, 3, 8), impressions=1000, clicks=50, cost="25.00", conversions=5),
            day_row("c1", date(2024, 3, 9), impressions=2000, clicks=40, cost="30.00", conversions=2),
            day_row("c2", date(2024, 3, 8), impressions=500, clicks=50, cost="10.00", conversions=0),
            day_row("c2", date(2024, 3, 1), impressions=400, clicks=20, cost="8.00", conversions=1),
        ],
    )
    report_rows_write(account=account_b, run_id="t", rows=[day_row("x1", date(2024, 3, 8), impressions=99999)])
    return {"a": account_a, "b": account_b}


def test_totals_are_my_accounts_only(api, data):
    body = api.get(f"/api/v1/reports/totals/?{PERIOD}&level=campaign").json()
    assert body["impressions"] == 3500 and body["clicks"] == 140
    assert body["cost"] == 65.0 and body["conversions"] == 7.0
    assert body["ctr"] == pytest.approx(140 / 3500)


def test_other_organizations_account_is_404(api, data):
    response = api.get(f"/api/v1/reports/totals/?{PERIOD}&level=campaign&account={data['b'].pk}")
    assert response.status_code == 404
    mixed = api.get(f"/api/v1/reports/top/?{PERIOD}&level=campaign&account={data['a'].pk}&account={data['b'].pk}")
    assert mixed.status_code == 404


def test_timeseries_fills_days(api, data):
    points = api.get(f"/api/v1/reports/timeseries/?{PERIOD}&level=campaign").json()
    assert [p["date"] for p in points][:3] == ["2024-03-08", "2024-03-09", "2024-03-10"]
    assert [p["impressions"] for p in points][:3] == [1500, 2000, 0]
    assert len(points) == 7


def test_top_and_compare(api, data):
    top = api.get(f"/api/v1/reports/top/?{PERIOD}&level=campaign&order_by=clicks&n=1").json()
    assert [(r["entity_id"], r["clicks"]) for r in top] == [("c1", 90)]
    compare = api.get(f"/api/v1/reports/compare/?{PERIOD}&level=campaign").json()
    assert compare["previous_period"] == {"start": "2024-03-01", "end": "2024-03-07"}
    assert compare["metrics"]["impressions"]["current"] == 3500
    assert compare["metrics"]["impressions"]["previous"] == 400


def test_dashboard_bundle(api, data):
    body = api.get(f"/api/v1/reports/dashboard/?{PERIOD}").json()
    kpis = {k["metric"]: k for k in body["kpis"]}
    assert kpis["impressions"]["current"] == 3500 and kpis["impressions"]["previous"] == 400
    # The previous period (03-01..07) has rows on one day only: no bare percentage.
    assert kpis["impressions"]["change_pct"] is None and kpis["impressions"]["incomplete"] is True
    assert body["previous_incomplete"] == "previous period has data on 1 of its 7 days"
    assert [r["entity_id"] for r in body["top"]] == ["c1", "c2"]
    assert len(body["timeseries"]) == 7
    assert body["query"]["account_ids"] == [data["a"].pk]


@pytest.mark.parametrize(
    "query, field",
    [
        ("start=2024-03-10&end=2024-03-01", "end"),
        ("start=someday", "start"),
        ("level=planet", "level"),
        ("granularity=minute", "granularity"),
        ("metrics=bogus", "metrics[0]"),
        ("order_by=bogus", "order_by"),
        ("n=0", "n"),
        ("end=0750-12-20", "end"),  # before ClickHouse's DateTime: a 400, not the driver's error
        ("start=2150-01-01&end=2150-01-02", "start"),
    ],
)
def test_bad_input_names_the_field(api, data, query, field):
    response = api.get(f"/api/v1/reports/top/?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_user_without_accounts_sees_zeros(api_bob, report_store):
    body = api_bob.get(f"/api/v1/reports/totals/?{PERIOD}").json()
    assert body["impressions"] == 0 and body["cost"] == 0


def test_dashboard_is_cached_per_resolved_query_and_never_across_organizations(api, api_bob, data, settings):
    url = f"/api/v1/reports/dashboard/?{PERIOD}"
    first = {k["metric"]: k["current"] for k in api.get(url).json()["kpis"]}
    report_rows_write(account=data["a"], run_id="later", rows=[day_row("c9", date(2024, 3, 10), impressions=7)])
    cached = {k["metric"]: k["current"] for k in api.get(url).json()["kpis"]}
    assert cached["impressions"] == first["impressions"] == 3500  # within the cache's seconds
    bob = {k["metric"]: k["current"] for k in api_bob.get(url).json()["kpis"]}
    assert bob["impressions"] == 99999  # same parameters, bob's own accounts
    settings.DASHBOARD_CACHE_SECONDS = 0
    fresh = {k["metric"]: k["current"] for k in api.get(url).json()["kpis"]}
    assert fresh["impressions"] == 3507


def test_an_expired_dashboard_answer_is_computed_once_while_many_ask(account_a, data, settings, monkeypatch):
    """Single flight: 12 requests at once for an answer that is not cached send ClickHouse
    one set of queries; all of them get the answer."""
    import threading

    from reports import selectors as report_selectors
    from web import dashboard

    settings.DASHBOARD_CACHE_SECONDS = 30
    calls, real = [], report_selectors.report_compare

    def counting_compare(**filters):
        calls.append(1)
        return real(**filters)

    monkeypatch.setattr(dashboard, "report_compare", counting_compare)
    query = dashboard.DashboardQuery(
        account_ids=(account_a.pk,),
        start=date(2024, 3, 8),
        end=date(2024, 3, 14),
        granularity="day",
        level="campaign",
        platform=None,
        order_by="cost",
    )
    start, answers = threading.Barrier(12), []

    def ask():
        start.wait()
        answers.append(dashboard.dashboard_json(query))

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(calls) == 1
    assert len(answers) == 12 and all(a == answers[0] for a in answers)
    assert {k["metric"]: k["current"] for k in answers[0]["kpis"]}["impressions"] == 3500
