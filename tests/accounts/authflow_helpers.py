"""Builders and sandbox drivers shared by the authorization and accounts-API tests."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import factory
import requests
from django.contrib.auth import get_user_model

from accounts.models import Membership, Organization


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Authflow org {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    password = "!"  # unusable: tests sign in with force_login (no slow hashing)


def member(organization, role="admin", **user_fields):
    user = UserFactory(**user_fields)
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def admin_owner(organization):
    """An owner of `organization` who may use the admin's account and credential pages."""
    from django.contrib.auth.models import Permission

    user = member(organization, "owner", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", codename__in=["view_adaccount", "view_credential", "change_credential"]
        )
    )
    return user


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") != "submit":
            self.fields[a["name"]] = a.get("value", "")


def approve(url: str, profile: str = "1:3:5") -> dict:
    """What the platform sends back to the redirect URI when the user approves (over HTTP)."""
    response = requests.get(f"{url}&auto_approve=1&profile={profile}", allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:300]
    return callback_params(response.headers["Location"])


def deny(url: str) -> dict:
    """The consent page answered with Deny (a real form post to the sandbox)."""
    session = requests.Session()
    page = session.get(url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    form = _Inputs()
    form.feed(page.text)
    answer = session.post(
        url.split("?")[0], data={**form.fields, "decision": "deny"}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text[:300]
    return callback_params(answer.headers["Location"])


def callback_params(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
