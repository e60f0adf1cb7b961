"""Authorizing through the admin: the changelists' "Authorize ... account" links lead
through the sandbox (over HTTP) to the picker; the Re-authorize action renews a credential
in place; another organization's credential is not offered."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AdAccount, Credential
from tests.accounts.authflow_helpers import OrganizationFactory, admin_owner, approve, member
from tests.accounts.factories import CredentialFactory, dag_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory()


@pytest.fixture
def staff(client, org):
    user = admin_owner(org)
    client.force_login(user)
    return client


def _link(html: str, platform: str) -> str:
    marker = f'data-platform="{platform}"'
    tag_start = html.rindex("<a ", 0, html.index(marker))
    href = html[tag_start:].split('href="', 1)[1].split('"', 1)[0]
    return href


@pytest.mark.parametrize("changelist", ["admin:accounts_adaccount_changelist", "admin:accounts_credential_changelist"])
def test_changelists_link_every_platform(staff, changelist):
    html = staff.get(reverse(changelist)).content.decode()
    for platform in ("sandbox", "sandbox_password", "meta", "google_ads", "tiktok", "oceanengine", "kuaishou", "baidu"):
        assert _link(html, platform) == f"/accounts/authorize/{platform}/"
    assert "Authorize Sandbox (simulated ad platform) account" in html


def test_authorize_from_the_admin_and_import_two_of_three(sandbox_server, staff, org):
    from ingestion.models import Dag

    dag_template()
    html = staff.get(reverse("admin:accounts_adaccount_changelist")).content.decode()
    start = staff.get(_link(html, "sandbox"))  # the owner manages one organization: straight to the platform
    assert start.status_code == 302 and start["Location"].startswith(sandbox_server.base)
    params = approve(start["Location"], profile="9:3:4")
    picker = staff.get(reverse("accounts:callback", args=["sandbox"]), params, follow=True)
    assert picker.status_code == 200 and picker.content.decode().count('name="external_ids"') == 3
    credential = Credential.objects.get()
    ids = [a["external_id"] for a in credential.discovered_accounts]

    done = staff.post(reverse("accounts:pick", args=[credential.pk]), {"external_ids": [ids[0], ids[2]]})
    assert done.status_code == 302 and done["Location"] == reverse("admin:accounts_adaccount_changelist")
    listing = staff.get(done["Location"]).content.decode()
    assert "Imported 2 Sandbox (simulated ad platform) ad accounts" in listing
    assert sorted(AdAccount.objects.values_list("external_id", flat=True)) == sorted([ids[0], ids[2]])
    assert Dag.objects.count() == 2


def test_organization_chooser_when_managing_several(client, org):
    user = member(org, "admin", is_staff=True)
    second = OrganizationFactory(name="Zeta")
    from accounts.models import Membership

    Membership.objects.create(user=user, organization=second, role="owner")
    member(OrganizationFactory(name="Not mine"), "owner")
    client.force_login(user)
    page = client.get(reverse("accounts:authorize", args=["sandbox"])).content.decode()
    assert f'<option value="{org.pk}">' in page and f'<option value="{second.pk}">' in page and "Not mine" not in page


def test_reauthorize_action(sandbox_server, staff, org):
    params = approve(staff.get(reverse("accounts:authorize", args=["sandbox"]))["Location"])
    staff.get(reverse("accounts:callback", args=["sandbox"]), params)
    credential = Credential.objects.get()
    Credential.objects.update(status="needs_reauth")
    changelist = reverse("admin:accounts_credential_changelist")
    assert "Re-authorize the selected credential" in staff.get(changelist).content.decode()

    answer = staff.post(changelist, {"action": "reauthorize", "_selected_action": [credential.pk]})
    assert (
        answer.status_code == 302 and answer["Location"] == f"/accounts/authorize/sandbox/?credential={credential.pk}"
    )
    to_platform = staff.get(answer["Location"])
    assert to_platform.status_code == 302
    back = staff.get(reverse("accounts:callback", args=["sandbox"]), approve(to_platform["Location"]))
    assert back.status_code == 302
    credential.refresh_from_db()
    assert credential.status == "active" and Credential.objects.count() == 1

    two = CredentialFactory(organization=org)
    several = staff.post(
        changelist, {"action": "reauthorize", "_selected_action": [credential.pk, two.pk]}, follow=True
    )
    assert "Re-authorize one credential at a time" in several.content.decode()


def test_another_organizations_credential_is_not_offered(staff):
    foreign = CredentialFactory(organization=OrganizationFactory())
    changelist = reverse("admin:accounts_credential_changelist")
    answer = staff.post(changelist, {"action": "reauthorize", "_selected_action": [foreign.pk]})
    # the admin's queryset is scoped: nothing selected, no redirect to the platform
    assert "/accounts/authorize/" not in answer.get("Location", "")
    assert staff.get(f"/accounts/authorize/sandbox/?credential={foreign.pk}").status_code == 404
