"""Fixtures of the web tests: two organizations with one member each, and their DAGs."""

import pytest
from rest_framework.test import APIClient

from tests.web import factories


@pytest.fixture
def alice(db):
    return factories.user()


@pytest.fixture
def bob(db):
    return factories.user()


@pytest.fixture
def org_a(alice):
    return factories.organization(name="Org A", members=[alice])


@pytest.fixture
def org_b(bob):
    return factories.organization(name="Org B", members=[bob])


@pytest.fixture
def account_a(org_a):
    return factories.ad_account(organization=org_a, name="Alpha")


@pytest.fixture
def account_b(org_b):
    return factories.ad_account(organization=org_b, name="Bravo")


@pytest.fixture
def tpl(db):
    return factories.template(name="today")


@pytest.fixture
def dag_a(account_a, tpl):
    return factories.dag(account=account_a, tpl=tpl)


@pytest.fixture
def dag_b(account_b, tpl):
    return factories.dag(account=account_b, tpl=tpl)


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def api_bob(bob):
    client = APIClient()
    client.force_authenticate(bob)
    return client


@pytest.fixture
def report_store(db):
    from django.core.cache import cache

    from reports.clickhouse.client import clickhouse_client

    client = clickhouse_client()
    client.command("TRUNCATE TABLE report_rows")
    cache.clear()  # cached dashboards of an earlier test's rows
    yield client
    client.command("TRUNCATE TABLE report_rows")
    cache.clear()
