"""The access rule in the admin (issue 14, findings 1 and 3): the engine's pages are scoped
to the staff user's organizations, filters name only theirs, and actions and changes need
the owner or admin role of the object's organization (Django's model permissions on top)."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.models import AdAccount
from tests.web import factories

pytestmark = pytest.mark.django_db


def _staff(role: str, organization) -> Client:
    """A staff user holding every accounts and ingestion model permission, `role` in `organization`."""
    from accounts.models import Membership

    user = factories.user(staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["accounts", "ingestion"]))
    Membership.objects.create(user=user, organization=organization, role=role)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_orgs(db):
    mine = factories.organization(name="Mine Org")
    theirs = factories.organization(name="Theirs Org")
    account_mine = factories.ad_account(organization=mine, name="mine-account")
    account_theirs = factories.ad_account(organization=theirs, name="theirs-account")
    tpl = factories.template(name="scoping")
    dag_mine = factories.dag(account=account_mine, tpl=tpl)
    dag_theirs = factories.dag(account=account_theirs, tpl=tpl)
    run_mine, run_theirs = factories.run(dag=dag_mine), factories.run(dag=dag_theirs)
    return {
        "mine": mine,
        "theirs": theirs,
        "account_mine": account_mine,
        "account_theirs": account_theirs,
        "dag_mine": dag_mine,
        "dag_theirs": dag_theirs,
        "run_mine": run_mine,
        "run_theirs": run_theirs,
    }


@pytest.mark.parametrize("model", ["dag", "dagrun", "taskinstance"])
def test_engine_changelists_hold_only_my_organizations_objects(two_orgs, model):
    client = _staff("viewer", two_orgs["mine"])
    page = client.get(reverse(f"admin:ingestion_{model}_changelist"))
    assert page.status_code == 200
    html = page.content.decode()

    def pk(which):
        return {
            "dag": two_orgs[f"dag_{which}"].pk,
            "dagrun": two_orgs[f"run_{which}"].pk,
            "taskinstance": two_orgs[f"run_{which}"].task_instances.first().pk,
        }[model]

    assert reverse(f"admin:ingestion_{model}_change", args=[pk("mine")]) in html
    theirs = pk("theirs")
    assert reverse(f"admin:ingestion_{model}_change", args=[theirs]) not in html
    # Another organization's object is not there (the admin redirects with "does not exist").
    assert client.get(reverse(f"admin:ingestion_{model}_change", args=[theirs])).status_code == 302


def test_heartbeats_are_for_superusers(two_orgs):
    client = _staff("owner", two_orgs["mine"])
    assert client.get(reverse("admin:ingestion_schedulerheartbeat_changelist")).status_code == 403


@pytest.mark.parametrize("model", ["adaccount", "credential"])
def test_organization_filter_lists_only_my_organizations(two_orgs, model):
    from accounts.models import Credential

    for org in (two_orgs["mine"], two_orgs["theirs"]):
        Credential.objects.create(organization=org, platform="sandbox", subject=f"{org.name} grant")
    client = _staff("viewer", two_orgs["mine"])
    html = client.get(reverse(f"admin:accounts_{model}_changelist")).content.decode()
    assert "Mine Org" in html and "Theirs Org" not in html


@pytest.mark.parametrize(("role", "paused"), [("viewer", False), ("member", False), ("admin", True), ("owner", True)])
def test_admin_actions_need_a_manager_role(two_orgs, role, paused):
    client = _staff(role, two_orgs["mine"])
    account = two_orgs["account_mine"]
    response = client.post(
        reverse("admin:accounts_adaccount_changelist"),
        {"action": "pause_accounts", "_selected_action": [account.pk]},
        follow=True,
    )
    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.status == AdAccount.Status.PAUSED) is paused
    if not paused:
        assert "only their organization&#x27;s owners and admins may do that" in response.content.decode()


def test_viewer_cannot_change_an_object_in_the_admin(two_orgs):
    viewer = _staff("viewer", two_orgs["mine"])
    url = reverse("admin:accounts_organization_change", args=[two_orgs["mine"].pk])
    page = viewer.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # read-only view
    assert viewer.post(url, {"name": "renamed"}).status_code == 403
    owner = _staff("owner", two_orgs["mine"])
    assert 'name="_save"' in owner.get(url).content.decode()
