"""Talking to the Google Ads API over REST (https://googleads.googleapis.com/v{N}).

Every request carries `Authorization: Bearer <access token>`, `developer-token` (the app's, from
the manager account's API Center) and, when the customer is reached through a manager account,
`login-customer-id` (digits, no dashes).

GAQL through `POST /customers/{id}/googleAds:searchStream` with `{"query": "..."}`: the REST
answer is ONE JSON array of `SearchGoogleAdsStreamResponse` batches (`results`, `fieldMask`,
`requestId`, `queryResourceConsumption`; each batch up to 10,000 rows). We read it as a stream
and decode one batch at a time (`iter_array`), so a large report never sits in memory whole.
JSON follows the proto3 mapping: lowerCamelCase names, int64 as strings, zero values omitted.

Errors (google.rpc.Status with a GoogleAdsFailure in `details`, confirmed in the API reference):
`{"error": {"code": 401, "message": "...", "status": "UNAUTHENTICATED", "details": [{"@type":
"type.googleapis.com/google.ads.googleads.v{N}.errors.GoogleAdsFailure", "errors": [{"errorCode":
{"authenticationError": "OAUTH_TOKEN_EXPIRED"}, "message": "...", "details": {"quotaErrorDetails":
{"rateScope", "rateName", "retryDelay": "30s"}}}], "requestId": "..."}]}}`. A stream that fails
midway ends with such an object as an array element.

| status / errorCode                                               | our error            |
|------------------------------------------------------------------|----------------------|
| UNAUTHENTICATED; OAUTH_TOKEN_EXPIRED, OAUTH_TOKEN_INVALID, ...    | TokenExpired         |
| OAUTH_TOKEN_REVOKED, OAUTH_TOKEN_DISABLED, GOOGLE_ACCOUNT_DELETED | AuthorizationRevoked |
| USER_PERMISSION_DENIED, CUSTOMER_NOT_ENABLED, PERMISSION_DENIED   | AccountAccessLost (that customer only) |
| DEVELOPER_TOKEN_*, NOT_ADS_USER, MISSING_LOGIN_CUSTOMER_ID_HEADER | PermanentError       |

USER_PERMISSION_DENIED says this user no longer reaches this customer (through this manager);
CUSTOMER_NOT_ENABLED that the customer was cancelled, suspended or closed. Either concerns one
account: the grant's other customers keep fetching (google_ads/api AuthorizationError,
CustomerError enums in googleads/google-ads-python).
| RESOURCE_EXHAUSTED; quotaError RESOURCE_(TEMPORARILY_)EXHAUSTED   | RateLimited          |
|   (retryDelay from quotaErrorDetails)                            |                      |
| INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED; internalError          | TransientError       |
|   TRANSIENT_ERROR                                                |                      |
| INVALID_ARGUMENT (queryError ...), anything else                  | PermanentError       |
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import requests

from connectors.errors import (
    AccountAccessLost,
    AuthorizationRevoked,
    MalformedResponse,
    PermanentError,
    RateLimited,
    TokenExpired,
    TransientError,
)
from connectors.http import HttpClient, redact

PLATFORM = "google_ads"
# Overridable with the `api` endpoint. Google sunsets each version about a year after its
# release (v24 chosen from the reference pages we could read; bump as Google deprecates).
API_VERSION = "v24"
REVOKED_CODES = frozenset({"OAUTH_TOKEN_REVOKED", "OAUTH_TOKEN_DISABLED", "GOOGLE_ACCOUNT_DELETED"})
# One customer is out of reach (access removed, or the customer is not enabled): that account only.
ACCOUNT_LOST_CODES = frozenset({"USER_PERMISSION_DENIED", "CUSTOMER_NOT_ENABLED"})
SETUP_CODES = frozenset(
    {
        "DEVELOPER_TOKEN_NOT_APPROVED",
        "DEVELOPER_TOKEN_PROHIBITED",
        "DEVELOPER_TOKEN_INVALID",
        "DEVELOPER_TOKEN_NOT_ON_ALLOWLIST",
        "NOT_ADS_USER",
        "MISSING_LOGIN_CUSTOMER_ID_HEADER",
        "INVALID_LOGIN_CUSTOMER_ID_SERVING_CUSTOMER_ID_COMBINATION",
        "CUSTOMER_NOT_FOUND",
    }
)
TEMPORARY_RETRY = 30.0  # RESOURCE_TEMPORARILY_EXHAUSTED without a retryDelay
DAILY_RETRY = 3600.0  # the developer token's daily operations are spent; try again in an hour
CHUNK = 1 << 16


def _codes(error: dict) -> list[tuple[str, str, dict]]:
    """(error kind, code, failure entry) of every GoogleAdsError in a Status's details."""
    found = []
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        for entry in detail.get("errors") or []:
            if isinstance(entry, dict) and isinstance(entry.get("errorCode"), dict):
                for kind, code in entry["errorCode"].items():
                    found.append((kind, str(code), entry))
    return found


def parse_duration(value: Any) -> float | None:
    """A protobuf Duration in JSON ("30s", "1.5s") as seconds."""
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?s", value):
        return float(value[:-1])
    if isinstance(value, dict) and isinstance(value.get("seconds"), (int, str)):
        return float(value["seconds"])
    return None


def raise_for_status(body: Any, where: dict[str, str], *, http_status: int = 0) -> None:
    """Raise our error for a google.rpc.Status body (`{"error": {...}}`)."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return
    error = body["error"]
    status = str(error.get("status") or "")
    codes = _codes(error)
    names = {code for _, code, _ in codes}
    first = codes[0][2].get("message") if codes else ""
    text = redact(
        f"{status or http_status}{' ' + ', '.join(sorted(names)) if names else ''}: "
        f"{first or error.get('message') or ''}"
    )
    request_id = next(
        (d.get("requestId") for d in error.get("details") or [] if isinstance(d, dict) and d.get("requestId")), ""
    )
    if request_id:
        text += f" [request id {request_id}]"
    if names & REVOKED_CODES:
        raise AuthorizationRevoked(f"{text}; re-authorize the account", **where)
    if names & ACCOUNT_LOST_CODES:
        raise AccountAccessLost(
            f"{text}; the grant no longer reaches this customer (removed from the manager, or cancelled): "
            "re-authorize with a user who reaches it, or remove the account",
            **where,
        )
    if names & SETUP_CODES:
        raise PermanentError(
            f"{text}; check the developer token, login customer id and account in the platform app", **where
        )
    if status == "RESOURCE_EXHAUSTED" or http_status == 429 or any(kind == "quotaError" for kind, _, _ in codes):
        delay = None
        for _, _, entry in codes:
            details = entry.get("details") if isinstance(entry.get("details"), dict) else {}
            quota = details.get("quotaErrorDetails") if isinstance(details.get("quotaErrorDetails"), dict) else {}
            delay = parse_duration(quota.get("retryDelay")) if quota else delay
        if delay is None:
            delay = (
                DAILY_RETRY
                if "RESOURCE_EXHAUSTED" in names and "RESOURCE_TEMPORARILY_EXHAUSTED" not in names
                else TEMPORARY_RETRY
            )
        raise RateLimited(text, retry_after=delay, **where)
    if status == "UNAUTHENTICATED" or http_status == 401:
        raise TokenExpired(f"{text}; refresh the access token and retry", **where)
    if status == "PERMISSION_DENIED" or http_status == 403:
        raise AccountAccessLost(f"{text}; the grant no longer reaches this customer: re-authorize", **where)
    if (
        status in ("INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED")
        or "TRANSIENT_ERROR" in names
        or http_status >= 500
    ):
        raise TransientError(text, **where)
    raise PermanentError(text, **where)


def iter_array(response: requests.Response, where: dict[str, str]) -> Iterator[Any]:
    """The elements of a top-level JSON array read from a streamed response, one at a time:
    the buffer holds at most the element being decoded plus one chunk."""
    decoder = json.JSONDecoder()
    chunks = response.iter_content(chunk_size=CHUNK)
    state = {"buffer": "", "pending": b""}

    def more() -> bool:
        for chunk in chunks:
            if chunk:
                data = state["pending"] + chunk
                try:
                    text, state["pending"] = data.decode("utf-8"), b""
                except UnicodeDecodeError as exc:  # a chunk cut inside a character
                    text, state["pending"] = data[: exc.start].decode("utf-8"), data[exc.start :]
                state["buffer"] += text
                return True
        return False

    def next_char() -> str:
        """Drop leading whitespace and return the next character ('' at the end of the stream)."""
        while True:
            state["buffer"] = state["buffer"].lstrip(" \t\r\n")
            if state["buffer"]:
                return state["buffer"][0]
            if not more():
                return ""

    if next_char() != "[":
        raise MalformedResponse("expected a JSON array of result batches", field="<body>", **where)
    state["buffer"] = state["buffer"][1:]
    while True:
        char = next_char()
        if char == "]":
            return
        if char == ",":
            state["buffer"] = state["buffer"][1:]
            continue
        if char == "":
            raise MalformedResponse("the stream ended before the JSON array closed", field="<body>", **where)
        while True:
            try:
                item, end = decoder.raw_decode(state["buffer"])
                break
            except json.JSONDecodeError:
                # incomplete (or broken) element: read until the buffer doubles (so a large batch is
                # decoded a few times, not once per chunk); at the end of the stream it is broken
                target = 2 * len(state["buffer"])
                grew = False
                while len(state["buffer"]) < target and more():
                    grew = True
                if not grew:
                    raise MalformedResponse("a result batch is not valid JSON", field="<body>", **where) from None
        state["buffer"] = state["buffer"][end:]
        yield item


class GoogleAdsApi:
    def __init__(
        self, http: HttpClient, base: str, *, access_token: str, developer_token: str, login_customer_id: str = ""
    ):
        self.http = http
        self.base = base.rstrip("/")
        self.access_token = access_token
        self.developer_token = developer_token
        self.login_customer_id = login_customer_id

    def headers(self, login_customer_id: str | None = None) -> dict[str, str]:
        login = self.login_customer_id if login_customer_id is None else login_customer_id
        headers = {"Authorization": f"Bearer {self.access_token}", "developer-token": self.developer_token}
        if login:
            headers["login-customer-id"] = login.replace("-", "")
        return headers

    def _check_ready(self, where: dict) -> None:
        if not self.access_token:
            raise TokenExpired("no access token; refresh the credential", **where)
        if not self.developer_token:
            raise PermanentError("the platform app has no developer token (extra.developer_token)", **where)

    def list_accessible(self) -> list[str]:
        endpoint = "customers:listAccessibleCustomers"
        where = {"platform": PLATFORM, "endpoint": endpoint, "account": ""}
        self._check_ready(where)
        body = self.http.get_json(
            f"{self.base}/customers:listAccessibleCustomers", endpoint=endpoint, headers=self.headers("")
        )
        raise_for_status(body, where)
        names = body.get("resourceNames", []) if isinstance(body, dict) else None
        if not isinstance(names, list):
            raise MalformedResponse("resourceNames should be a list", field="resourceNames", **where)
        ids = []
        for n, name in enumerate(names):
            if not isinstance(name, str) or not re.fullmatch(r"customers/\d+", name):
                raise MalformedResponse(
                    f"resourceNames.{n} should be 'customers/<id>'", field=f"resourceNames.{n}", **where
                )
            ids.append(name.split("/", 1)[1])
        return ids

    def search_stream(
        self, customer_id: str, query: str, *, login_customer_id: str | None = None
    ) -> Iterator[tuple[str, dict]]:
        """(path, row) for every GoogleAdsRow of the query, batch by batch."""
        endpoint = "googleAds:searchStream"
        where = {"platform": PLATFORM, "endpoint": endpoint, "account": customer_id}
        self._check_ready(where)
        if not re.fullmatch(r"\d+", customer_id):
            raise PermanentError(f"customer id should be digits, got {customer_id[:20]!r}", **where)
        response = self.http.post(
            f"{self.base}/customers/{customer_id}/googleAds:searchStream",
            endpoint=endpoint,
            account=customer_id,
            json={"query": query},
            headers=self.headers(login_customer_id),
            stream=True,
        )
        try:
            for b, batch in enumerate(iter_array(response, where)):
                if not isinstance(batch, dict):
                    raise MalformedResponse(f"{b} should be a result batch object", field=f"{b}", **where)
                raise_for_status(batch, where, http_status=200)  # a stream can fail after its first batches
                results = batch.get("results", [])
                if not isinstance(results, list):
                    raise MalformedResponse(f"{b}.results should be a list", field=f"{b}.results", **where)
                for n, row in enumerate(results):
                    if not isinstance(row, dict):
                        raise MalformedResponse(
                            f"{b}.results.{n} should be an object", field=f"{b}.results.{n}", **where
                        )
                    yield f"{b}.results.{n}", row
                del batch, results  # one batch in memory
        finally:
            response.close()
