"""The one error taxonomy every connector raises and the scheduler acts on.

| error                 | what the scheduler does                                  |
|-----------------------|----------------------------------------------------------|
| TokenExpired          | refresh the credential, retry at once                    |
| AuthorizationRevoked  | mark the credential needs_reauth, pause, no retry        |
| RateLimited           | retry after `retry_after` seconds (the platform's hint)  |
| TransientError        | retry with exponential backoff                           |
| PermanentError        | fail, no retry                                           |
| MalformedResponse     | fail, no retry; message names platform, endpoint, field  |
| AuthorizationFailed   | an authorization attempt failed (bad state, access_denied,
|                       | wrong password): shown to the user, nothing stored       |

Messages never contain a token, secret or password.
"""

from __future__ import annotations

from typing import Any


class ConnectorError(Exception):
    retryable = False

    def __init__(self, message: str, *, platform: str = "", endpoint: str = "", account: str = ""):
        self.platform = platform
        self.endpoint = endpoint
        self.account = account
        where = " ".join(p for p in (platform and f"[{platform}]", endpoint, account and f"(account {account})") if p)
        super().__init__(f"{where}: {message}" if where else message)


class TokenExpired(ConnectorError):
    retryable = True


class AuthorizationRevoked(ConnectorError):
    """The grant is gone (revoked, invalid_grant, password changed): the user must re-authorize."""


class AccountAccessLost(AuthorizationRevoked):
    """The grant still works but no longer reaches this one account (access removed on the
    platform): only that account needs a grant that reaches it; the credential's other
    accounts keep fetching."""


class RateLimited(ConnectorError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class TransientError(ConnectorError):
    retryable = True


class PermanentError(ConnectorError):
    pass


class MalformedResponse(PermanentError):
    def __init__(self, message: str, *, field: str = "", **kwargs: Any) -> None:
        self.field = field
        super().__init__(f"malformed response{f' (field {field!r})' if field else ''}: {message}", **kwargs)


class AuthorizationFailed(ConnectorError):
    """An authorization attempt did not succeed; nothing may be stored."""
