"""Server-rendered pages: login required, scoped objects, buttons that call the engine."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from connectors.base import ReportRow
from ingestion.models import DagRun, TaskInstance
from reports.store import report_rows_write
from tests.web import factories


@pytest.fixture
def browser(alice):
    client = Client()
    client.force_login(alice)
    return client


def test_pages_need_login(db):
    for path in ["/", "/accounts/", "/dags/"]:
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_page_logs_in(alice):
    client = Client()
    assert b"Log in" in client.get("/login/").content
    response = client.post("/login/", {"username": alice.username, "password": "pw"})
    assert response.status_code == 302 and response["Location"] == "/"
    bad = Client().post("/login/", {"username": alice.username, "password": "wrong"})
    assert bad.status_code == 200 and b"did not match" in bad.content


def test_dashboard_shows_kpis_and_top_entities(browser, report_store, account_a, account_b):
    row = ReportRow(
        level="campaign",
        granularity="day",
        entity_id="c1",
        stat_time=datetime(2024, 3, 8, tzinfo=ZoneInfo("UTC")),
        impressions=12345,
        clicks=67,
        cost=Decimal("89.10"),
        conversions=3,
        currency="USD",
        extra={},
    )
    report_rows_write(account=account_a, rows=[row], run_id="t")
    report_rows_write(account=account_b, rows=[row], run_id="t")
    response = browser.get("/?start=2024-03-08&end=2024-03-14&level=campaign")
    html = response.content.decode()
    assert response.status_code == 200
    assert "12,345" in html and "24,690" not in html  # only org A's account
    assert "89.10" in html and 'id="timeseries"' in html and "echarts.min.js" in html
    csv = browser.get("/dashboard.csv?start=2024-03-08&end=2024-03-14&level=campaign").content.decode()
    assert csv.splitlines()[0].startswith("platform,account_id,account,entity_id,name,impressions,clicks,cost,currency")
    assert csv.splitlines()[1].startswith(f"sandbox,{account_a.pk},{account_a.name},c1,,12345,67,89.10,USD")


def test_dashboard_bad_filter_is_shown(browser, db):
    response = browser.get("/?start=2024-03-10&end=2024-03-01")
    assert response.status_code == 400 and b"before it starts" in response.content
    ancient = browser.get("/?end=0750-12-20")
    assert ancient.status_code == 400 and b"expected a date from 1990-01-01 to 2099-12-31" in ancient.content


def test_accounts_page_lists_my_accounts(browser, account_a, account_b):
    html = browser.get("/accounts/").content.decode()
    assert "Alpha" in html and "Bravo" not in html


def _credentialed(account, **fields):
    from accounts.models import Credential

    credential = Credential.objects.create(
        organization=account.organization, platform=account.platform, subject="ann@example.com", **fields
    )
    account.credential = credential
    account.save(update_fields=["credential"])
    return credential


def _row(html: str, account) -> str:
    start = html.index(f'data-account="{account.pk}"')
    return html[start : html.index("</tr>", start)]


def test_accounts_page_shows_expiry_last_fetch_and_the_authflow_links(browser, account_a, org_a, dag_a):
    from django.utils import timezone

    credential = _credentialed(account_a, access_expires_at=datetime(2031, 5, 6, 7, 8, tzinfo=ZoneInfo("UTC")))
    run = factories.run(dag=dag_a)
    DagRun.objects.filter(pk=run.pk).update(
        state="success", ended_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=ZoneInfo("UTC"))
    )
    failed = factories.run(dag=dag_a, logical_time=datetime(2024, 3, 9, tzinfo=ZoneInfo("UTC")))
    DagRun.objects.filter(pk=failed.pk).update(state="failed", ended_at=timezone.now())
    html = browser.get("/accounts/").content.decode()
    row = _row(html, account_a)
    assert "2031-05-06 07:08" in row and "2030-01-02 03:04:05" in row
    assert f'href="/accounts/authorize/sandbox/?organization={org_a.pk}&amp;credential={credential.pk}"' in row
    assert f'data-url="/api/v1/credentials/{credential.pk}/revoke/"' in row
    # alice manages exactly one organization: "Authorize" goes straight to it
    assert f'href="/accounts/authorize/sandbox/?organization={org_a.pk}"' in html
    assert 'data-platform="meta"' in html


def test_accounts_page_status_prefers_a_broken_grant_and_hides_buttons_from_members(account_a, org_a):
    from accounts.models import Membership

    _credentialed(account_a, status="needs_reauth")
    member = factories.user()
    Membership.objects.create(user=member, organization=org_a, role="member")
    client = Client()
    client.force_login(member)
    html = client.get("/accounts/").content.decode()
    row = _row(html, account_a)
    assert 'data-field="status">needs_reauth<' in row
    assert "Re-authorize" not in row and "Revoke" not in row and "Authorize an account" not in html


def test_revoke_button_target_revokes_the_credential_with_the_page_session(alice, account_a, dag_a):
    from accounts.models import Credential

    credential = _credentialed(account_a, access_token="t0k3n")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/accounts/")  # sets the CSRF cookie like the page does for its script
    token = client.cookies["csrftoken"].value
    response = client.post(f"/api/v1/credentials/{credential.pk}/revoke/", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    credential.refresh_from_db()
    assert credential.status == Credential.Status.REVOKED
    html = client.get("/accounts/").content.decode()
    assert "revoked" in _row(html, account_a) and 'data-action="revoke"' not in _row(html, account_a)


def test_dag_pages_and_buttons(browser, dag_a, dag_b):
    listing = browser.get("/dags/").content.decode()
    assert dag_a.dag_id in listing and dag_b.dag_id not in listing
    assert browser.get(f"/dags/{dag_b.pk}/").status_code == 404
    page = browser.get(f"/dags/{dag_a.pk}/").content.decode()
    assert 'id="dag-graph"' in page and "ad_daily_insight_task" in page
    response = browser.post(f"/dags/{dag_a.pk}/trigger/")
    run = DagRun.objects.get(dag=dag_a)
    assert response.status_code == 302 and response["Location"] == f"/dags/{dag_a.pk}/?run={run.pk}"
    page = browser.get(response["Location"]).content.decode()
    assert 'id="gantt"' in page and f"run-{run.pk}" in page
    browser.post(f"/dags/{dag_a.pk}/pause/")
    dag_a.refresh_from_db()
    assert dag_a.is_paused
    browser.post(f"/dags/{dag_a.pk}/resume/")
    dag_a.refresh_from_db()
    assert not dag_a.is_paused
    assert browser.post(f"/dags/{dag_b.pk}/trigger/").status_code == 404
    assert not DagRun.objects.filter(dag=dag_b).exists()
    assert browser.get(f"/dags/{dag_a.pk}/trigger/").status_code == 405


def test_dag_page_retry_and_clear_buttons_call_the_engine(browser, dag_a):
    run = factories.run(dag=dag_a)
    tis = {ti.task_id: ti for ti in run.task_instances.all()}
    TaskInstance.objects.filter(pk=tis["ad_meta_task"].pk).update(state="failed", try_number=1, max_tries=1)
    TaskInstance.objects.filter(pk=tis["ad_daily_insight_task"].pk).update(state="upstream_failed")
    page = browser.get(f"/dags/{dag_a.pk}/?run={run.pk}").content.decode()
    assert page.count(">Retry</button>") == 1 and f"/task-instances/{tis['ad_meta_task'].pk}/retry/" in page
    assert page.count(">Clear</button>") == 3  # the finished ones: dummy (success), failed, upstream_failed
    response = browser.post(f"/task-instances/{tis['ad_meta_task'].pk}/retry/", follow=True)
    assert "Queued a retry of ad_meta_task." in response.content.decode()
    assert TaskInstance.objects.get(pk=tis["ad_meta_task"].pk).state == "scheduled"
    refused = browser.post(f"/task-instances/{tis['ad_meta_task'].pk}/clear/", follow=True).content.decode()
    assert "task ad_meta_task is scheduled; only finished tasks can be cleared" in refused
    page = browser.get(f"/dags/{dag_a.pk}/?run={run.pk}").content.decode()
    assert f"/task-instances/{tis['ad_meta_task'].pk}/mark-success/" in page
    marked = browser.post(f"/task-instances/{tis['ad_meta_task'].pk}/mark-success/", follow=True).content.decode()
    assert "Marked success: ad_meta_task." in marked
    assert TaskInstance.objects.get(pk=tis["ad_meta_task"].pk).state == "success"
    assert f"/task-instances/{tis['ad_meta_task'].pk}/mark-success/" not in marked  # no button for what it is


def test_task_log_page_and_download(browser, dag_a, dag_b):
    ti = factories.run(dag=dag_a).task_instances.get(task_id="ad_meta_task")
    TaskInstance.objects.filter(pk=ti.pk).update(try_number=2)
    factories.log(task_instance=ti, try_number=1, chunks=["first try\n"], final=True)
    factories.log(task_instance=ti, try_number=2, chunks=["second try\n"], final=True)
    page = browser.get(f"/task-instances/{ti.pk}/log/").content.decode()
    assert f"/api/v1/logs/{ti.pk}/?try_number=2" in page and "try 1" in page
    download = browser.get(f"/task-instances/{ti.pk}/log/1/download/")
    assert download.content == b"first try\n" and "attachment" in download["Content-Disposition"]
    assert browser.get(f"/task-instances/{ti.pk}/log/3/").status_code == 404
    theirs = factories.run(dag=dag_b).task_instances.first()
    assert browser.get(f"/task-instances/{theirs.pk}/log/").status_code == 404


def test_api_docs_and_schema_are_served_locally(browser):
    docs = browser.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "/static/drf_spectacular_sidecar/" in docs
    schema = browser.get("/api/schema/?format=json").json()
    for path in [
        "/api/v1/dags/",
        "/api/v1/fetch/",
        "/api/v1/logs/{id}/",
        "/api/v1/reports/dashboard/",
        "/api/v1/dag-templates/",
    ]:
        assert path in schema["paths"], path


def test_dag_pages_warn_when_no_scheduler_is_alive(browser, dag_a):
    from django.utils import timezone

    from ingestion.scheduler.heartbeat import heartbeat_beat

    for path in ("/dags/", f"/dags/{dag_a.pk}/"):
        page = browser.get(path).content.decode()
        assert 'id="scheduler-down"' in page and "no heartbeat ever" in page
    heartbeat_beat(name="host:1:scheduler", started_at=timezone.now(), dags=1)
    for path in ("/dags/", f"/dags/{dag_a.pk}/"):
        assert 'id="scheduler-down"' not in browser.get(path).content.decode()
