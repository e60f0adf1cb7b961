"""HTTP side of the sandbox: the OAuth2 endpoints and the marketing API.

URLs (under /sandbox/, see urls.py):
  GET/POST oauth/authorize     consent page (approve/deny); `auto_approve=1` skips it (tests)
  POST     oauth/token         authorization_code, refresh_token and password grants
  POST     oauth/revoke        RFC 7009
  GET      api/v1/advertisers                          advertisers of the grant (cursor paging)
  GET      api/v1/advertisers/<id>                     one advertiser
  GET      api/v1/advertisers/<id>/<campaigns|adgroups|ads|creatives>   cursor paging
  GET      api/v1/advertisers/<id>/reports             level, granularity, start_date, end_date, page, page_size
API requests authenticate with `Authorization: Bearer <token>`. Errors are
`{"error": {"code", "type", "message"}}` with a real HTTP status: 400 invalid_parameter
(the message names the parameter), 401 token_expired | token_revoked | invalid_token,
403 no_permission, 404 not_found, 429 rate_limited (+ Retry-After), 500/503.
Each report request's first page counts the days it asks for in the stats
(`report_day:<level>:<granularity>:<YYYY-MM-DD>`), so tests can see what a fetch requested.
Authenticated answers carry X-RateLimit-Limit / -Remaining / -Reset (seconds until the next
slot when none remain), which clients use to slow down before they hit a 429.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import time
from datetime import date, timedelta
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.utils.html import format_html, format_html_join
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from connectors.sandbox import authserver
from connectors.sandbox.authserver import OAuthError, TokenProblem
from connectors.sandbox.state import sandbox
from connectors.sandbox.world import (
    EXTRA_METRICS,
    Advertiser,
    Profile,
    UnknownAdvertiser,
    advertiser_id,
    deleted_ads,
    metrics,
    slots,
)

LEVEL_PATHS = {"campaigns": "campaign", "adgroups": "adgroup", "ads": "ad", "creatives": "creative"}
PARENT_FIELD = {"campaign": "advertiser_id", "adgroup": "campaign_id", "ad": "adgroup_id", "creative": "ad_id"}
MAX_HOURLY_DAYS = 62
MAX_DAILY_DAYS = 3 * 366


# --- OAuth2 ------------------------------------------------------------------------------------


def _oauth_error(exc: OAuthError) -> JsonResponse:
    return JsonResponse({"error": exc.error, "error_description": exc.description}, status=exc.status)


def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return client_id, secret
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "malformed Basic authorization header", 401) from None
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    fault = _fault_response(request)
    if fault is not None:
        return fault
    try:
        client_id, secret = _client_credentials(request)
        authserver.check_client(client_id, secret)
        grant_type = request.POST.get("grant_type", "")
        if grant_type == "authorization_code":
            body = authserver.exchange_code(
                client_id=client_id,
                code=request.POST.get("code", ""),
                redirect_uri=request.POST.get("redirect_uri", ""),
                code_verifier=request.POST.get("code_verifier"),
            )
        elif grant_type == "refresh_token":
            body = authserver.refresh(client_id=client_id, refresh_token=request.POST.get("refresh_token", ""))
        elif grant_type == "password":
            body = authserver.password_grant(
                client_id=client_id,
                username=request.POST.get("username", ""),
                password=request.POST.get("password", ""),
                scope=request.POST.get("scope", "reports"),
            )
        else:
            raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
    except OAuthError as exc:
        return _oauth_error(exc)
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    try:
        client_id, secret = _client_credentials(request)
        authserver.check_client(client_id, secret)
    except OAuthError as exc:
        return _oauth_error(exc)
    authserver.revoke(client_id=client_id, token=request.POST.get("token", ""))
    return HttpResponse(status=200)


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    params = request.GET if request.method == "GET" else request.POST
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    # Without a valid client and redirect URI there is nowhere safe to send an error to.
    parts = urlsplit(redirect_uri)
    if not client_id or parts.scheme not in ("http", "https") or not parts.netloc:
        return HttpResponse(
            "Invalid authorization request: client_id and an absolute http(s) redirect_uri are required.",
            status=400,
            content_type="text/plain",
        )
    state = params.get("state", "")

    def back(**answer) -> HttpResponseRedirect:
        sep = "&" if parts.query else "?"
        return HttpResponseRedirect(redirect_uri + sep + urlencode({**answer, **({"state": state} if state else {})}))

    if params.get("response_type") != "code":
        return back(error="unsupported_response_type", error_description="only response_type=code is supported")
    if request.method == "POST" and params.get("decision") == "deny":
        return back(error="access_denied", error_description="the user denied the authorization")
    try:
        profile = Profile.parse(
            params.get("profile") or f"{params.get('seed', 1)}:{params.get('accounts', 3)}:{params.get('ads', 20)}"
        )
    except ValueError as exc:
        if request.method == "GET" and not params.get("auto_approve"):
            return HttpResponse(f"Invalid sandbox profile: {exc}", status=400, content_type="text/plain")
        return back(error="invalid_request", error_description=str(exc))
    approve = (request.method == "POST" and params.get("decision") == "approve") or params.get("auto_approve") == "1"
    if not approve:
        return _consent_page(request, profile)
    try:
        code = authserver.issue_code(
            client_id=client_id,
            redirect_uri=redirect_uri,
            profile=profile,
            scope=params.get("scope", "reports"),
            code_challenge=params.get("code_challenge"),
            method=params.get("code_challenge_method"),
        )
    except OAuthError as exc:
        return back(error=exc.error, error_description=exc.description)
    return back(code=code)


_FORWARDED = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method")


def _consent_page(request: HttpRequest, profile: Profile) -> HttpResponse:
    params = request.GET if request.method == "GET" else request.POST
    hidden = format_html_join(
        "", '<input type="hidden" name="{}" value="{}">', ((k, params[k]) for k in _FORWARDED if k in params)
    )
    html = format_html(
        """<!doctype html><html><head><meta charset="utf-8"><title>Sandbox ad platform: authorize</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}}
label{{display:block;margin:.5rem 0}}input[type=number]{{width:6rem}}
button{{margin-right:.5rem;padding:.4rem 1rem}}</style></head>
<body><h1>Sandbox ad platform</h1>
<p>The application <strong>{}</strong> asks to read your advertisers' campaigns and reports (scope <code>{}</code>).</p>
<form method="post">{}<input type="hidden" name="csrfmiddlewaretoken" value="{}">
<fieldset><legend>Sandbox user (what this grant reaches)</legend>
<label>Seed <input type="number" name="seed" min="1" value="{}"></label>
<label>Advertisers <input type="number" name="accounts" min="1" max="10000" value="{}"></label>
<label>Ads per advertiser <input type="number" name="ads" min="1" max="99999" value="{}"></label></fieldset>
<p><button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button></p></form></body></html>""",
        params.get("client_id", ""),
        params.get("scope", "reports"),
        hidden,
        get_token(request),
        profile.seed,
        profile.accounts,
        profile.ads,
    )
    return HttpResponse(html)


# --- marketing API -----------------------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, code: int, headers: dict | None = None):
        super().__init__(message)
        self.status, self.kind, self.code, self.headers = status, kind, code, headers or {}


def _error(status: int, kind: str, message: str, code: int, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "type": kind, "message": message}}, status=status)
    for k, v in (headers or {}).items():
        response[k] = v
    return response


def _fault_response(request: HttpRequest) -> HttpResponse | None:
    s = sandbox.settings
    if s.latency:
        time.sleep(s.latency)
    fault = sandbox.take_fault(request.path)
    if fault is None:
        return None
    sandbox.count(f"fault_{fault}")
    if fault == "slow":
        time.sleep(s.slow_seconds)
        return None
    if fault == "429":
        return _error(429, "rate_limited", "too many requests", 42900, {"Retry-After": str(s.retry_after)})
    if fault in ("500", "503"):
        return HttpResponse(
            f"<html><body>{fault} upstream unavailable</body></html>", status=int(fault), content_type="text/html"
        )
    if fault == "expired":
        return _error(401, "token_expired", "the access token expired; refresh it", 40101)
    if fault == "revoked":
        return _error(401, "token_revoked", "the authorization was revoked; authorize again", 40103)
    request.sandbox_malformed = True  # type: ignore[attr-defined]  # "malformed": the view answers with a broken field
    return None


def api(view):
    """Faults, latency, authentication and the per-client rate limit around an API view."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        sandbox.count("api")
        fault = _fault_response(request)
        if fault is not None:
            return fault
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return _error(401, "invalid_token", "send the access token as 'Authorization: Bearer <token>'", 40100)
        try:
            access = authserver.authenticate(header[7:].strip())
        except TokenProblem as exc:
            return _error(
                401,
                exc.kind,
                str(exc),
                {"token_expired": 40101, "invalid_token": 40102, "token_revoked": 40103}[exc.kind],
            )
        wait, remaining, reset = sandbox.rate_limit_take(access.client_id)
        if wait > 0:
            sandbox.count("rate_limited")
            return _error(
                429,
                "rate_limited",
                "too many requests for this app",
                42901,
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        try:
            response = view(request, access, *args, **kwargs)
        except ApiError as exc:
            response = _error(exc.status, exc.kind, str(exc), exc.code, exc.headers)
        response["X-RateLimit-Limit"] = str(sandbox.settings.rate_limit_requests)
        response["X-RateLimit-Remaining"] = str(remaining)
        response["X-RateLimit-Reset"] = f"{reset:.2f}"
        return response

    return wrapper


def _bad(param: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{param}: {message}", 40000)


def _int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(name, f"must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise _bad(name, f"must be from {low} to {high}, got {value}")
    return value


def _cursor(request: HttpRequest) -> int:
    raw = request.GET.get("cursor")
    if not raw:
        return 0
    try:
        return int(base64.urlsafe_b64decode(raw.encode()).decode().removeprefix("o:"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _bad("cursor", "unknown cursor; pass back paging.next_cursor unchanged") from None


def _paged(request: HttpRequest, total: int, item) -> JsonResponse:
    offset = _cursor(request)
    limit = _int_param(request, "limit", 100, 1, sandbox.settings.max_page_size)
    end = min(total, offset + limit)
    rows = [item(i) for i in range(offset, end)]
    nxt = base64.urlsafe_b64encode(f"o:{end}".encode()).decode() if end < total else None
    body = {"data": rows, "paging": {"next_cursor": nxt, "total": total}}
    if getattr(request, "sandbox_malformed", False):
        body = {"results": rows, "paging": body["paging"]}  # the list moved: "data" is missing
    return JsonResponse(body)


def _advertiser(access, adv_id: str) -> Advertiser:
    try:
        adv = Advertiser.parse(adv_id)
    except UnknownAdvertiser:
        raise ApiError(404, "not_found", f"advertiser {adv_id} does not exist", 40400) from None
    if not access.reaches(adv_id):
        raise ApiError(403, "no_permission", f"this authorization does not reach advertiser {adv_id}", 40300)
    return adv


def _advertiser_json(adv: Advertiser) -> dict:
    return {
        "advertiser_id": adv.id,
        "name": adv.name,
        "currency": adv.currency,
        "timezone": adv.timezone,
        "status": "enable",
    }


@api
def advertisers(request: HttpRequest, access) -> HttpResponse:
    profile = access.profile
    kept = [i for i in range(profile.accounts) if access.reaches(advertiser_id(profile.seed, profile.ads, i))]
    return _paged(request, len(kept), lambda i: _advertiser_json(Advertiser(profile.seed, profile.ads, kept[i])))


@api
def advertiser(request: HttpRequest, access, adv_id: str) -> HttpResponse:
    body = {"data": _advertiser_json(_advertiser(access, adv_id))}
    if getattr(request, "sandbox_malformed", False):
        body["data"]["timezone"] = 8
    return JsonResponse(body)


@api
def objects(request: HttpRequest, access, adv_id: str, kind: str) -> HttpResponse:
    level = LEVEL_PATHS.get(kind)
    if level is None:
        raise ApiError(404, "not_found", f"unknown object type {kind!r}; one of {', '.join(LEVEL_PATHS)}", 40401)
    adv = _advertiser(access, adv_id)

    gone = _deleted(adv) if level in ("ad", "creative") else {}

    def item(i: int) -> dict:
        e = adv.entity(level, i)
        status = "delete" if i in gone else e.status
        out = {"id": e.id, "name": e.name, "status": status, PARENT_FIELD[level]: e.parent_id}
        if level == "ad":
            out["creative_id"] = adv.entity("creative", i).id
        if level == "campaign":
            out["budget"] = f"{100 + int(900 * (i % 7) / 6)}.00"
        return out

    return _paged(request, adv.count(level), item)


def _deleted(adv: Advertiser) -> dict[int, int]:
    s = sandbox.settings
    return deleted_ads(adv, s.deleted_ads, s.deleted_days_ago, sandbox.now())


def _date_param(request: HttpRequest, name: str) -> date:
    raw = request.GET.get(name, "")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _bad(name, f"must be a date YYYY-MM-DD, got {raw!r}") from None


@api
def report(request: HttpRequest, access, adv_id: str) -> HttpResponse:
    adv = _advertiser(access, adv_id)
    level = request.GET.get("level", "")
    if level not in ("advertiser", "campaign", "adgroup", "ad", "creative"):
        raise _bad("level", f"must be advertiser, campaign, adgroup, ad or creative, got {level!r}")
    granularity = request.GET.get("granularity", "")
    if granularity not in ("hour", "day"):
        raise _bad("granularity", f"must be hour or day, got {granularity!r}")
    start, end = _date_param(request, "start_date"), _date_param(request, "end_date")
    if end < start:
        raise _bad("end_date", "must not be before start_date")
    span = (end - start).days + 1
    top = MAX_HOURLY_DAYS if granularity == "hour" else MAX_DAILY_DAYS
    if span > top:
        raise _bad("end_date", f"a {granularity}ly report covers at most {top} days, asked for {span}")
    page = _int_param(request, "page", 1, 1, 10**9)
    page_size = _int_param(request, "page_size", 500, 1, sandbox.settings.max_page_size)
    if page == 1:
        # Which days a client asked for (a fetch's first page; later pages are the same
        # request continued): tests check that a range is not fetched twice.
        for n in range(span):
            sandbox.count(f"report_day:{level}:{granularity}:{start + timedelta(days=n)}")

    now = sandbox.now()
    entities = adv.reporting(level)
    periods = slots(adv.timezone, granularity, start, end, now)
    stopped = _deleted(adv)
    include_deleted = request.GET.get("include_deleted", "false") == "true"
    cells = None  # (period, entity) pairs, listed only when deleted ads thin them out
    if stopped and level in ("ad", "creative"):
        # A deleted ad reports the periods it delivered in, and only when asked for.
        cells = [
            (slot, (entity_id, ads))
            for slot in periods
            for entity_id, ads in entities
            if ads[0] not in stopped or (include_deleted and slot.hours[0][0] < stopped[ads[0]])
        ]
    total = len(cells) if cells is not None else len(entities) * len(periods)
    today = now.astimezone(periods[0].start_local.tzinfo).date() if periods else start
    restate = sandbox.settings.restate_days
    rows = []
    for n in range((page - 1) * page_size, min(total, page * page_size)):
        if cells is not None:
            slot, (entity_id, ads) = cells[n]
        else:
            slot, (entity_id, ads) = periods[n // len(entities)], entities[n % len(entities)]
        m = metrics(adv, ads, slot, today=today, restate_days=restate, stopped=stopped)
        row = {
            "stat_time": slot.start_local.isoformat(),
            "entity_id": entity_id,
            "show": m["impressions"],
            "click": m["clicks"],
            "cost": f"{m['cost_cents'] // 100}.{m['cost_cents'] % 100:02d}",
            "convert": m["conversions"],
            **{name: m[name] for name in EXTRA_METRICS},
        }
        rows.append(row)
    if rows and getattr(request, "sandbox_malformed", False):
        rows[0]["show"] = "n/a"
    pages = max(1, math.ceil(total / page_size))
    return JsonResponse(
        {
            "data": {
                "rows": rows,
                "currency": adv.currency,
                "timezone": adv.timezone,
                "page_info": {"page": page, "page_size": page_size, "total_rows": total, "total_pages": pages},
            }
        }
    )


def index(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        {
            "name": "adplatform sandbox ad platform",
            "stats": dict(sandbox.stats),
            "docs": "see README, section 'The sandbox ad platform'",
        }
    )
