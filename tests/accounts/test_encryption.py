"""Secrets at rest and in the open: raw columns hold ciphertext only; repr, str, dumpdata
and log lines (even at DEBUG, during a real refresh) name no secret; key rotation."""

import io
import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts import crypto
from accounts.models import Credential, PendingAuthorization, PlatformApp
from accounts.services.tokens import credential_refresh
from connectors.errors import TransientError
from tests.accounts.factories import (
    CredentialFactory,
    PendingAuthorizationFactory,
    PlatformAppFactory,
)

pytestmark = pytest.mark.django_db

SECRETS = {
    "client_secret": "app-client-secret-XYZ",
    "developer_token": "developer-token-XYZ",
    "access": "access-token-XYZ",
    "refresh": "refresh-token-XYZ",
    "password": "password-XYZ",
}


def _raw(model, pk, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def stored():
    app = PlatformAppFactory(
        client_secret=SECRETS["client_secret"], extra={"developer_token": SECRETS["developer_token"]}
    )
    credential = CredentialFactory(
        app=app,
        access_token=SECRETS["access"],
        refresh_token=SECRETS["refresh"],
        secrets={"password": SECRETS["password"]},
    )
    pending = PendingAuthorizationFactory(data={"code_verifier": SECRETS["password"]})
    return app, credential, pending


def _columns(app, credential, pending):
    return [
        (PlatformApp, app.pk, "client_secret"),
        (PlatformApp, app.pk, "extra"),
        (Credential, credential.pk, "access_token"),
        (Credential, credential.pk, "refresh_token"),
        (Credential, credential.pk, "secrets"),
        (PendingAuthorization, pending.pk, "data"),
    ]


def test_raw_columns_hold_ciphertext_only(stored):
    for model, pk, column in _columns(*stored):
        raw = _raw(model, pk, column)
        assert raw.startswith("gAAAAA"), (model, column)  # a Fernet token
        assert not any(secret in raw for secret in SECRETS.values()), (model, column)
    app, credential, _pending = stored
    assert PlatformApp.objects.get(pk=app.pk).extra == {"developer_token": SECRETS["developer_token"]}
    fresh = Credential.objects.get(pk=credential.pk)
    assert (fresh.access_token, fresh.refresh_token, fresh.secrets) == (
        SECRETS["access"],
        SECRETS["refresh"],
        {"password": SECRETS["password"]},
    )


def test_repr_str_and_dumpdata_name_no_secret(stored):
    app, credential, pending = stored
    shown = " ".join(
        [
            repr(app),
            str(app),
            repr(credential),
            str(credential),
            repr(credential.token_set()),
            str(credential.token_set()),
            repr(pending),
            str(pending),
        ]
    )
    out = io.StringIO()
    call_command("dumpdata", "accounts", stdout=out)
    shown += out.getvalue()
    assert '"access_token": "***"' in out.getvalue()
    assert not any(secret in shown for secret in SECRETS.values())


def test_refresh_logs_no_secret_even_at_debug(sandbox_server, caplog):
    app = PlatformAppFactory()
    token = sandbox_server.authorize(sandbox_server.connector(client_id=app.client_id), profile="7:1:3")
    credential = CredentialFactory.from_token(token, app=app)
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=timezone.now() + timedelta(seconds=5))
    caplog.set_level(logging.DEBUG)
    fresh = credential_refresh(credential_id=credential.pk)
    sandbox_server.inject("500", times=10, path="/oauth/token")
    with pytest.raises(TransientError):
        credential_refresh(credential_id=credential.pk, force=True)
    secrets = [token.access_token, token.refresh_token, fresh.access_token, fresh.refresh_token, app.client_secret]
    assert "refreshed" in caplog.text and "refresh failed" in caplog.text
    leaked = [r.name for r in caplog.records if any(s in r.getMessage() for s in secrets)]
    assert not leaked, f"secrets in log records of {sorted(set(leaked))}"
    assert not any(s in Credential.objects.get(pk=credential.pk).last_error for s in secrets)


def test_rotate_credential_keys_reencrypts_under_the_newest_key(stored, settings):
    old_key = settings.CREDENTIALS_KEYS[0]
    new_key = Fernet.generate_key().decode()
    columns = _columns(*stored)
    before = {c: _raw(*c) for c in columns}

    settings.CREDENTIALS_KEYS = [new_key, old_key]
    crypto._fernet.cache_clear()
    try:
        out = io.StringIO()
        call_command("rotate_credential_keys", stdout=out)
        assert "Credential.access_token: 1 re-encrypted" in out.getvalue()
        assert "6 secrets re-encrypted under the newest key" in out.getvalue()
        assert not any(secret in out.getvalue() for secret in SECRETS.values())
        newest_only = Fernet(new_key.encode())
        for column in columns:
            raw = _raw(*column)
            assert raw != before[column]
            newest_only.decrypt(raw.encode())  # raises InvalidToken unless under the new key

        # the old key can go: everything still reads
        settings.CREDENTIALS_KEYS = [new_key]
        crypto._fernet.cache_clear()
        app, credential, pending = stored
        assert Credential.objects.get(pk=credential.pk).refresh_token == SECRETS["refresh"]
        assert PlatformApp.objects.get(pk=app.pk).client_secret == SECRETS["client_secret"]
        assert PendingAuthorization.objects.get(pk=pending.pk).data == {"code_verifier": SECRETS["password"]}
    finally:
        crypto._fernet.cache_clear()


def test_rotate_reports_secrets_no_key_can_read(stored, settings):
    from django.core.management.base import CommandError

    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]  # the key the rows were written with is gone
    crypto._fernet.cache_clear()
    try:
        with pytest.raises(
            CommandError, match=r"6 secrets cannot be decrypted .*Credential #\d+ access_token.*put the key"
        ):
            call_command("rotate_credential_keys", stdout=io.StringIO())
    finally:
        crypto._fernet.cache_clear()
