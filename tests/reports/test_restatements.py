"""Restatements and vanished rows: a re-fetch that changes a row replaces it, a key a complete
re-fetch no longer returns is tombstoned, both right with FINAL across unmerged parts (chdb);
each fetch keeps its per-day totals, so a restatement is listed with its change."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from connectors.base import ReportRow
from reports.models import DayFetch, DayStatus
from reports.selectors import report_totals
from reports.status_selectors import day_fetch_history, restatements
from reports.store import AccountKey, next_version, report_rows_tombstone, report_rows_write
from tests.reports.test_operators import run

NY = ZoneInfo("America/New_York")


def _row(entity, day, cost, conversions=1.0):
    return ReportRow(
        level="ad",
        granularity="day",
        entity_id=entity,
        stat_time=datetime(day.year, day.month, day.day, tzinfo=NY),
        impressions=100,
        clicks=10,
        cost=Decimal(cost),
        conversions=conversions,
        currency="USD",
    )


def _active_parts(client) -> int:
    return client.command(
        "SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'report_rows' AND active"
    )


@pytest.mark.django_db
def test_a_restated_row_changes_and_a_vanished_row_goes_across_unmerged_parts(report_store):
    client = report_store
    client.command("SYSTEM STOP MERGES report_rows")
    account = AccountKey(id=41, platform="sandbox", timezone="America/New_York", currency="USD")
    day = date(2026, 11, 20)
    first = next_version()
    report_rows_write(account=account, rows=[_row("a", day, "10"), _row("b", day, "5")], run_id="r1", version=first)
    assert report_totals(account_ids=[41], start=day, end=day, level="ad")["cost"] == Decimal("15")

    # The re-fetch restates "a" and no longer returns "b" (refunded).
    second = next_version()
    report_rows_write(account=account, rows=[_row("a", day, "12", 2.0)], run_id="r2", version=second)
    gone = report_rows_tombstone(
        account=account, level="ad", granularity="day", start=day, end=day, version=second, run_id="r2"
    )
    assert gone == 1
    assert _active_parts(client) >= 3  # nothing merged: FINAL alone makes the answer right
    totals = report_totals(account_ids=[41], start=day, end=day, level="ad")
    assert (totals["cost"], totals["conversions"], totals["impressions"]) == (Decimal("12"), 2.0, 100)
    # The argMax reading agrees, and a second tombstone pass finds nothing more to remove.
    assert report_totals(account_ids=[41], start=day, end=day, level="ad", dedup="argmax")["cost"] == Decimal("12")
    assert (
        report_rows_tombstone(
            account=account, level="ad", granularity="day", start=day, end=day, version=second, run_id="r2"
        )
        == 0
    )
    # Days outside the window and other levels are untouched.
    report_rows_write(account=account, rows=[_row("c", day + timedelta(days=1), "7")], run_id="r1", version=first)
    report_rows_tombstone(
        account=account, level="ad", granularity="day", start=day, end=day, version=next_version(), run_id="r3"
    )
    assert report_totals(account_ids=[41], start=day, end=day + timedelta(days=1), level="ad")["cost"] == Decimal("7")

    # A key that comes back after its tombstone is counted again (newest version wins).
    report_rows_write(account=account, rows=[_row("b", day, "4")], run_id="r4", version=next_version())
    assert report_totals(account_ids=[41], start=day, end=day, level="ad")["cost"] == Decimal("4")


def test_migration_moved_the_table_to_tombstones(db):
    from reports.clickhouse.client import clickhouse_client

    engine = clickhouse_client().command(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'report_rows'"
    )
    assert "ReplacingMergeTree(version, is_deleted)" in engine


@pytest.mark.django_db(transaction=True)
def test_a_deleted_ad_that_the_fetch_stops_returning_vanishes_from_the_reports(
    sandbox_account, sandbox_server, report_store
):
    account = sandbox_account
    sandbox_server.configure(deleted_ads=2, deleted_days_ago=1)
    today = account.sandbox_now.astimezone(NY).date()
    params = {"granularity": "day", "level": "ad", "lookback_days": 3}
    run(account, "insight_operator", params)
    window = (today - timedelta(days=4), today - timedelta(days=1))
    with_deleted = report_totals(account_ids=[account.pk], start=window[0], end=window[1], level="ad")

    app = account.credential.app
    app.extra = {"include_deleted": False}
    app.save()
    account.refresh_from_db()
    run(account, "insight_operator", params)
    without = report_totals(account_ids=[account.pk], start=window[0], end=window[1], level="ad")
    assert without["cost"] < with_deleted["cost"]
    # Exactly the deleted ads' rows went: the day they were deleted on and after have none of them anyway.
    fetches = DayFetch.objects.filter(ad_account=account, level="ad").order_by("fetched_at", "day")
    last = {f.day: f for f in fetches}
    assert sum(f.cost for f in last.values()) == without["cost"]


@pytest.mark.django_db(transaction=True)
def test_a_restatement_is_listed_with_its_change(sandbox_account, sandbox_server, report_store, monkeypatch):
    account = sandbox_account
    now = account.sandbox_now
    monkeypatch.setattr("reports.day_status.now", lambda: now)
    today = now.astimezone(NY).date()
    day = today - timedelta(days=1)
    params = {"granularity": "day", "level": "account", "lookback_days": 3}
    run(account, "insight_operator", params)
    first = DayFetch.objects.get(ad_account=account, level="account", day=day)
    assert DayStatus.objects.get(ad_account=account, granularity="day", day=day).state == "preliminary"

    # Three days later the sandbox has made the day's conversions final (+25 %: 80 % before).
    later = now + timedelta(days=3)
    sandbox_server.configure(now=later)
    monkeypatch.setattr("reports.day_status.now", lambda: later)
    run(account, "insight_operator", params, logical_time=later)
    history = day_fetch_history(account_ids=[account.pk], start=day, end=day, level="account")
    assert [h["conversions"] for h in history] == [first.conversions, history[1]["conversions"]]
    assert history[1]["conversions"] > first.conversions and history[1]["cost"] == first.cost
    found = restatements(account_ids=[account.pk], start=day, end=day)
    assert [r["metric"] for r in found] == ["conversions"]
    pct = (history[1]["conversions"] - first.conversions) / first.conversions * 100
    assert found[0]["text"] == f"conversions restated {pct:+.1f}% on {day.isoformat()}"
    status = DayStatus.objects.get(ad_account=account, granularity="day", day=day)
    assert status.state == "final" and status.last_fetched_at == later.astimezone(UTC)
