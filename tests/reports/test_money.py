"""Money in report answers: one currency shown as it is, mixed currencies converted at each
row's own day's rate (overrides set here so every expected figure is hand-computable),
by_currency originals, carried-forward and missing rates flagged, a DST day.

Rates (units per 1 EUR, overrides):   03-08   03-09   03-10   03-11
                               USD     2.00    4.00    5.00    8.00
                               JPY   200.00  400.00  500.00  800.00
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Organization
from currencies.models import ExchangeRate
from currencies.services import rate_override_set, reporting_currency_set
from reports.selectors import report_compare, report_timeseries, report_top_entities, report_totals
from reports.store import report_rows_write
from tests.reports.factories import ad_account
from tests.reports.rows import day_row, hour_row

RATES = {
    date(2024, 3, 8): {"USD": "2", "JPY": "200"},
    date(2024, 3, 9): {"USD": "4", "JPY": "400"},
    date(2024, 3, 10): {"USD": "5", "JPY": "500"},
    date(2024, 3, 11): {"USD": "8", "JPY": "800"},
}


@pytest.fixture
def rates(db):
    for day, by_currency in RATES.items():
        for currency, rate in by_currency.items():
            rate_override_set(day=day, currency=currency, rate=Decimal(rate), note="test")


@pytest.fixture
def org(db):
    return Organization.objects.create(name="Mixed currencies")


@pytest.fixture
def mixed(report_store, rates, org):
    usd = ad_account(organization=org, name="US", currency="USD")
    eur = ad_account(organization=org, name="DE", currency="EUR")
    jpy = ad_account(organization=org, name="JP", currency="JPY", timezone="Asia/Tokyo")
    report_rows_write(
        account=usd,
        run_id="t",
        rows=[
            day_row("u1", date(2024, 3, 8), cost="10.00", currency="USD", clicks=10),
            day_row("u1", date(2024, 3, 9), cost="20.00", currency="USD", clicks=10),
        ],
    )
    report_rows_write(
        account=eur, run_id="t", rows=[day_row("e1", date(2024, 3, 8), cost="3.00", currency="EUR", clicks=10)]
    )
    report_rows_write(
        account=jpy,
        run_id="t",
        rows=[day_row("j1", date(2024, 3, 9), tz="Asia/Tokyo", cost="1200", currency="JPY", clicks=10)],
    )
    reporting_currency_set(organization=org, currency="EUR")
    return {"usd": usd, "eur": eur, "jpy": jpy, "ids": [usd.pk, eur.pk, jpy.pk]}


PERIOD = {"start": "2024-03-08", "end": "2024-03-09", "level": "ad"}


def test_one_currency_is_shown_in_it_without_conversion(mixed):
    body = report_totals(account_ids=[mixed["usd"].pk], **PERIOD)
    assert body["currency"] == "USD" and body["conversion"] is None
    assert body["cost"] == Decimal("30.00")
    assert list(body["by_currency"]) == ["USD"]


def test_mixed_currencies_are_converted_at_each_days_rate(mixed):
    body = report_totals(account_ids=mixed["ids"], **PERIOD)
    # 10 USD / 2 + 20 USD / 4 + 3 EUR + 1200 JPY / 400 = 5 + 5 + 3 + 3
    assert body["currency"] == "EUR"
    assert body["cost"] == Decimal("16.000000")
    assert body["cpc"] == pytest.approx(16 / 40)
    assert body["conversion"]["note"] == "converted to EUR at ECB daily reference rates"
    assert body["conversion"]["carried_forward"] == {} and body["conversion"]["missing_rates"] == []
    originals = body["by_currency"]
    assert {c: originals[c]["cost"] for c in originals} == {
        "EUR": Decimal("3"),
        "JPY": Decimal("1200"),
        "USD": Decimal("30"),
    }
    assert originals["USD"]["clicks"] == 20 and originals["USD"]["currency"] == "USD"


def test_the_reporting_currency_is_the_organizations_and_editable(mixed, org):
    reporting_currency_set(organization=org, currency="usd")
    body = report_totals(account_ids=mixed["ids"], **PERIOD)
    # 10 + 20 + 3 EUR * 2 + 1200 JPY / 400 * 4
    assert body["currency"] == "USD" and body["cost"] == Decimal("48.000000")
    assert body["conversion"]["to"] == "USD"


def test_currency_filter_keeps_the_originals_of_one_currency(mixed):
    body = report_totals(account_ids=mixed["ids"], currency="JPY", **PERIOD)
    assert body["currency"] == "JPY" and body["cost"] == Decimal("1200") and body["conversion"] is None


def test_timeseries_and_top_are_in_the_reporting_currency(mixed):
    points = report_timeseries(account_ids=mixed["ids"], **PERIOD)
    assert [(p["date"], p["cost"], p["currency"]) for p in points] == [
        (date(2024, 3, 8), Decimal("8.000000"), "EUR"),
        (date(2024, 3, 9), Decimal("8.000000"), "EUR"),
    ]
    top = report_top_entities(account_ids=mixed["ids"], order_by="cost", **PERIOD)
    # converted: u1 5 + 5 = 10 EUR, e1 3 EUR, j1 3 EUR (ties by account id)
    assert [(r["entity_id"], float(r["cost"])) for r in top] == [("u1", 10.0), ("e1", 3.0), ("j1", 3.0)]
    assert top[0]["currency"] == "EUR" and top[0]["original_currency"] == "USD"
    assert top[0]["original_cost"] == Decimal("30")
    assert "original_currency" not in top[1]  # already in EUR


def test_top_ordered_by_converted_cost_not_by_the_original_number(mixed):
    # 1200 JPY is the biggest number but only 3 EUR: by cost ascending it is not last.
    top = report_top_entities(account_ids=mixed["ids"], order_by="cost", descending=False, **PERIOD)
    assert top[-1]["entity_id"] == "u1"


def test_compare_converts_both_periods_alike(mixed):
    body = report_compare(account_ids=mixed["ids"], start="2024-03-09", end="2024-03-09", level="ad")
    assert body["currency"] == "EUR"
    assert body["metrics"]["cost"]["current"] == Decimal("8.000000")  # 20/4 + 1200/400
    assert body["metrics"]["cost"]["previous"] == Decimal("8.000000")  # 10/2 + 3
    assert body["metrics"]["cost"]["change_pct"] == 0


def test_compare_same_period_last_year(mixed):
    body = report_compare(account_ids=mixed["ids"], previous="year", **PERIOD)
    assert body["previous_period"] == {"start": date(2023, 3, 8), "end": date(2023, 3, 9)}


def test_a_day_without_its_own_rate_takes_the_nearest_earlier_one_flagged(mixed, report_store):
    ExchangeRate.objects.filter(day=date(2024, 3, 9), currency="USD").delete()
    body = report_totals(account_ids=mixed["ids"], **PERIOD)
    # 03-09's 20 USD at 03-08's rate 2 (the bundled ECB history has no Saturday either)
    assert body["cost"] == Decimal("21.000000")  # 5 + 10 + 3 + 3
    assert body["conversion"]["carried_forward"] == {"USD": {"2024-03-09": "2024-03-08"}}
    assert body["conversion"]["stale"] is False


def test_a_currency_without_any_rate_is_left_out_and_named(report_store, rates, org):
    eur = ad_account(organization=org, currency="EUR")
    xof = ad_account(organization=org, currency="XOF")  # not published by the ECB
    report_rows_write(account=eur, run_id="t", rows=[day_row("e", date(2024, 3, 8), cost="3", currency="EUR")])
    report_rows_write(account=xof, run_id="t", rows=[day_row("x", date(2024, 3, 8), cost="900", currency="XOF")])
    reporting_currency_set(organization=org, currency="EUR")
    body = report_totals(account_ids=[eur.pk, xof.pk], **PERIOD)
    assert body["cost"] == Decimal("3.000000")
    assert body["conversion"]["missing_rates"] == ["XOF"]
    assert "XOF left out (no rate)" in body["conversion"]["note"]
    assert body["by_currency"]["XOF"]["cost"] == Decimal("900")


def test_bundled_ecb_history_converts_without_any_stored_rate(report_store, org):
    usd = ad_account(organization=org, currency="USD")
    eur = ad_account(organization=org, currency="EUR")
    # Friday 2024-03-08: ECB reference rate 1 EUR = 1.0932 USD (in the package's history)
    report_rows_write(account=usd, run_id="t", rows=[day_row("u", date(2024, 3, 8), cost="10.932", currency="USD")])
    report_rows_write(account=eur, run_id="t", rows=[day_row("e", date(2024, 3, 8), cost="1", currency="EUR")])
    reporting_currency_set(organization=org, currency="EUR")
    body = report_totals(account_ids=[usd.pk, eur.pk], start="2024-03-08", end="2024-03-08", level="ad")
    assert body["cost"] == Decimal("11.000000")


def test_dst_day_hours_convert_at_their_local_days_rate(report_store, rates, org):
    """2024-03-10 in New York has 23 hours; its last hour starts 03:00 UTC on 03-11, whose
    rate (8) differs: every hour of the local day converts at 03-10's rate (5)."""
    tz = "America/New_York"
    usd = ad_account(organization=org, currency="USD", timezone=tz)
    eur = ad_account(organization=org, currency="EUR")
    hours = [datetime(2024, 3, 10, h) for h in range(24) if h != 2]  # 02:00 does not exist that day
    report_rows_write(account=usd, run_id="t", rows=[hour_row("u", t, tz=tz, cost="1.00") for t in hours])
    report_rows_write(
        account=eur, run_id="t", rows=[hour_row("e", datetime(2024, 3, 10, 12), cost="1.00", currency="EUR")]
    )
    reporting_currency_set(organization=org, currency="EUR")
    ids = [usd.pk, eur.pk]
    day = {"start": "2024-03-10", "end": "2024-03-10", "level": "ad", "granularity": "hour"}
    body = report_totals(account_ids=ids, **day)
    assert body["by_currency"]["USD"]["cost"] == Decimal("23")
    assert body["cost"] == Decimal("23") / 5 + 1
    points = report_timeseries(account_ids=ids, **day)
    last = points[-1]
    assert last["time"] == datetime(2024, 3, 11, 3, tzinfo=ZoneInfo("UTC"))
    assert last["cost"] == Decimal("0.200000") and last["currency"] == "EUR"
