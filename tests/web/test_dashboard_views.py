"""Dashboard page behaviour: presets, compare modes, partial days, the level menu, sorting
and paging, filters kept after an error."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from reports.store import report_rows_write
from tests.reports.rows import day_row
from web.dashboard_periods import day_state, local_todays, preset_range


@pytest.fixture
def client(alice):
    c = Client()
    c.force_login(alice)
    return c


def test_presets():
    today = date(2026, 12, 3)
    assert preset_range("yesterday", today) == (date(2026, 12, 2), date(2026, 12, 2))
    assert preset_range("last_7", today) == (date(2026, 11, 27), today)
    assert preset_range("last_30", today) == (date(2026, 11, 4), today)
    assert preset_range("month_to_date", today) == (date(2026, 12, 1), today)
    assert preset_range("last_month", date(2026, 3, 15)) == (date(2026, 2, 1), date(2026, 2, 28))


def test_partial_and_future_days_follow_the_accounts_zones():
    # 2026-12-03 23:30 UTC: already the 4th in Shanghai, still the 3rd in New York.
    now = datetime(2026, 12, 3, 23, 30, tzinfo=ZoneInfo("UTC"))
    todays = local_todays(["America/New_York", "Asia/Shanghai"], now)
    assert todays == (date(2026, 12, 3), date(2026, 12, 4))
    assert day_state(date(2026, 12, 2), todays) == "complete"
    assert day_state(date(2026, 12, 3), todays) == "partial"
    assert day_state(date(2026, 12, 4), todays) == "partial"
    assert day_state(date(2026, 12, 5), todays) == "future"


def test_today_is_partial_not_zero_and_future_days_have_no_value(client, report_store, account_a):
    today = date.today()
    report_rows_write(account=account_a, run_id="t", rows=[day_row("c1", today, level="campaign", cost="5")])
    tomorrow = today + timedelta(days=1)
    page = client.get(f"/?start={today - timedelta(days=2)}&end={tomorrow}&level=campaign")
    data = page.context["data"]
    states = {p["date"]: p["state"] for p in data["timeseries"]}
    assert states[today] == "partial" and states[tomorrow] == "future"
    assert next(p for p in data["timeseries"] if p["date"] == tomorrow)["cost"] is None
    assert today.isoformat() in data["partial_days"]
    assert "partial (day not over)" in page.content.decode()


def test_compare_with_same_period_last_year(client, report_store, account_a):
    rows = [
        day_row("c1", date(2024, 3, 8), level="campaign", cost="10"),
        day_row("c1", date(2023, 3, 8), level="campaign", cost="5"),
    ]
    report_rows_write(account=account_a, run_id="t", rows=rows)
    page = client.get("/?start=2024-03-08&end=2024-03-08&level=campaign&compare=year")
    kpis = {k["metric"]: k for k in page.context["data"]["kpis"]}
    assert kpis["cost"]["previous"] == Decimal("5") and kpis["cost"]["change_pct"] == pytest.approx(100)
    assert "▲ 100.0% vs same period last year" in page.content.decode()


def test_an_incomplete_previous_period_says_so(client, report_store, account_a):
    rows = [day_row("c1", date(2024, 3, d), level="campaign", cost="10") for d in range(8, 15)]
    rows.append(day_row("c1", date(2024, 3, 3), level="campaign", cost="10"))
    report_rows_write(account=account_a, run_id="t", rows=rows)
    html = client.get("/?start=2024-03-08&end=2024-03-14&level=campaign").content.decode()
    assert "previous period has data on 1 of its 7 days" in html
    assert "previous period incomplete" in html and "% vs previous period" not in html


def test_sorting_and_paging_of_the_table(client, report_store, account_a, settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    rows = [day_row(f"c{i:02d}", date(2024, 3, 8), level="campaign", cost=str(i), clicks=30 - i) for i in range(25)]
    report_rows_write(account=account_a, run_id="t", rows=rows)
    base = "/?start=2024-03-08&end=2024-03-08&level=campaign"
    first = client.get(base).context["data"]
    assert first["top_count"] == 25 and len(first["top"]) == 20
    assert first["top"][0]["entity_id"] == "c24"  # cost descending by default
    second = client.get(base + "&page=2").context["data"]
    assert [r["entity_id"] for r in second["top"]] == ["c04", "c03", "c02", "c01", "c00"]
    by_clicks = client.get(base + "&order_by=clicks&dir=asc").context["data"]
    assert by_clicks["top"][0]["entity_id"] == "c24"  # fewest clicks
    by_account = client.get(base + "&group=account").context["data"]
    assert [(r["account"], r["clicks"]) for r in by_account["top"]] == [
        (account_a.name, sum(30 - i for i in range(25)))
    ]
    bad = client.get(base + "&order_by=drop_table")
    assert bad.status_code == 400 and "order_by" in bad.context["error"]


def test_filters_are_kept_after_a_validation_error(client, db):
    response = client.get("/?start=2024-03-10&end=2024-03-01&level=ad&granularity=hour&currency=EUR")
    html = response.content.decode()
    assert response.status_code == 400
    assert 'name="start" value="2024-03-10"' in html and 'name="end" value="2024-03-01"' in html
    assert '<option value="ad" selected>' in html and '<option value="hour" selected>' in html
    assert 'name="currency" value="EUR"' in html


def test_the_level_menu_offers_what_the_dags_fetch_at_the_granularity(client, report_store, account_a):
    from ingestion.models import Dag

    spec = {
        "tasks": [
            {"task_id": "meta", "operator_name": "ad_meta_operator"},
            {
                "task_id": "hourly",
                "operator_name": "insight_operator",
                "params": {"granularity": "hour", "level": "ad"},
            },
            {
                "task_id": "daily",
                "operator_name": "insight_operator",
                "params": {"granularity": "day", "level": "campaign"},
            },
        ]
    }
    Dag.objects.create(dag_id=f"{account_a.pk}_levels", ad_account=account_a, platform="sandbox", spec=spec)
    hourly = client.get("/?granularity=hour&start=2024-03-08&end=2024-03-08")
    assert hourly.context["query"].level == "ad"
    assert hourly.context["levels"] == ["ad"]
    daily = client.get("/?granularity=day&start=2024-03-08&end=2024-03-08")
    assert daily.context["query"].level == "campaign" and daily.context["levels"] == ["campaign"]


@time_machine.travel(datetime(2026, 12, 3, 12, tzinfo=ZoneInfo("UTC")), tick=False)
def test_a_preset_sets_the_period(client, report_store, account_a):
    query = client.get("/?preset=last_month&level=campaign").context["query"]
    assert (query.start, query.end) == (date(2026, 11, 1), date(2026, 11, 30))
    bad = client.get("/?preset=forever")
    assert bad.status_code == 400 and "unknown preset 'forever'" in bad.context["error"]
