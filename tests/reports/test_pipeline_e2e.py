"""End to end: a sandbox grant's DAGs, made from the sandbox's own templates, backfilled by
the engine; metadata lands in the DB, reports in ClickHouse, and the dashboard selectors
return exactly the sandbox's numbers, however often runs are repeated or cleared.

Transactional tests: tasks with a timeout run in their own thread with their own DB connection.
"""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Credential
from connectors.registry import platform_spec
from ingestion.models import Dag, DagRun, TaskInstance
from ingestion.services.backfill import dag_backfill
from ingestion.services.manager import dag_upsert
from ingestion.services.runs import task_instance_clear
from ingestion.services.templates import template_save
from reports.models import AdEntity
from reports.selectors import report_timeseries, report_top_entities, report_totals
from tests.ingestion.factories import ISSUE_EXAMPLE
from tests.reports.sandbox_numbers import core, sandbox_days, sandbox_totals

pytestmark = pytest.mark.django_db(transaction=True)

NY = ZoneInfo("America/New_York")
TEMPLATES = platform_spec("sandbox").templates_dir


def dag_for(account, name: str) -> Dag:
    spec = json.loads((TEMPLATES / f"{name}.json").read_text())
    template = template_save(platform="sandbox", name=name, spec=spec).template
    dag, _ = dag_upsert(template=template, ad_account=account)
    return dag


def fire(day, hour=2, minute=30) -> datetime:
    """The daily DAG's tick (02:30 New York) on local date `day`."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY)


def no_sleep(seconds):
    raise AssertionError(f"the backfill waited {seconds}s for a retry; no task should have been retried")


def test_backfill_fills_both_stores_with_the_sandbox_numbers_once(sandbox_account, sandbox_server, report_store):
    account = sandbox_account
    today = account.sandbox_now.astimezone(NY).date()

    meta = dag_for(account, "metadata")
    assert meta.timezone == "America/New_York" and meta.dag_id == f"{account.platform}_{account.external_id}_metadata"
    counts = dag_backfill(
        dag_id=meta.dag_id, start=account.sandbox_now - timedelta(hours=6), end=account.sandbox_now, sleep=no_sleep
    )
    assert counts["success"] == 1 and counts["failed"] == 0
    levels = dict.fromkeys(("account", "campaign", "ad_group", "ad", "creative"), 0)
    for level in AdEntity.objects.filter(ad_account=account).values_list("level", flat=True):
        levels[level] += 1
    assert levels == {"account": 1, "campaign": 1, "ad_group": 4, "ad": 20, "creative": 20}

    # Three daily runs: yesterday plus 3 look-back days each, so local days today-7 .. today-2.
    daily = dag_for(account, "daily_lookback")
    first_run, last_run = today - timedelta(days=4), today - timedelta(days=2)
    start, end = first_run - timedelta(days=4), last_run - timedelta(days=1)
    counts = dag_backfill(dag_id=daily.dag_id, start=fire(first_run), end=fire(last_run), sleep=no_sleep)
    assert counts == {"skipped": 0, "created": 3, "cleared": 0, "success": 3, "failed": 0}
    assert DagRun.objects.filter(dag=daily, state="success").count() == 3

    expected = {
        level: sandbox_days(account.external_id, level=level, start=start, end=end, now=account.sandbox_now)
        for level in ("ad", "campaign")
    }

    def check():
        for level, days in expected.items():
            series = report_timeseries(account_ids=[account.pk], start=start, end=end, level=level)
            assert [core(p) for p in series] == [core(days[d]) for d in sorted(days)], level
        totals = report_totals(
            account_ids=[account.organization.ad_accounts.get().pk], start=start, end=end, level="ad"
        )
        assert core(totals) == core(
            sandbox_totals(
                account.external_id, level="ad", granularity="day", start=start, end=end, now=account.sandbox_now
            )
        )
        final_rows = report_store.command(
            f"SELECT count() FROM report_rows FINAL WHERE account_id = {account.pk} AND level = 'ad'"
        )
        assert final_rows == 6 * 17  # six days of 17 delivering ads, each key once
        return totals

    totals = check()
    assert totals["impressions"] > 10_000 and totals["cost"] > 0
    top = report_top_entities(account_ids=[account.pk], start=start, end=end, level="ad", order_by="cost", n=3)
    assert all(t["name"].startswith("Ad ") and t["deleted"] is False for t in top)
    assert top[0]["cost"] >= top[1]["cost"] >= top[2]["cost"]

    # The same backfill again: every run already succeeded, nothing fetched or written.
    calls = sandbox_server.stats["api"]
    assert calls >= 5 + 3 * 2  # metadata (account + 4 levels), two report levels per run
    counts = dag_backfill(dag_id=daily.dag_id, start=fire(first_run), end=fire(last_run), sleep=no_sleep)
    assert counts == {"skipped": 3, "created": 0, "cleared": 0, "success": 0, "failed": 0}
    assert sandbox_server.stats["api"] == calls
    check()

    # Clearing a run's ad task (as an operator in the admin would) fetches and writes again:
    # newer versions of the same keys, the same totals.
    middle = DagRun.objects.get(dag=daily, logical_time=fire(first_run + timedelta(days=1)))
    task_instance_clear(task_instance_id=middle.task_instances.get(task_id="ad_daily_insight_task").pk)
    counts = dag_backfill(dag_id=daily.dag_id, start=fire(first_run), end=fire(last_run), sleep=no_sleep)
    assert counts["skipped"] == 2 and counts["success"] == 1
    # The newest version of the middle run's 4 days x 17 ads is now that second try's
    # (counting raw rows would race ClickHouse's background merges).
    rerun = f"{daily.dag_id}/{middle.pk}/ad_daily_insight_task/2"
    assert report_store.command(f"SELECT count() FROM report_rows FINAL WHERE run_id = '{rerun}'") == 4 * 17
    check()


def test_a_restated_day_is_corrected_by_the_next_daily_run(sandbox_account, sandbox_server, report_store):
    account = sandbox_account
    day_x = account.sandbox_now.astimezone(NY).date() - timedelta(days=4)
    restated = day_x - timedelta(days=1)
    daily = dag_for(account, "daily_lookback")

    # Run of day X, seen by the sandbox an hour after the tick: X-1's conversions are preliminary.
    then = fire(day_x) + timedelta(hours=1)
    sandbox_server.configure(now=then)
    assert dag_backfill(dag_id=daily.dag_id, start=fire(day_x), end=fire(day_x), sleep=no_sleep)["success"] == 1
    preliminary = sandbox_totals(
        account.external_id, level="ad", granularity="day", start=restated, end=restated, now=then
    )
    final = sandbox_totals(
        account.external_id, level="ad", granularity="day", start=restated, end=restated, now=then, restate_days=0
    )
    assert preliminary["conversions"] < final["conversions"] and preliminary["impressions"] == final["impressions"]

    def day_totals():
        return report_totals(account_ids=[account.pk], start=restated, end=restated, level="ad")

    assert core(day_totals()) == core(preliminary)

    # Three days later the platform has restated X-1; the run of X+3 looks back to it.
    later = fire(day_x + timedelta(days=3)) + timedelta(hours=1)
    sandbox_server.configure(now=later)
    assert (
        dag_backfill(
            dag_id=daily.dag_id,
            start=fire(day_x + timedelta(days=3)),
            end=fire(day_x + timedelta(days=3)),
            sleep=no_sleep,
        )["success"]
        == 1
    )
    assert core(day_totals()) == core(final)
    assert (
        report_store.command(
            f"SELECT count() FROM report_rows FINAL WHERE account_id = {account.pk} "
            f"AND level = 'ad' AND stat_date = '{restated}'"
        )
        == 17
    )


def test_a_malformed_response_fails_the_task_clearly_and_a_rerun_completes(
    sandbox_account, sandbox_server, report_store
):
    account = sandbox_account
    day = account.sandbox_now.astimezone(NY).date() - timedelta(days=2)
    daily = dag_for(account, "daily_lookback")
    sandbox_server.inject("malformed", path="/reports")
    counts = dag_backfill(dag_id=daily.dag_id, start=fire(day), end=fire(day), sleep=no_sleep)
    assert counts["failed"] == 1
    failed = TaskInstance.objects.get(run__dag=daily, state="failed")
    assert failed.try_number == 1  # a malformed answer is not retried: a retry would get it again
    assert failed.error.startswith(
        f"MalformedResponse: [sandbox] reports (account {account.external_id}): "
        "malformed response (field 'data.rows.0.show')"
    )
    assert TaskInstance.objects.filter(run__dag=daily, state="success").count() == 3  # start and the other levels

    counts = dag_backfill(dag_id=daily.dag_id, start=fire(day), end=fire(day), sleep=no_sleep)
    assert counts["cleared"] == 1 and counts["success"] == 1
    start, end = day - timedelta(days=4), day - timedelta(days=1)
    for level in ("ad", "campaign", "account"):
        totals = report_totals(account_ids=[account.pk], start=start, end=end, level=level)
        assert core(totals) == core(
            sandbox_totals(
                account.external_id, level=level, granularity="day", start=start, end=end, now=account.sandbox_now
            )
        )


def test_a_revoked_grant_fails_the_run_and_pauses_the_account(sandbox_account, sandbox_server):
    account = sandbox_account
    meta = dag_for(account, "metadata")
    sandbox_server.inject("revoked", path="/api/", times=10)
    counts = dag_backfill(
        dag_id=meta.dag_id, start=account.sandbox_now - timedelta(hours=6), end=account.sandbox_now, sleep=no_sleep
    )
    assert counts["failed"] == 1
    errors = list(TaskInstance.objects.filter(run__dag=meta, state="failed").values_list("error", flat=True))
    assert len(errors) == 2 and all(
        e.startswith("AuthorizationRevoked: [sandbox]") and "re-authorize" in e for e in errors
    )
    assert Credential.objects.get(pk=account.credential_id).status == Credential.Status.NEEDS_REAUTH
    assert Dag.objects.get(pk=meta.pk).account_paused is True
    assert not AdEntity.objects.filter(ad_account=account).exists()


def test_hourly_dag_keeps_today_and_yesterday_by_the_hour(sandbox_account, report_store):
    account = sandbox_account
    hourly = dag_for(account, "hourly_today")
    now = account.sandbox_now
    counts = dag_backfill(dag_id=hourly.dag_id, start=now - timedelta(hours=1), end=now, sleep=no_sleep)
    assert counts["success"] == 2 and counts["failed"] == 0
    assert TaskInstance.objects.filter(run__dag=hourly, state="success").count() == 2 * 4
    today = now.astimezone(NY).date()
    expected = sandbox_totals(
        account.external_id, level="ad", granularity="hour", start=today - timedelta(days=1), end=today, now=now
    )
    hours = report_timeseries(
        account_ids=[account.pk], start=today - timedelta(days=1), end=today, granularity="hour", level="ad"
    )
    # yesterday's hours and today's up to the sandbox's clock (24 + hour, but for DST days)
    assert len(hours) == expected["rows"] // 17 and 24 <= len(hours) <= 48
    totals = report_totals(
        account_ids=[account.pk], start=today - timedelta(days=1), end=today, granularity="hour", level="ad"
    )
    assert core(totals) == core(expected)
    assert AdEntity.objects.filter(ad_account=account, level="ad").count() == 20
    assert not AdEntity.objects.filter(ad_account=account, level="creative").exists()  # not in this DAG's levels


def test_the_users_example_template_runs_as_written(sandbox_account, report_store):
    account = sandbox_account
    template = template_save(platform="sandbox", name="users_example", spec=ISSUE_EXAMPLE).template
    dag, _ = dag_upsert(template=template, ad_account=account)
    counts = dag_backfill(dag_id=dag.dag_id, start=account.sandbox_now, end=account.sandbox_now, sleep=no_sleep)
    assert counts["success"] == 1, list(
        TaskInstance.objects.filter(run__dag=dag).values_list("task_id", "state", "error")
    )
    assert AdEntity.objects.filter(ad_account=account, level="creative").count() == 20  # every level below the account
    # insight without params: daily ad rows of yesterday and the platform's 3 look-back days
    today = account.sandbox_now.astimezone(NY).date()
    start, end = today - timedelta(days=4), today - timedelta(days=1)
    assert core(report_totals(account_ids=[account.pk], start=start, end=end, level="ad")) == core(
        sandbox_totals(
            account.external_id, level="ad", granularity="day", start=start, end=end, now=account.sandbox_now
        )
    )


def test_signed_in_imported_and_run_for_one_day_the_dashboard_shows_the_sandboxs_totals(sandbox_server, report_store):
    """The acceptance path through the accounts services: sign in (password variant of the
    sandbox), import the first discovered account (its DAGs are materialized from the default
    templates), run the daily DAG for one logical day, read the dashboard totals."""
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Organization
    from accounts.services.authorization import authorization_password, discovered_account_infos
    from accounts.services.importing import ad_accounts_import
    from ingestion.services.templates import templates_load_defaults

    now = datetime.now(ZoneInfo("UTC")).replace(minute=0, second=0, microsecond=0)
    sandbox_server.configure(now=now)
    templates_load_defaults(platform="sandbox_password")
    user = get_user_model().objects.create_user("owner", password="pw")
    organization = Organization.objects.create(name="Acceptance")
    Membership.objects.create(user=user, organization=organization, role=Membership.Role.OWNER)
    credential = authorization_password(
        platform="sandbox_password",
        organization=organization,
        user=user,
        username="user-1-2-20",
        password="sandbox-password",
    )
    [account] = ad_accounts_import(credential=credential, accounts=discovered_account_infos(credential)[:1])
    daily = Dag.objects.get(ad_account=account, dag_id=f"{account.platform}_{account.external_id}_daily_insights")
    tz = ZoneInfo(account.timezone)
    day = now.astimezone(tz).date() - timedelta(days=1)
    logical = datetime(day.year, day.month, day.day, 2, 30, tzinfo=tz)
    assert dag_backfill(dag_id=daily.dag_id, start=logical, end=logical, sleep=no_sleep)["success"] == 1

    yesterday = day - timedelta(days=1)  # the logical day's "yesterday", the dashboard's day
    dashboard = report_totals(
        account_ids=list(organization.ad_accounts.values_list("pk", flat=True)),
        start=yesterday,
        end=yesterday,
        level="campaign",
    )
    expected = sandbox_totals(
        account.external_id, level="campaign", granularity="day", start=yesterday, end=yesterday, now=now
    )
    assert core(dashboard) == core(expected) and expected["impressions"] > 0
