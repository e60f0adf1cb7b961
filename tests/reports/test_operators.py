"""The report operators, each run directly with an OperatorContext against the sandbox over HTTP."""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Credential
from connectors.errors import AuthorizationRevoked, MalformedResponse, PermanentError, TokenExpired
from connectors.sandbox.world import Advertiser
from ingestion.operators.base import OperatorContext
from ingestion.operators.registry import operator_class
from reports.models import AdEntity
from reports.selectors import report_timeseries, report_totals
from tests.reports.sandbox_numbers import core, sandbox_days, sandbox_totals

NY = ZoneInfo("America/New_York")


def run(account, operator, params=None, *, logical_time=None, try_number=1):
    context = OperatorContext(
        dag_id="test_dag",
        task_id=f"{operator}_task",
        run_id=1,
        logical_time=logical_time or account.sandbox_now,
        timezone=account.timezone,
        params=params or {},
        ad_account_id=account.pk,
        platform="sandbox",
        try_number=try_number,
        max_tries=3,
        task_instance=None,
        log=logging.getLogger("ingestion.task"),
    )
    operator_class(operator)().execute(context)


def test_operators_are_registered_under_the_template_names():
    for name in ("account_meta_operator", "ad_meta_operator", "insight_operator"):
        assert operator_class(name).__module__ == "reports.operators"


def test_account_meta_updates_the_account_and_its_entity(sandbox_account):
    account = sandbox_account
    account.name, account.currency, account.timezone = "stale", "", "UTC"
    account.save()
    run(account, "account_meta_operator")
    account.refresh_from_db()
    assert (account.name, account.currency, account.timezone, account.platform_status) == (
        "Sandbox advertiser 1-1",
        "USD",
        "America/New_York",
        "active",
    )
    row = AdEntity.objects.get(ad_account=account, level="account")
    assert (row.external_id, row.name, row.status, row.deleted_at) == (
        account.external_id,
        "Sandbox advertiser 1-1",
        "active",
        None,
    )
    run(account, "account_meta_operator")
    assert AdEntity.objects.filter(ad_account=account).count() == 1


def test_ad_meta_fetches_every_level_below_the_account(sandbox_account, caplog):
    account = sandbox_account
    adv = Advertiser.parse(account.external_id)
    stale = AdEntity.objects.create(
        ad_account=account,
        platform="sandbox",
        level="ad",
        external_id="gone-ad",
        name="Removed on the platform",
        first_seen_at=account.sandbox_now - timedelta(days=3),
        updated_at=account.sandbox_now - timedelta(days=3),
    )
    with caplog.at_level(logging.INFO, logger="ingestion.task"):
        run(account, "ad_meta_operator")
    counts = {
        lvl: AdEntity.objects.filter(ad_account=account, level=lvl).exclude(pk=stale.pk).count()
        for lvl in ("campaign", "ad_group", "ad", "creative")
    }
    assert counts == {"campaign": 1, "ad_group": 4, "ad": 20, "creative": 20}
    ad3 = AdEntity.objects.get(ad_account=account, level="ad", external_id=adv.entity("ad", 2).id)
    assert (ad3.name, ad3.parent_external_id) == ("Ad 3", adv.entity("adgroup", 0).id)
    deleted = {e.external_id for e in AdEntity.objects.filter(ad_account=account, level="ad", deleted_at__isnull=False)}
    on_platform = {adv.entity("ad", i).id for i in range(20) if adv.entity("ad", i).status == "delete"}
    assert deleted == on_platform | {"gone-ad"} and len(on_platform) == 1
    stale.refresh_from_db()
    assert stale.deleted_at is not None and stale.name == "Removed on the platform"
    assert "ad: 20 entities in 1 pages (1 deleted on the platform), 1 no longer listed" in caplog.text


def test_ad_meta_levels_from_params(sandbox_account):
    run(sandbox_account, "ad_meta_operator", {"levels": ["ad_group", "campaign"]})
    assert set(AdEntity.objects.values_list("level", flat=True)) == {"campaign", "ad_group"}
    with pytest.raises(PermanentError, match=r"params.levels\[0\]: sandbox has no level 'adset' below the account"):
        run(sandbox_account, "ad_meta_operator", {"levels": ["adset"]})


def test_daily_insights_match_the_sandbox_and_rerunning_counts_once(sandbox_account, report_store):
    account = sandbox_account
    logical = datetime.combine(
        account.sandbox_now.astimezone(NY).date(), datetime.min.time().replace(hour=2, minute=30), tzinfo=NY
    )
    yesterday = logical.date() - timedelta(days=1)
    first = yesterday - timedelta(days=3)
    for _ in range(3):
        run(
            account, "insight_operator", {"granularity": "day", "level": "ad", "lookback_days": 3}, logical_time=logical
        )
    expected = sandbox_days(account.external_id, level="ad", start=first, end=yesterday, now=account.sandbox_now)
    series = report_timeseries(account_ids=[account.pk], start=first, end=yesterday, level="ad")
    assert [core(p) for p in series] == [core(expected[d]) for d in sorted(expected)]
    assert series[0]["impressions"] > 0
    # each key once however often it was written: rows after FINAL = the sandbox's rows
    rows = report_store.command(f"SELECT count() FROM report_rows FINAL WHERE account_id = {account.pk}")
    assert rows == sum(e["rows"] for e in expected.values()) == 4 * 17


def test_default_level_is_the_finest_reported_and_lookback_the_platforms(sandbox_account, report_store):
    account = sandbox_account
    run(account, "insight_operator", {"granularity": "day"})
    today = account.sandbox_now.astimezone(NY).date()
    start, end = today - timedelta(days=4), today - timedelta(days=1)  # yesterday + the spec's 3 days
    totals = report_totals(account_ids=[account.pk], start=start, end=end, level="ad")
    expected = sandbox_totals(
        account.external_id, level="ad", granularity="day", start=start, end=end, now=account.sandbox_now
    )
    assert core(totals) == core(expected)
    assert (
        report_totals(
            account_ids=[account.pk], start=start - timedelta(days=1), end=start - timedelta(days=1), level="ad"
        )["impressions"]
        == 0
    )


def test_hourly_insights_cover_yesterday_and_today_so_far(sandbox_account, report_store):
    account = sandbox_account
    run(account, "insight_operator", {"granularity": "hour", "level": "campaign"})
    today = account.sandbox_now.astimezone(NY).date()
    expected = sandbox_totals(
        account.external_id,
        level="campaign",
        granularity="hour",
        start=today - timedelta(days=1),
        end=today,
        now=account.sandbox_now,
    )
    totals = report_totals(
        account_ids=[account.pk], start=today - timedelta(days=1), end=today, granularity="hour", level="campaign"
    )
    assert core(totals) == core(expected)
    hours = report_timeseries(
        account_ids=[account.pk], start=today - timedelta(days=1), end=today, granularity="hour", level="campaign"
    )
    assert len(hours) == expected["rows"] and hours[-1]["time"] <= account.sandbox_now


def test_a_past_logical_time_fetches_that_past_window(sandbox_account, report_store):
    account = sandbox_account
    logical = account.sandbox_now - timedelta(days=10)
    run(
        account,
        "insight_operator",
        {"granularity": "day", "level": "account", "lookback_days": 0},
        logical_time=logical,
    )
    day = logical.astimezone(NY).date() - timedelta(days=1)
    series = report_timeseries(
        account_ids=[account.pk], start=day - timedelta(days=1), end=day + timedelta(days=1), level="account"
    )
    expected = sandbox_totals(
        account.external_id, level="account", granularity="day", start=day, end=day, now=account.sandbox_now
    )
    assert [p["impressions"] for p in series] == [0, expected["impressions"], 0]


def test_bad_params_fail_naming_the_param(sandbox_account):
    with pytest.raises(
        PermanentError, match=r"test_dag.insight_operator_task: params.granularity: 'week' is not one of hour, day"
    ):
        run(sandbox_account, "insight_operator", {"granularity": "week"})
    with pytest.raises(PermanentError, match=r"params.level: sandbox has no level 'adset'"):
        run(sandbox_account, "insight_operator", {"granularity": "day", "level": "adset"})
    with pytest.raises(PermanentError, match=r"params.lookback_days: expected an integer from 0 to 365, got -1"):
        run(sandbox_account, "insight_operator", {"granularity": "day", "lookback_days": -1})


def test_malformed_report_fails_naming_the_field_and_writes_nothing(sandbox_account, sandbox_server, report_store):
    sandbox_server.inject("malformed", path="/reports")
    with pytest.raises(
        MalformedResponse,
        match=r"\[sandbox\] reports \(account 1000200000\): malformed response \(field 'data.rows.0.show'\)",
    ):
        run(sandbox_account, "insight_operator", {"granularity": "day", "level": "ad"})
    assert report_store.command("SELECT count() FROM report_rows") == 0


def test_revoked_grant_marks_the_credential_and_fails(sandbox_account, sandbox_server):
    sandbox_server.inject("revoked", path="/api/")
    with pytest.raises(AuthorizationRevoked, match=r"re-authorize"):
        run(sandbox_account, "ad_meta_operator")
    credential = Credential.objects.get(pk=sandbox_account.credential_id)
    assert credential.status == Credential.Status.NEEDS_REAUTH
    # the next try does not even call the platform
    calls = sum(sandbox_server.stats.values())
    with pytest.raises(AuthorizationRevoked, match=r"needs re-authorization"):
        run(sandbox_account, "account_meta_operator")
    assert sum(sandbox_server.stats.values()) == calls


def test_an_expiring_token_is_refreshed_before_fetching(sandbox_account, sandbox_server):
    Credential.objects.filter(pk=sandbox_account.credential_id).update(access_expires_at=sandbox_account.sandbox_now)
    run(sandbox_account, "account_meta_operator")
    assert sandbox_server.stats["token_refresh"] == 1
    assert AdEntity.objects.filter(ad_account=sandbox_account, level="account").exists()


def test_a_new_account_timezone_moves_the_accounts_dags(sandbox_account):
    import json

    from connectors.registry import platform_spec
    from ingestion.services.manager import dag_upsert
    from ingestion.services.templates import template_save

    account = sandbox_account
    account.timezone = "UTC"
    account.save()
    spec = json.loads((platform_spec("sandbox").templates_dir / "daily_lookback.json").read_text())
    dag, _ = dag_upsert(
        template=template_save(platform="sandbox", name="daily", spec=spec).template, ad_account=account
    )
    assert dag.timezone == "UTC"
    run(account, "account_meta_operator")
    dag.refresh_from_db()
    assert dag.timezone == "America/New_York"
    assert dag.next_run_at.astimezone(NY).strftime("%H:%M") == "02:30"


def test_a_retry_after_a_write_died_half_way_counts_each_key_once(sandbox_account, report_store, monkeypatch):
    """Try 1 writes 3 batches of 10 rows, then the fetch dies; try 2 rewrites every key."""
    from functools import partial

    from connectors.errors import TransientError
    from connectors.sandbox.connector import SandboxConnector
    from reports import operators
    from reports.store import report_rows_write

    account = sandbox_account
    monkeypatch.setattr(operators, "report_rows_write", partial(report_rows_write, batch_size=10))
    real_fetch = SandboxConnector.fetch_report

    def dying_fetch(self, *args, **kwargs):
        for n, row in enumerate(real_fetch(self, *args, **kwargs)):
            if n == 35:
                raise TransientError("connection reset", platform="sandbox")
            yield row

    params = {"granularity": "day", "level": "ad", "lookback_days": 3}
    monkeypatch.setattr(SandboxConnector, "fetch_report", dying_fetch)
    with pytest.raises(TransientError):
        run(account, "insight_operator", params, try_number=1)
    assert report_store.command("SELECT count() FROM report_rows") == 30  # visible, but only the retry's result counts
    monkeypatch.setattr(SandboxConnector, "fetch_report", real_fetch)
    run(account, "insight_operator", params, try_number=2)

    today = account.sandbox_now.astimezone(NY).date()
    start, end = today - timedelta(days=4), today - timedelta(days=1)
    assert core(report_totals(account_ids=[account.pk], start=start, end=end, level="ad")) == core(
        sandbox_totals(
            account.external_id, level="ad", granularity="day", start=start, end=end, now=account.sandbox_now
        )
    )
    # (the 30 older versions may already be merged away; FINAL never counts them)
    assert report_store.command("SELECT count() FROM report_rows") in range(68, 30 + 68 + 1)
    assert report_store.command("SELECT count() FROM report_rows FINAL") == 68
    runs = report_store.query("SELECT DISTINCT run_id FROM report_rows FINAL").result_rows
    assert runs == [("test_dag/1/insight_operator_task/2",)]


def test_a_token_the_platform_refuses_as_expired_is_refreshed_and_the_fetch_repeated(
    sandbox_account, sandbox_server, caplog
):
    before = Credential.objects.get(pk=sandbox_account.credential_id).access_token
    sandbox_server.inject("expired", path="/api/")
    with caplog.at_level(logging.INFO, logger="ingestion.task"):
        run(sandbox_account, "ad_meta_operator", {"levels": ["campaign"]})
    assert sandbox_server.stats["token_refresh"] == 1
    assert Credential.objects.get(pk=sandbox_account.credential_id).access_token != before
    assert AdEntity.objects.filter(ad_account=sandbox_account, level="campaign").count() == 1
    assert "sandbox refused the access token as expired; refreshing it and starting over" in caplog.text
    # expired again right after the refresh: the engine's retry takes over
    sandbox_server.inject("expired", path="/api/", times=2)
    with pytest.raises(TokenExpired):
        run(sandbox_account, "ad_meta_operator", {"levels": ["campaign"]})
    assert sandbox_server.stats["token_refresh"] == 2


def test_account_currency_and_timezone_are_read_where_platforms_put_them():
    from reports.operators import _account_fields

    assert _account_fields({"customer": {"currencyCode": "EUR", "timeZone": "Europe/Paris"}}) == {
        "currency": "EUR",
        "timezone": "Europe/Paris",
    }  # Google Ads
    assert _account_fields(
        {"currency": "USD", "timezone_name": "America/Los_Angeles", "timezone_offset_hours_utc": -8}
    ) == {"currency": "USD", "timezone": "America/Los_Angeles"}  # Meta
    assert _account_fields({"timezone": "GMT+8"}) == {}  # a label we cannot compute with: the account keeps its own
    assert _account_fields({"name": "x"}) == {}  # platforms of one market (Baidu, Kuaishou) send neither


def test_an_account_the_grant_no_longer_reaches_stops_alone(sandbox_account, sandbox_server):
    from accounts.models import AdAccount
    from connectors.errors import AccountAccessLost

    lost = AdAccount.objects.create(
        organization=sandbox_account.organization,
        platform="sandbox",
        external_id="1999999999",
        name="unreachable",
        timezone="UTC",
        credential=sandbox_account.credential,
    )
    lost.sandbox_now = sandbox_account.sandbox_now
    with pytest.raises(AccountAccessLost, match=r"does not reach advertiser 1999999999"):
        run(lost, "account_meta_operator")
    lost.refresh_from_db()
    sandbox_account.refresh_from_db()
    assert lost.status == AdAccount.Status.NEEDS_REAUTH
    # the grant still works: the credential and its other account keep fetching
    assert Credential.objects.get(pk=sandbox_account.credential_id).status == Credential.Status.ACTIVE
    assert sandbox_account.status == AdAccount.Status.ACTIVE
    run(sandbox_account, "account_meta_operator")
