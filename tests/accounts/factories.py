"""factory-boy factories of the accounts models, plus a DAG template the engine can
materialize without the report operators (a dummy-only DAG)."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import AdAccount, Credential, Membership, Organization, PendingAuthorization, PlatformApp

DUMMY_TEMPLATE = {
    "dag_id": "${account_id}_accounts_test",
    "schedule_interval": "0 * * * *",
    "tasks": [{"task_id": "start", "is_dummy": True, "operator_name": "DummyOperator"}],
}


def dag_template(platform: str = "sandbox", name: str = "accounts_test"):
    from ingestion.services.templates import template_save

    return template_save(platform=platform, name=name, spec=DUMMY_TEMPLATE).template


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.ADMIN


class PlatformAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlatformApp

    platform = "sandbox"
    name = factory.Sequence(lambda n: f"app {n}")
    client_id = factory.Sequence(lambda n: f"test-app-{n}")
    # the sandbox accepts `<client_id>-secret`
    client_secret = factory.LazyAttribute(lambda a: f"{a.client_id}-secret")
    redirect_uri = "http://127.0.0.1/callback"
    extra = factory.LazyFunction(dict)
    endpoints = factory.LazyFunction(dict)


class CredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Credential

    organization = factory.SubFactory(OrganizationFactory)
    platform = "sandbox"
    app = None
    subject = factory.Sequence(lambda n: f"subject {n}")
    access_token = factory.Sequence(lambda n: f"access-token-{n}")
    refresh_token = factory.Sequence(lambda n: f"refresh-token-{n}")
    access_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=24))
    refresh_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    status = Credential.Status.ACTIVE

    @classmethod
    def from_token(cls, token, **kwargs) -> Credential:
        """A credential holding a real grant's TokenSet (e.g. from sandbox_server.authorize())."""
        credential = cls(access_token="", refresh_token="", access_expires_at=None, refresh_expires_at=None, **kwargs)
        credential.store(token)
        credential.save()
        return credential


class AdAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdAccount

    credential = factory.SubFactory(CredentialFactory)
    organization = factory.LazyAttribute(lambda a: a.credential.organization if a.credential else OrganizationFactory())
    platform = factory.LazyAttribute(lambda a: a.credential.platform if a.credential else "sandbox")
    external_id = factory.Sequence(lambda n: str(7000000 + n))
    name = factory.Sequence(lambda n: f"Advertiser {n}")
    currency = "CNY"
    timezone = "Asia/Shanghai"


class PendingAuthorizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PendingAuthorization

    state = factory.Sequence(lambda n: f"state-{n}")
    platform = "sandbox"
    data = factory.LazyFunction(lambda: {"code_verifier": "verifier-secret-value"})
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=10))
