"""OAuth2 variable steps on requests-oauthlib, for connectors to call.

A platform connector's `authorization_url`, `exchange_code`, `refresh` and `revoke`
are usually one call each here, with the platform's URLs and quirks:

    def exchange_code(self, *, code, redirect_uri, code_verifier=None):
        return oauth2.exchange_code(self.http, self.app, token_url=self.endpoints["token"],
                                    code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)

Quirky token endpoints (a token wrapped in `{"code": 0, "data": {...}}`, expiry named
`expires` instead of `expires_in`) pass `response_hooks`: requests-oauthlib compliance
hooks that take the `requests.Response` and return a fixed one before oauthlib parses it.

Errors come back in our taxonomy: `invalid_grant` on a refresh is AuthorizationRevoked
(the user must authorize again), on a code exchange AuthorizationFailed; 429 is
RateLimited; 5xx, timeouts and `temporarily_unavailable` are TransientError.
requests-oauthlib logs tokens and request bodies at DEBUG level; those records are
dropped here so a verbose log configuration cannot leak them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from connectors.base import AppConfig, TokenSet
from connectors.errors import (
    AuthorizationFailed,
    AuthorizationRevoked,
    ConnectorError,
    MalformedResponse,
    PermanentError,
    RateLimited,
    TransientError,
)
from connectors.http import HttpClient, error_detail, parse_retry_after

ResponseHook = Callable[[requests.Response], requests.Response]

# Keys of a token response that are secrets: kept out of TokenSet.raw.
SECRET_KEYS = frozenset({"access_token", "refresh_token", "id_token"})


class _DropDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


for _name in ("requests_oauthlib", "requests_oauthlib.oauth2_session", "oauthlib"):
    logging.getLogger(_name).addFilter(_DropDebug())


_insecure_lock = threading.Lock()


@contextlib.contextmanager
def _transport(url: str):
    """oauthlib refuses http:// URLs. Allow them only for loopback hosts and our own
    PUBLIC_URL (the built-in sandbox in a plain-HTTP demo); everything else must be HTTPS."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not _trusted_http(url, parts.hostname or ""):
        yield
        return
    with _insecure_lock:
        before = os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
            else:
                os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = before


def _trusted_http(url: str, host: str) -> bool:
    if host == "localhost":
        return True
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    try:
        from django.conf import settings

        public = getattr(settings, "PUBLIC_URL", "") if settings.configured else ""
    except ImportError:
        public = ""
    return bool(public) and url.startswith(public.rstrip("/") + "/")


def authorization_url(
    app: AppConfig,
    *,
    authorize_url: str,
    state: str,
    redirect_uri: str,
    scopes: Iterable[str] = (),
    code_challenge: str | None = None,
    extra_params: dict[str, str] | None = None,
) -> str:
    """The URL to send the user to: client id, redirect URI, scopes, state and (when
    given) the PKCE S256 challenge made by `connectors.auth.pkce_pair`."""
    session = OAuth2Session(app.client_id, redirect_uri=redirect_uri, scope=list(scopes) or None, state=state)
    params = dict(extra_params or {})
    if code_challenge:
        params.update(code_challenge=code_challenge, code_challenge_method="S256")
    with _transport(authorize_url):
        url, _ = session.authorization_url(authorize_url, **params)
    return url


def exchange_code(
    http: HttpClient,
    app: AppConfig,
    *,
    token_url: str,
    code: str,
    redirect_uri: str,
    code_verifier: str | None = None,
    client_auth: str = "body",
    response_hooks: Iterable[ResponseHook] = (),
    extra: dict[str, Any] | None = None,
) -> TokenSet:
    """authorization_code grant. `client_auth`: "body" (client_id/secret as form fields)
    or "basic" (HTTP Basic, RFC 6749's preference)."""
    session = _session(
        http,
        app,
        redirect_uri=redirect_uri,
        endpoint="token (authorization_code)",
        hooks=("access_token_response", response_hooks),
    )
    kwargs: dict[str, Any] = dict(extra or {})
    if code_verifier:
        kwargs["code_verifier"] = code_verifier
    token = _call(
        http,
        token_url,
        "token (authorization_code)",
        revoked_error=AuthorizationFailed,
        call=lambda: session.fetch_token(
            token_url,
            code=code,
            timeout=http.timeout,
            **_client_auth(app, client_auth),
            **kwargs,
        ),
    )
    return token_set(token)


def refresh_token(
    http: HttpClient,
    app: AppConfig,
    *,
    token_url: str,
    refresh_token: str,
    client_auth: str = "body",
    response_hooks: Iterable[ResponseHook] = (),
    extra: dict[str, Any] | None = None,
) -> TokenSet:
    """refresh_token grant. If the platform does not rotate, the old refresh token is kept
    (requests-oauthlib fills it in), as is the old refresh expiry (the caller merges)."""
    if not refresh_token:
        raise AuthorizationRevoked("no refresh token is stored; re-authorize the account", platform=http.platform)
    session = _session(
        http,
        app,
        redirect_uri=app.redirect_uri,
        endpoint="token (refresh_token)",
        hooks=("refresh_token_response", response_hooks),
    )
    auth = _client_auth(app, client_auth)
    kwargs: dict[str, Any] = dict(extra or {})
    if "auth" not in auth:  # body auth: refresh_token() sends extra kwargs as form fields
        kwargs.update(client_id=app.client_id, client_secret=app.client_secret)
    token = _call(
        http,
        token_url,
        "token (refresh_token)",
        revoked_error=AuthorizationRevoked,
        call=lambda: session.refresh_token(
            token_url, refresh_token=refresh_token, timeout=http.timeout, auth=auth.get("auth"), **kwargs
        ),
    )
    return token_set(token)


def revoke_token(
    http: HttpClient,
    app: AppConfig,
    *,
    revoke_url: str,
    token: str,
    token_type_hint: str = "refresh_token",  # noqa: S107 (RFC 7009 hint)
) -> None:
    """RFC 7009 revocation. An unknown token counts as revoked (the RFC says 200 for it)."""
    if not token:
        return
    http.post(
        revoke_url,
        endpoint="revoke",
        data={
            "token": token,
            "token_type_hint": token_type_hint,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )


def token_set(token: dict[str, Any], *, now: datetime | None = None) -> TokenSet:
    """A TokenSet from an RFC 6749 token response (plus the common `refresh_expires_in`)."""
    now = now or datetime.now(UTC)
    expires_at = _expiry(token.get("expires_at"), token.get("expires_in"), now)
    refresh_expires_at = _expiry(None, token.get("refresh_expires_in") or token.get("refresh_token_expires_in"), now)
    scope = token.get("scope") or ()
    scopes = tuple(scope.split() if isinstance(scope, str) else scope)
    accounts = token.get("advertiser_ids") or token.get("account_ids") or ()
    return TokenSet(
        access_token=token.get("access_token") or "",
        refresh_token=token.get("refresh_token") or "",
        expires_at=expires_at,
        refresh_expires_at=refresh_expires_at,
        scopes=scopes,
        account_ids=tuple(str(a) for a in accounts),
        raw={k: v for k, v in token.items() if k not in SECRET_KEYS},
    )


def _expiry(expires_at: Any, expires_in: Any, now: datetime) -> datetime | None:
    # requests-oauthlib computes expires_at from its own clock; prefer expires_in from `now`.
    if expires_in not in (None, ""):
        try:
            return now + timedelta(seconds=float(expires_in))
        except (TypeError, ValueError):
            raise MalformedResponse(
                f"expires_in should be a number of seconds, got {expires_in!r}", field="expires_in"
            ) from None
    if expires_at not in (None, ""):
        return datetime.fromtimestamp(float(expires_at), UTC)
    return None


def _client_auth(app: AppConfig, mode: str) -> dict[str, Any]:
    if mode == "basic":
        return {"auth": requests.auth.HTTPBasicAuth(app.client_id, app.client_secret)}
    if mode == "body":
        return {"include_client_id": True, "client_secret": app.client_secret}
    raise ValueError(f"client_auth must be 'body' or 'basic', got {mode!r}")


def _session(
    http: HttpClient, app: AppConfig, *, redirect_uri: str, endpoint: str, hooks: tuple[str, Iterable[ResponseHook]]
) -> OAuth2Session:
    session = OAuth2Session(app.client_id, redirect_uri=redirect_uri or None)
    session.headers.update({k: v for k, v in http.session.headers.items() if k.lower() == "user-agent"})
    hook_name, extra_hooks = hooks
    # Transport errors first (so a 503 HTML page is a TransientError, not a parse error),
    # then the platform's fixes of its non-standard body.
    session.register_compliance_hook(hook_name, _status_hook(http, endpoint))
    for hook in extra_hooks:
        session.register_compliance_hook(hook_name, hook)
    return session


def _status_hook(http: HttpClient, endpoint: str) -> ResponseHook:
    def check(response: requests.Response) -> requests.Response:
        status = response.status_code
        where = {"platform": http.platform, "endpoint": endpoint}
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after and http.rate:
                http.limiter.pause(http.bucket, retry_after)
            raise RateLimited(
                f"HTTP 429 on the token endpoint{error_detail(response)}", retry_after=retry_after, **where
            )
        if status >= 500 or status in (408, 425):
            raise TransientError(f"HTTP {status} on the token endpoint{error_detail(response)}", **where)
        return response  # 2xx and OAuth errors (400/401 with a JSON `error`) go to oauthlib

    return check


def _call(
    http: HttpClient, token_url: str, endpoint: str, *, revoked_error: type[ConnectorError], call: Callable[[], dict]
) -> dict:
    http.throttle()
    where = {"platform": http.platform, "endpoint": endpoint}
    try:
        with _transport(token_url):
            return call()
    except ConnectorError:
        raise
    except OAuth2Error as exc:
        description = f" ({exc.description})" if exc.description else ""
        if exc.error == "invalid_grant":
            raise revoked_error(
                f"invalid_grant{description}: the grant is expired, revoked or already used; authorize again", **where
            ) from None
        if exc.error in ("temporarily_unavailable", "server_error", "slow_down"):
            raise TransientError(f"{exc.error}{description}", **where) from None
        if exc.error in ("invalid_client", "unauthorized_client"):
            raise PermanentError(
                f"{exc.error}{description}: check the platform app's client id and secret", **where
            ) from None
        if exc.error == "access_denied":
            raise revoked_error(f"access_denied{description}", **where) from None
        if exc.error in ("invalid_request", "invalid_scope", "unsupported_grant_type"):
            raise PermanentError(f"{exc.error}{description}", **where) from None
        raise MalformedResponse(
            f"the token response is not a usable OAuth2 token: {exc.error}{description}", field="access_token", **where
        ) from None
    except requests.Timeout:
        raise TransientError("the token endpoint timed out", **where) from None
    except requests.RequestException as exc:
        raise TransientError(f"the token endpoint is unreachable ({type(exc).__name__})", **where) from None
    except ValueError as exc:  # oauthlib on a body it cannot parse at all
        raise MalformedResponse(
            f"the token response could not be parsed ({type(exc).__name__})", field="<body>", **where
        ) from None
