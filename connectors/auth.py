"""Authorization as a template method.

`AuthorizationFlow` owns the invariant steps: build the state (and a PKCE verifier
where the platform allows), store the pending authorization, receive the callback,
verify the state (known, single use, not expired, bound to the same session/user),
exchange the code, discover the reachable accounts, hand the result to be saved.
The connector supplies only the variable steps (`authorization_url`, `exchange_code`,
`login`, `list_accounts`); the caller (accounts/) supplies an `AuthorizationStore`
that keeps pending authorizations and saves credentials, so this module needs no
database of its own.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from connectors.base import AccountInfo, Connector, TokenSet
from connectors.errors import AuthorizationFailed, ConnectorError

STATE_TTL = timedelta(minutes=10)


class AuthorizationStore(Protocol):
    def save_pending(self, *, state: str, data: dict[str, Any], expires_at: datetime) -> None:
        """Keep a pending authorization under `state`."""

    def take_pending(self, *, state: str) -> tuple[dict[str, Any], datetime] | None:
        """Return and delete the pending authorization (single use); None if unknown or used."""

    def save_credential(self, *, token: TokenSet, accounts: list[AccountInfo], context: dict[str, Any]) -> Any:
        """Store the credential and the discovered accounts; return what the caller needs."""


@dataclass(frozen=True)
class AuthorizationStart:
    url: str
    state: str


@dataclass(frozen=True)
class AuthorizationResult:
    token: TokenSet
    accounts: list[AccountInfo]
    context: dict[str, Any] = field(default_factory=dict)
    saved: Any = None


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class AuthorizationFlow:
    def __init__(self, connector: Connector, store: AuthorizationStore, *, state_ttl: timedelta = STATE_TTL, now=None):
        self.connector = connector
        self.store = store
        self.state_ttl = state_ttl
        self._now = now or (lambda: datetime.now(UTC))

    @property
    def platform(self) -> str:
        return self.connector.spec.slug

    # --- redirect (OAuth2 authorization code) ---
    def start(self, *, redirect_uri: str, context: dict[str, Any]) -> AuthorizationStart:
        """Begin: returns the URL to send the user to. `context` (user, organization,
        session key, re-authorized credential...) comes back in `finish`."""
        state = secrets.token_urlsafe(32)
        verifier = challenge = None
        if self.connector.spec.supports_pkce:
            verifier, challenge = pkce_pair()
        url = self.connector.authorization_url(state=state, redirect_uri=redirect_uri, code_challenge=challenge)
        self.store.save_pending(
            state=state,
            data={
                "platform": self.platform,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "context": context,
            },
            expires_at=self._now() + self.state_ttl,
        )
        return AuthorizationStart(url=url, state=state)

    def finish(self, *, params: Mapping[str, str], expect: Mapping[str, Any] | None = None) -> AuthorizationResult:
        """Handle the callback's query parameters. `expect` are context values that must
        match what `start` stored (e.g. the session key), so a state cannot be replayed
        from another browser. Raises AuthorizationFailed; stores nothing on failure."""
        state = params.get("state") or ""
        if not state:
            raise AuthorizationFailed("the callback has no state parameter", platform=self.platform)
        pending = self.store.take_pending(state=state)
        if pending is None:
            raise AuthorizationFailed(
                "unknown or already used state; start the authorization again", platform=self.platform
            )
        data, expires_at = pending
        if data.get("platform") != self.platform:
            raise AuthorizationFailed("the state belongs to another platform's authorization", platform=self.platform)
        if expires_at <= self._now():
            raise AuthorizationFailed("the authorization request expired; start it again", platform=self.platform)
        for key, value in (expect or {}).items():
            if data["context"].get(key) != value:
                raise AuthorizationFailed(
                    "the state was issued to another session; start the authorization again", platform=self.platform
                )
        if params.get("error"):
            description = params.get("error_description") or ""
            raise AuthorizationFailed(
                f"the platform refused the authorization: {params['error']}"
                + (f" ({description})" if description else ""),
                platform=self.platform,
            )
        try:
            token = self.connector.exchange_callback(
                params=params, redirect_uri=data["redirect_uri"], code_verifier=data.get("code_verifier")
            )
        except AuthorizationFailed:
            raise
        except ConnectorError as exc:
            raise AuthorizationFailed(f"exchanging the code failed: {exc}", platform=self.platform) from exc
        return self._complete(token, data["context"])

    # --- password platforms: the same shape, a form instead of a redirect ---
    def finish_password(
        self, *, username: str, password: str, extra: dict[str, str] | None, context: dict[str, Any]
    ) -> AuthorizationResult:
        if not username or not password:
            raise AuthorizationFailed("user name and password are required", platform=self.platform)
        try:
            token = self.connector.login(username=username, password=password, extra=extra or {})
        except AuthorizationFailed:
            raise
        except ConnectorError as exc:
            raise AuthorizationFailed(f"signing in failed: {exc}", platform=self.platform) from exc
        return self._complete(token, context)

    def _complete(self, token: TokenSet, context: dict[str, Any]) -> AuthorizationResult:
        try:
            accounts = list(self.connector.list_accounts(token))
        except ConnectorError as exc:
            raise AuthorizationFailed(
                f"listing the ad accounts of the new authorization failed: {exc}", platform=self.platform
            ) from exc
        saved = self.store.save_credential(token=token, accounts=accounts, context=context)
        return AuthorizationResult(token=token, accounts=accounts, context=context, saved=saved)
