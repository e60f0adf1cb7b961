"""The browser pages of authorization, driven by Django's test client against the sandbox
over HTTP: start -> platform -> callback -> picker -> import; bad states, denial and
wrong passwords store nothing; other organizations are out of reach."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import AdAccount, Credential, PendingAuthorization
from tests.accounts.authflow_helpers import OrganizationFactory, approve, deny, member
from tests.accounts.factories import dag_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory()


@pytest.fixture
def browser(client, org):
    user = member(org, "admin", is_staff=True)
    client.force_login(user)
    client.user = user
    return client


def _start(client, org, platform="sandbox", **params):
    response = client.get(reverse("accounts:authorize", args=[platform]), {"organization": org.pk, **params})
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def _callback(client, params, platform="sandbox"):
    return client.get(reverse("accounts:callback", args=[platform]), params)


def test_authorize_pick_and_import_two_of_three(sandbox_server, browser, org):
    from ingestion.models import Dag

    dag_template()
    url = _start(browser, org)
    assert url.startswith(sandbox_server.base + "/oauth/authorize?")
    params = approve(url, profile="3:3:5")

    picker = _callback(browser, params)
    credential = Credential.objects.get()
    assert picker.status_code == 302 and picker["Location"] == reverse("accounts:pick", args=[credential.pk])
    page = browser.get(picker["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "Sandbox advertiser 3-1" in html and "Sandbox advertiser 3-3" in html
    assert "3 ad accounts reachable" in html and "extends" not in html and 'id="user-tools"' in html  # admin look
    assert credential.token_set().access_token not in html

    ids = [a["external_id"] for a in credential.discovered_accounts]
    done = browser.post(picker["Location"], {"external_ids": ids[:2]})
    assert done.status_code == 302, done.content[:500]
    accounts = AdAccount.objects.order_by("external_id")
    assert [a.external_id for a in accounts] == sorted(ids[:2])
    assert {a.organization_id for a in accounts} == {org.pk} and {a.credential_id for a in accounts} == {credential.pk}
    assert Dag.objects.filter(ad_account__in=accounts).count() == 2

    # the picker marks what is already imported
    again = browser.get(reverse("accounts:pick", args=[credential.pk])).content.decode()
    assert again.count("already imported") == 2


def test_callback_with_bad_states_stores_nothing(sandbox_server, browser, org):
    from django.test import Client

    url = _start(browser, org)
    params = approve(url)
    # another browser (another session) of the same user cannot use the state
    other = Client()
    other.force_login(browser.user)
    replay = _callback(other, params)
    assert (
        replay.status_code == 400
        and b"issued to another session" in replay.content
        and b"Nothing was stored" in replay.content
    )
    # and the replay spent it
    used = _callback(browser, params)
    assert used.status_code == 400 and b"unknown or already used state" in used.content
    # a made-up state
    forged = _callback(browser, {**params, "state": "forged"})
    assert forged.status_code == 400 and b"unknown or already used state" in forged.content
    assert not Credential.objects.exists() and not AdAccount.objects.exists()


def test_expired_and_used_state(sandbox_server, browser, org):
    from datetime import timedelta

    from django.utils import timezone

    params = approve(_start(browser, org))
    PendingAuthorization.objects.update(expires_at=timezone.now() - timedelta(seconds=5))
    expired = _callback(browser, params)
    assert expired.status_code == 400 and b"the authorization request expired; start it again" in expired.content
    assert not Credential.objects.exists()

    params = approve(_start(browser, org))
    assert _callback(browser, params).status_code == 302
    used = _callback(browser, params)
    assert used.status_code == 400 and b"unknown or already used state" in used.content
    assert Credential.objects.count() == 1


def test_denial_stores_nothing(sandbox_server, browser, org):
    params = deny(_start(browser, org))
    response = _callback(browser, params)
    assert response.status_code == 400
    assert b"the platform refused the authorization: access_denied" in response.content
    assert not Credential.objects.exists() and not PendingAuthorization.objects.exists()


def test_password_form_and_wrong_password(sandbox_server, browser, org):
    path = reverse("accounts:authorize", args=["sandbox_password"])
    form = browser.get(path, {"organization": org.pk})
    assert form.status_code == 200 and b'name="password"' in form.content and b'type="password"' in form.content
    wrong = browser.post(path, {"organization": org.pk, "username": "demo", "password": "guess"})
    assert (
        wrong.status_code == 400 and b"wrong user name or password" in wrong.content and b"guess" not in wrong.content
    )
    assert not Credential.objects.exists()

    ok = browser.post(path, {"organization": org.pk, "username": "user-5-2-3", "password": "sandbox-password"})
    credential = Credential.objects.get()
    assert ok.status_code == 302 and ok["Location"] == reverse("accounts:pick", args=[credential.pk])
    assert credential.platform == "sandbox_password" and len(credential.discovered_accounts) == 2


def test_password_reauthorization_and_no_import_through_a_revoked_credential(sandbox_server, browser, org):
    path = reverse("accounts:authorize", args=["sandbox_password"])
    browser.post(path, {"organization": org.pk, "username": "user-5-2-3", "password": "sandbox-password"})
    credential = Credential.objects.get()
    Credential.objects.update(status="revoked", secrets={})
    ids = [a["external_id"] for a in credential.discovered_accounts]
    refused = browser.post(reverse("accounts:pick", args=[credential.pk]), {"external_ids": ids})
    assert refused.status_code == 400 and b"This credential is revoked; re-authorize it" in refused.content
    assert not AdAccount.objects.exists()

    form = browser.get(path, {"credential": credential.pk})
    assert form.status_code == 200 and f'name="credential" value="{credential.pk}"'.encode() in form.content
    again = browser.post(path, {"credential": credential.pk, "username": "user-5-2-3", "password": "sandbox-password"})
    assert again.status_code == 302 and Credential.objects.count() == 1
    credential.refresh_from_db()
    assert credential.status == "active" and credential.secrets["password"] == "sandbox-password"


def test_platform_without_an_app_says_what_to_do(browser, org):
    response = browser.get(reverse("accounts:authorize", args=["meta"]), {"organization": org.pk})
    assert response.status_code == 400
    assert b"no active platform app for &#x27;meta&#x27;; add one in the admin (Platform apps)" in response.content
    assert not PendingAuthorization.objects.exists()
    assert browser.get(reverse("accounts:authorize", args=["nowhere"]), {"organization": org.pk}).status_code == 404


def test_baidu_form_asks_for_the_developer_token(browser, org):
    page = browser.get(reverse("accounts:authorize", args=["baidu"]), {"organization": org.pk})
    assert page.status_code == 200 and b'name="developer_token"' in page.content


def test_baidu_app_that_picks_oauth2_redirects_to_baidu(browser, org):
    """The app's extra.auth picks Baidu's flow: oauth2 sends the user to u.baidu.com, not to the form."""
    from accounts.models import PlatformApp

    PlatformApp.objects.create(
        platform="baidu",
        name="oauth",
        client_id="bd-app-id",
        client_secret="bd-secret",
        extra={"auth": "oauth2", "scope": "100"},
    )
    url = _start(browser, org, platform="baidu")
    assert url.startswith("https://u.baidu.com/oauth/page/index?") and "appId=bd-app-id" in url
    assert PendingAuthorization.objects.count() == 1

    # Baidu calls back with authCode and userId (recorded answers: tests/connectors/recordings/baidu/oauth.json)
    import responses

    from tests.connectors.test_oceanengine import FakePlatform

    state = parse_qs(urlsplit(url).query)["state"][0]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakePlatform(mock, "baidu", "https://u.baidu.com")
        picker = _callback(browser, {"state": state, "authCode": "bd-auth-code", "userId": "39999999"}, "baidu")
    credential = Credential.objects.get()
    assert picker.status_code == 302 and picker["Location"] == reverse("accounts:pick", args=[credential.pk])
    assert [a["external_id"] for a in credential.discovered_accounts] == ["39999999", "30000002", "30000003"]
    token = credential.token_set()
    assert (token.access_token, token.refresh_token, token.secrets["open_id"]) == (
        "bd-access-1",
        "bd-refresh-1",
        "bd-open-1",
    )


def test_other_organizations_are_out_of_reach(sandbox_server, client, org):
    other = OrganizationFactory()
    outsider = member(other, "owner", is_staff=True)
    client.force_login(outsider)
    assert client.get(reverse("accounts:authorize", args=["sandbox"]), {"organization": org.pk}).status_code == 404

    # a credential of `org` can be neither re-authorized nor picked from by the outsider
    admin = member(org, "admin")
    client.force_login(admin)
    credential = Credential.objects.get(pk=_callback(client, approve(_start(client, org))).url.split("/")[-3])
    client.force_login(outsider)
    assert client.get(reverse("accounts:authorize", args=["sandbox"]), {"credential": credential.pk}).status_code == 404
    assert client.get(reverse("accounts:pick", args=[credential.pk])).status_code == 404
    ids = [a["external_id"] for a in credential.discovered_accounts]
    assert client.post(reverse("accounts:pick", args=[credential.pk]), {"external_ids": ids}).status_code == 404
    assert not AdAccount.objects.exists()

    # a plain member reads but may not authorize
    viewer = member(org, "viewer")
    client.force_login(viewer)
    assert client.get(reverse("accounts:authorize", args=["sandbox"]), {"organization": org.pk}).status_code == 403
    assert client.post(reverse("accounts:pick", args=[credential.pk]), {"external_ids": ids}).status_code == 403


def test_reauthorize_keeps_the_credential(sandbox_server, browser, org):
    dag_template()
    params = approve(_start(browser, org), profile="7:2:3")
    credential = Credential.objects.get(pk=_callback(browser, params).url.split("/")[-3])
    ids = [a["external_id"] for a in credential.discovered_accounts]
    browser.post(reverse("accounts:pick", args=[credential.pk]), {"external_ids": ids})
    Credential.objects.update(status="needs_reauth")
    AdAccount.objects.update(status="needs_reauth")

    url = _start(browser, org, credential=credential.pk)
    result = _callback(browser, approve(url, profile="7:2:3"))
    assert result.status_code == 302 and Credential.objects.count() == 1
    credential.refresh_from_db()
    assert credential.status == "active"
    assert set(AdAccount.objects.values_list("status", flat=True)) == {"active"}


def test_the_platform_returns_to_our_callback_page(sandbox_server, browser, org, settings):
    from urllib.parse import parse_qs

    settings.PUBLIC_URL = "https://ads.example.com"
    url = _start(browser, org)
    assert parse_qs(urlsplit(url).query)["redirect_uri"] == ["https://ads.example.com/accounts/callback/sandbox/"]
    response = requests_get_location(url)
    assert urlsplit(response).path == reverse("accounts:callback", args=["sandbox"])


def requests_get_location(url: str) -> str:
    import requests

    return requests.get(url + "&auto_approve=1", allow_redirects=False, timeout=10).headers["Location"]
