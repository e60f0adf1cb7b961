"""POST /api/v1/fetch/: a manual run of the account's DAGs, rate-limited per organization."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from ingestion.models import DagRun
from tests.web import factories


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_fetch_now_returns_the_run_to_poll(api, dag_a):
    response = api.post("/api/v1/fetch/", {"ad_account": dag_a.ad_account_id}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    run = DagRun.objects.get(pk=body["run_id"])
    assert run.dag_id == dag_a.pk and body["dags"] == [dag_a.dag_id]
    assert api.get(f"/api/v1/runs/{body['run_id']}/").status_code == 200


def test_fetch_a_date_range_with_granularity(api, dag_a):
    response = api.post(
        "/api/v1/fetch/",
        {"ad_account": dag_a.ad_account_id, "granularity": "day", "start": "2024-03-01", "end": "2024-03-02"},
        format="json",
    )
    assert response.status_code == 201
    runs = DagRun.objects.filter(pk__in=response.json()["run_ids"], run_type="backfill").order_by("logical_time")
    # data day D is fetched by the run of logical day D + 1 (its window set to D alone when
    # its operators take one: tests/reports/test_fetch_range.py runs them against the sandbox)
    assert [r.logical_time.date().isoformat() for r in runs] == ["2024-03-02", "2024-03-03"]
    assert response.json()["run_id"] == runs[0].pk and response.json()["dags"] == [dag_a.dag_id]


def test_fetch_of_more_days_than_allowed_is_400_and_creates_nothing(api, dag_a):
    response = api.post(
        "/api/v1/fetch/", {"ad_account": dag_a.ad_account_id, "start": "2024-01-01", "end": "2024-06-01"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["end"] == ["fetch at most 92 days at once (asked 153); use `dags backfill`"]
    assert not DagRun.objects.exists()


def test_fetch_with_no_matching_dag_is_400(api, dag_a):
    response = api.post("/api/v1/fetch/", {"ad_account": dag_a.ad_account_id, "granularity": "hour"}, format="json")
    assert response.status_code == 400 and "no DAG" in response.json()["ad_account"][0]
    assert not DagRun.objects.exists()


def test_fetch_validation(api, dag_a):
    response = api.post(
        "/api/v1/fetch/", {"ad_account": dag_a.ad_account_id, "start": "2024-03-02", "end": "2024-03-01"}, format="json"
    )
    assert response.status_code == 400 and "before it starts" in response.json()["end"][0]
    assert api.post("/api/v1/fetch/", {}, format="json").json()["ad_account"] == ["This field is required."]


def test_fetch_for_another_organizations_account_is_404(api, dag_b):
    assert api.post("/api/v1/fetch/", {"ad_account": dag_b.ad_account_id}, format="json").status_code == 404
    assert not DagRun.objects.exists()


@override_settings(FETCH_RATE="2/min")
def test_rate_limited_per_organization(api, alice, dag_a, account_a, api_bob, dag_b):
    # A second member of org A shares org A's budget; org B has its own.
    carol = factories.user()
    from rest_framework.test import APIClient

    from accounts.models import Membership

    Membership.objects.create(user=carol, organization=account_a.organization, role="admin")
    api_carol = APIClient()
    api_carol.force_authenticate(carol)
    assert api.post("/api/v1/fetch/", {"ad_account": account_a.pk}, format="json").status_code == 201
    assert api_carol.post("/api/v1/fetch/", {"ad_account": account_a.pk}, format="json").status_code == 201
    limited = api_carol.post("/api/v1/fetch/", {"ad_account": account_a.pk}, format="json")
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert api_bob.post("/api/v1/fetch/", {"ad_account": dag_b.ad_account_id}, format="json").status_code == 201


def test_fetch_filters_by_what_the_tasks_really_fetch(api, account_a):
    """The issue's example template names no granularity: its insight task fetches days (the
    operator's default), so a daily fetch finds it; no task of it fetches the account level
    (the dummy task fetches nothing)."""
    from ingestion.services.manager import dag_upsert
    from ingestion.services.templates import template_save
    from tests.ingestion.factories import ISSUE_EXAMPLE

    template = template_save(platform="sandbox", name="issue_example", spec=ISSUE_EXAMPLE).template
    dag, _ = dag_upsert(template=template, ad_account=account_a)

    daily = api.post("/api/v1/fetch/", {"ad_account": account_a.pk, "granularity": "day"}, format="json")
    assert daily.status_code == 201, daily.json()
    assert daily.json()["dags"] == [dag.dag_id]
    account_level = api.post("/api/v1/fetch/", {"ad_account": account_a.pk, "level": "account"}, format="json")
    assert account_level.status_code == 400 and "no DAG" in account_level.json()["ad_account"][0]
