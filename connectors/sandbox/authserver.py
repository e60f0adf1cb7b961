"""The sandbox's OAuth2 authorization server logic (the HTTP side is in views.py).

Codes and tokens are signed (Django's signing, keyed by SECRET_KEY) and carry what they
grant: client, profile (which advertisers), grant id, kind, expiry and, for refresh
tokens, a generation. The store records only single-use facts: a code was redeemed, a
refresh generation was spent, a grant was revoked. Rotation: each refresh spends its
generation and issues the next; presenting a spent one is `invalid_grant` and, as
RFC 9700 advises for detected replay, revokes the whole grant.

Clients: any client id is registered; its secret is `<client_id>-secret` (documented,
so a demo app can be created without a console). PKCE S256 is verified when the
authorization request carried a challenge.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core import signing

from connectors.sandbox.state import sandbox
from connectors.sandbox.world import MAX_ACCOUNTS, Profile

SALT = "adplatform.sandbox.oauth"
PASSWORD = "sandbox-password"  # noqa: S105 (the simulated platform's published demo password)


class OAuthError(Exception):
    """An RFC 6749 error response: `error` code, description, HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def client_secret_for(client_id: str) -> str:
    return f"{client_id}-secret"


def check_client(client_id: str, client_secret: str) -> None:
    if not client_id:
        raise OAuthError("invalid_client", "client_id is required", 401)
    if not hmac.compare_digest(client_secret or "", client_secret_for(client_id)):
        raise OAuthError(
            "invalid_client", "client authentication failed (the sandbox secret is '<client_id>-secret')", 401
        )


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


def _sign(kind: str, payload: dict) -> str:
    return f"sbx_{kind}." + signing.dumps(payload, salt=f"{SALT}.{kind}", compress=True)


def _unsign(kind: str, token: str) -> dict | None:
    prefix = f"sbx_{kind}."
    if not token or not token.startswith(prefix):
        return None
    try:
        return signing.loads(token[len(prefix) :], salt=f"{SALT}.{kind}")
    except signing.BadSignature:
        return None


def issue_code(
    *, client_id: str, redirect_uri: str, profile: Profile, scope: str, code_challenge: str | None, method: str | None
) -> str:
    if code_challenge and (method or "plain") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    now = sandbox.now()
    return _sign(
        "code",
        {
            "cid": client_id,
            "ruri": redirect_uri,
            "prof": str(profile),
            "scope": scope,
            "chal": code_challenge or "",
            "jti": secrets.token_hex(8),
            "exp": _ts(now + sandbox.settings.code_lifetime),
        },
    )


def exchange_code(*, client_id: str, code: str, redirect_uri: str, code_verifier: str | None) -> dict:
    data = _unsign("code", code)
    if data is None:
        raise OAuthError("invalid_grant", "unknown authorization code")
    if data["cid"] != client_id:
        raise OAuthError("invalid_grant", "the code was issued to another client")
    if data["ruri"] != (redirect_uri or ""):
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
    if data["exp"] <= _ts(sandbox.now()):
        raise OAuthError("invalid_grant", "the authorization code expired")
    if data["chal"]:
        if not code_verifier:
            raise OAuthError("invalid_grant", "code_verifier is required (PKCE)")
        digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
        if not hmac.compare_digest(digest, data["chal"]):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    if not sandbox.store.add(f"code:{data['jti']}", sandbox.settings.code_lifetime.total_seconds() + 60):
        raise OAuthError("invalid_grant", "the authorization code was already used")
    sandbox.count("token_authorization_code")
    return _tokens(
        client_id=client_id, grant=secrets.token_hex(12), profile=data["prof"], scope=data["scope"], generation=0
    )


def password_grant(*, client_id: str, username: str, password: str, scope: str) -> dict:
    """The password-auth variant: user `demo` (profile 1:3:20) or `user-SEED-ACCOUNTS-ADS`."""
    if not hmac.compare_digest(password or "", PASSWORD):
        raise OAuthError("invalid_grant", "wrong user name or password")
    if username == "demo":
        profile = Profile()
    elif username.startswith("user-"):
        try:
            profile = Profile.parse(username[5:].replace("-", ":"))
        except ValueError as exc:
            raise OAuthError("invalid_grant", f"unknown user: {exc}") from None
    else:
        raise OAuthError("invalid_grant", "wrong user name or password")
    sandbox.count("token_password")
    return _tokens(client_id=client_id, grant=secrets.token_hex(12), profile=str(profile), scope=scope, generation=0)


def refresh(*, client_id: str, refresh_token: str) -> dict:
    data = _unsign("rt", refresh_token)
    if data is None:
        raise OAuthError("invalid_grant", "unknown refresh token")
    if data["cid"] != client_id:
        raise OAuthError("invalid_grant", "the refresh token was issued to another client")
    if data["exp"] <= _ts(sandbox.now()):
        raise OAuthError("invalid_grant", "the refresh token expired")
    if is_revoked(data["g"]):
        raise OAuthError("invalid_grant", "the grant was revoked")
    lifetime = sandbox.settings.refresh_lifetime.total_seconds() + 60
    if not sandbox.store.add(f"rt:{data['g']}:{data['gen']}", lifetime):
        revoke_grant(data["g"])
        raise OAuthError("invalid_grant", "the refresh token was already used (rotated); the grant is revoked")
    sandbox.count("token_refresh")
    return _tokens(
        client_id=client_id, grant=data["g"], profile=data["prof"], scope=data["scope"], generation=data["gen"] + 1
    )


def _tokens(*, client_id: str, grant: str, profile: str, scope: str, generation: int) -> dict:
    s = sandbox.settings
    now = sandbox.now()
    access_exp = now + s.access_lifetime
    refresh_exp = now + s.refresh_lifetime
    common = {"cid": client_id, "g": grant, "prof": profile, "scope": scope}
    return {
        "access_token": _sign("at", {**common, "exp": _ts(access_exp), "n": secrets.token_hex(4)}),
        "refresh_token": _sign("rt", {**common, "gen": generation, "exp": _ts(refresh_exp)}),
        "token_type": "Bearer",
        "expires_in": int(s.access_lifetime.total_seconds()),
        "refresh_expires_in": int(s.refresh_lifetime.total_seconds()),
        "scope": scope,
    }


def issue_grant(*, client_id: str, profile: Profile, scope: str = "reports") -> dict:
    """A new grant's token response without the redirect (the demo bootstrap, which runs
    before the platform serves /sandbox/)."""
    sandbox.count("token_issued_directly")
    return _tokens(client_id=client_id, grant=secrets.token_hex(12), profile=str(profile), scope=scope, generation=0)


def revoke_grant(grant: str) -> None:
    sandbox.store.add(f"revoked:{grant}", sandbox.settings.refresh_lifetime.total_seconds() + 60)


def is_revoked(grant: str) -> bool:
    return sandbox.store.exists(f"revoked:{grant}")


def revoke(*, client_id: str, token: str) -> None:
    """RFC 7009: revoking either token ends the grant; unknown tokens are fine (200)."""
    data = _unsign("rt", token) or _unsign("at", token)
    if data is not None and data["cid"] == client_id:
        revoke_grant(data["g"])
        sandbox.count("token_revoke")


@dataclass(frozen=True)
class Access:
    client_id: str
    grant: str
    profile: Profile
    expires_at: datetime
    # advertisers taken out of the grant since it was issued (SandboxState.remove_account)
    removed: frozenset[str] = frozenset()

    def reaches(self, adv_id: str) -> bool:
        return self.profile.reaches(adv_id) and adv_id not in self.removed


class TokenProblem(Exception):
    """An API request's token is unusable: `kind` is token_expired, token_revoked or invalid_token."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def authenticate(access_token: str) -> Access:
    data = _unsign("at", access_token)
    if data is None:
        raise TokenProblem("invalid_token", "the access token is unknown or malformed")
    if is_revoked(data["g"]):
        raise TokenProblem("token_revoked", "the authorization was revoked; authorize again")
    expires_at = datetime.fromtimestamp(data["exp"], UTC)
    if expires_at <= sandbox.now():
        raise TokenProblem("token_expired", "the access token expired; refresh it")
    profile = Profile.parse(data["prof"])
    added = sandbox.added_accounts(data["g"])
    if added:
        # the advertisers added to the grant since it was issued come after the profile's own
        profile = dataclasses.replace(profile, accounts=min(MAX_ACCOUNTS, profile.accounts + added))
    return Access(data["cid"], data["g"], profile, expires_at, sandbox.removed_accounts(data["g"]))


def grant_of(token: str) -> str | None:
    """The grant an access or refresh token belongs to (None if it is not one of ours)."""
    data = _unsign("at", token) or _unsign("rt", token)
    return data["g"] if data is not None else None
