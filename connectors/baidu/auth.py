"""Baidu sign-in: no redirect. Every request carries the account's user name and password and
the developer's token (开发者 token, from the Baidu developer console) in its header; agencies
and account managers (账户管家/MCC) sign in with their own account and name the managed
account in `target`. Signing in = one AccountService/getAccountInfo call that must succeed.

The password is kept (encrypted, by accounts/) in the TokenSet's secrets because every request
needs it; nothing expires, so "refresh" signs in again and a changed password surfaces as
AuthorizationRevoked (ask the user for the new one).
"""

from __future__ import annotations

from connectors.base import AppConfig, TokenSet
from connectors.errors import AuthorizationFailed, AuthorizationRevoked, MalformedResponse, PermanentError, TokenExpired

SECRET_KEYS = ("username", "password", "token")


def developer_token(app: AppConfig, extra: dict | None = None) -> str:
    """The developer token: typed at sign-in, else the platform app's `extra.developer_token`."""
    return str(
        (extra or {}).get("token") or (extra or {}).get("developer_token") or app.extra.get("developer_token") or ""
    )


def header(token: TokenSet, *, target: str | None = None) -> dict:
    secrets = token.secrets or {}
    missing = [k for k in SECRET_KEYS if not secrets.get(k)]
    if missing:
        raise AuthorizationRevoked(f"the stored sign-in lacks {', '.join(missing)}; sign in again", platform="baidu")
    result = {"username": secrets["username"], "password": secrets["password"], "token": secrets["token"]}
    if target:
        result["target"] = target
    return result


def oauth_header(token: TokenSet, user_name: str) -> dict:
    """The header of an OAuth2 grant (model/request.go: `userName`, `accessToken`)."""
    if not token.access_token:
        raise TokenExpired("no access token is stored; refresh the credential", platform="baidu")
    return {"userName": user_name, "accessToken": token.access_token}


def validate_form(username: str, password: str, token: str) -> None:
    for name, value in (("username", username), ("password", password), ("developer token", token)):
        if not value or not value.strip():
            raise AuthorizationFailed(f"{name} is required", platform="baidu", endpoint="sign-in")
    if len(username) > 100:
        raise AuthorizationFailed("username is longer than 100 characters", platform="baidu", endpoint="sign-in")


def as_failed(exc: Exception) -> AuthorizationFailed | None:
    """During sign-in, a refused password is a failed attempt, not a revoked grant."""
    if isinstance(exc, (AuthorizationRevoked, PermanentError)) and not isinstance(exc, MalformedResponse):
        return AuthorizationFailed(
            str(exc).split(": ", 1)[-1], platform="baidu", endpoint="AccountService/getAccountInfo"
        )
    return None
