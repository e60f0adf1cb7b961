"""Money through the API, the dashboard page and its CSV for a mixed-currency organization:
converted at each day's rate (overrides: 1 EUR = 2 USD on 03-08, 4 USD on 03-09,
200 JPY on 03-08), the currency always named, originals in by_currency."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from currencies.services import rate_override_set, reporting_currency_set
from reports.store import report_rows_write
from tests.reports.rows import day_row
from tests.web import factories

PERIOD = "start=2024-03-08&end=2024-03-09&level=campaign"


@pytest.fixture
def mixed(report_store, org_a, account_a):
    rate_override_set(day=date(2024, 3, 8), currency="USD", rate=Decimal("2"))
    rate_override_set(day=date(2024, 3, 9), currency="USD", rate=Decimal("4"))
    rate_override_set(day=date(2024, 3, 8), currency="JPY", rate=Decimal("200"))
    account_a.currency = "USD"
    account_a.save()
    eur = factories.ad_account(organization=org_a, name="Euro", currency="EUR")
    jpy = factories.ad_account(organization=org_a, name="Yen", currency="JPY", timezone_name="Asia/Tokyo")
    report_rows_write(
        account=account_a,
        run_id="t",
        rows=[
            day_row("c1", date(2024, 3, 8), level="campaign", cost="10", clicks=5),
            day_row("c1", date(2024, 3, 9), level="campaign", cost="20", clicks=5),
        ],
    )
    report_rows_write(
        account=eur, run_id="t", rows=[day_row("e1", date(2024, 3, 8), level="campaign", cost="3", currency="EUR")]
    )
    report_rows_write(
        account=jpy,
        run_id="t",
        rows=[day_row("j1", date(2024, 3, 8), level="campaign", tz="Asia/Tokyo", cost="12345", currency="JPY")],
    )
    reporting_currency_set(organization=org_a, currency="EUR")
    return {"usd": account_a, "eur": eur, "jpy": jpy}


def test_totals_are_converted_and_say_so(api, mixed):
    body = api.get(f"/api/v1/reports/totals/?{PERIOD}").json()
    # 10/2 + 20/4 + 3 + 12345/200
    assert body["currency"] == "EUR" and body["cost"] == pytest.approx(5 + 5 + 3 + 61.725)
    assert body["conversion"]["note"] == "converted to EUR at ECB daily reference rates"
    assert body["by_currency"]["JPY"]["cost"] == 12345 and body["by_currency"]["USD"]["currency"] == "USD"


def test_currency_filter_and_explicit_target(api, mixed):
    usd = api.get(f"/api/v1/reports/totals/?{PERIOD}&currency=usd").json()
    assert usd["currency"] == "USD" and usd["cost"] == 30 and usd["conversion"] is None
    jpy = api.get(f"/api/v1/reports/totals/?{PERIOD}&to_currency=JPY").json()
    assert jpy["currency"] == "JPY" and jpy["cost"] == pytest.approx(1000 + 1000 + 600 + 12345)
    bad = api.get(f"/api/v1/reports/totals/?{PERIOD}&currency=EURO")
    assert bad.status_code == 400 and "not an ISO 4217 currency code" in bad.json()["currency"][0]


def test_top_rows_and_timeseries_carry_their_currency(api, mixed):
    top = api.get(f"/api/v1/reports/top/?{PERIOD}").json()
    assert [(r["entity_id"], r["currency"]) for r in top] == [("j1", "EUR"), ("c1", "EUR"), ("e1", "EUR")]
    assert top[0]["original_currency"] == "JPY" and top[0]["original_cost"] == 12345
    paged = api.get(f"/api/v1/reports/top/?{PERIOD}&n=1&offset=1").json()
    assert [r["entity_id"] for r in paged] == ["c1"]
    points = api.get(f"/api/v1/reports/timeseries/?{PERIOD}").json()
    assert {p["currency"] for p in points} == {"EUR"}


def test_dashboard_api_kpis_name_their_currency(api, mixed):
    body = api.get(f"/api/v1/reports/dashboard/?{PERIOD}").json()
    kpis = {k["metric"]: k for k in body["kpis"]}
    assert kpis["cost"]["currency"] == "EUR" and kpis["cpc"]["currency"] == "EUR"
    assert "currency" not in kpis["clicks"]
    assert body["currency"] == "EUR" and body["conversion"]["to"] == "EUR"


def test_dashboard_page_and_csv_show_the_currency(alice, mixed):
    client = Client()
    client.force_login(alice)
    page = client.get(f"/?{PERIOD}").content.decode()
    assert "converted to EUR at ECB daily reference rates" in page
    assert "74.72 EUR" in page  # the Cost KPI: 74.725 with EUR's two decimals (banker's rounding)
    assert "12,345 JPY" in page  # the JPY original in the by-currency table, no decimals
    jpy_only = client.get(f"/?{PERIOD}&currency=JPY").content.decode()
    assert "12,345 JPY" in jpy_only and "converted to" not in jpy_only
    lines = client.get(f"/dashboard.csv?{PERIOD}").content.decode().splitlines()
    header = lines[0].split(",")
    first = dict(zip(header, lines[1].split(","), strict=True))
    assert first["currency"] == "EUR" and first["original_currency"] == "JPY" and first["original_cost"] == "12345"
    assert first["cost"] == "61.72" and first["account"] == "Yen" and first["platform"] == "sandbox"


def test_xlsx_export_has_the_table_with_currency_formats(alice, mixed):
    import io

    from openpyxl import load_workbook

    client = Client()
    client.force_login(alice)
    response = client.get(f"/dashboard.xlsx?{PERIOD}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    first = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert first["name"].value is None and first["entity_id"].value == "j1"
    assert first["cost"].value == pytest.approx(61.72) and first["cost"].number_format == "#,##0.00"
    assert first["original_cost"].value == 12345 and first["original_cost"].number_format == "#,##0"
    assert first["currency"].value == "EUR"


def test_reporting_currency_api(api, api_bob, org_a, mixed, alice):
    url = f"/api/v1/organizations/{org_a.pk}/reporting-currency/"
    assert api.get(url).json() == {"organization": org_a.pk, "currency": "EUR", "explicit": True}
    assert api.put(url, {"currency": "jpy"}, format="json").json()["currency"] == "JPY"
    assert api.put(url, {"currency": "YEN"}, format="json").status_code == 400
    assert api_bob.get(url).status_code == 404  # another organization's
    cleared = api.put(url, {"currency": ""}, format="json").json()
    # back to the default: most of the spend of the last 90 days (none here): the accounts' most common
    assert cleared["explicit"] is False and cleared["currency"] in {"USD", "EUR", "JPY"}


def test_a_member_cannot_set_the_reporting_currency(org_a, mixed):
    from rest_framework.test import APIClient

    member = factories.user()
    from accounts.models import Membership

    Membership.objects.create(user=member, organization=org_a, role="member")
    client = APIClient()
    client.force_authenticate(member)
    response = client.put(f"/api/v1/organizations/{org_a.pk}/reporting-currency/", {"currency": "USD"}, format="json")
    assert response.status_code == 403
    assert "owners and admins" in response.json()["detail"]
