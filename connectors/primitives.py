"""The small pieces every platform connector needs, in one copy (no Django here).

- `number`, `amount`: a metric value or a money amount from an answer, where platforms send
  numbers, numeric strings ("12.34", "1,234", "5%") and placeholders ("-", "") for "none";
- `stat_time`, `hour_of`: a report row's time from the platform's text, stamped in the zone
  the platform reports in and converted to the account's;
- `date_chunks`: a date range cut into the spans a report request may cover;
- `envelope_data`, `classify_envelope`: the `{"code": 0, "message", "data"}` envelope that
  Ocean Engine, Kuaishou and TikTok wrap every answer in (HTTP 200 with `code != 0` is the
  error; each platform's own `raise_for_code` says which error);
- `numbered_pages`: page/page_size paging over `data.<list>` with the totals those
  platforms report (`page_info.total_page`, `page_info.total_number` or `total_count`);
- `keep_grant`: a refreshed token set that keeps what the refresh answer does not repeat;
- `poll`: wait for a platform's asynchronous report job, backing off, up to a time limit.

A malformed value raises MalformedResponse naming its full path in the answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from connectors.base import TokenSet
from connectors.errors import MalformedResponse, TransientError
from connectors.http import field

Where = Mapping[str, str]  # platform, endpoint, account: what an error names
T = TypeVar("T")
RaiseForCode = Callable[..., None]  # a platform's raise_for_code(body, where, http)

# What platforms send for "no value": TikTok and Baidu "-" or "", Ocean Engine "--", Google omits zeros.
BLANKS = ("", "-", "--")
DATE = "%Y-%m-%d"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in BLANKS)


def number(value: object, path: str, where: Where, *, blank_is_zero: bool = True) -> float:
    """A metric value as a float. `blank_is_zero`: None, "", "-" and "--" count as 0 (for
    platforms that send them for a metric with no value); off, they are malformed."""
    if blank_is_zero and _blank(value):
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%").replace(",", ""))
        except ValueError:
            pass
    raise MalformedResponse(
        f"{path} should be a number, got {type(value).__name__} {str(value)[:40]!r}", field=path, **where
    )


def amount(value: object, path: str, where: Where, *, blank_is_zero: bool = False) -> Decimal:
    """A money amount, exactly (Decimal of the text sent, never through a float)."""
    if blank_is_zero and _blank(value):
        return Decimal(0)
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            result = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            result = None
        if result is not None and result.is_finite():
            return result
    raise MalformedResponse(f"{path} is not an amount: {type(value).__name__} {str(value)[:40]!r}", field=path, **where)


def hour_of(value: object, path: str, where: Where) -> int:
    """An hour of the day 0-23, sent as a number or a string of digits."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 23:
        return value
    raise MalformedResponse(f"{path} should be an hour 0-23, got {value!r}"[:200], field=path, **where)


def stat_time(
    text: object,
    path: str,
    where: Where,
    *,
    tz: ZoneInfo,
    formats: Sequence[str] = (DATE,),
    source_tz: ZoneInfo | None = None,
    hour: int | None = None,
    granularity: str | None = None,
) -> datetime:
    """A row's time from `text` in one of `formats` (plus `hour` when the hour comes in its
    own field), read in `source_tz` (the platform's reporting zone; default: `tz`) and
    returned aware in `tz`. With `granularity`, a daily time must be a midnight and an
    hourly one must fall on the hour."""
    parsed = None
    if isinstance(text, str):
        for fmt in formats:
            try:
                parsed = datetime.strptime(text.strip(), fmt).replace(tzinfo=source_tz or tz)
                break
            except ValueError:
                continue
    if parsed is not None and hour is not None:
        parsed = parsed.replace(hour=hour)
    exact = parsed is not None and (
        (granularity == "day" and (parsed.hour or parsed.minute or parsed.second))
        or (granularity == "hour" and (parsed.minute or parsed.second))
    )
    if parsed is None or exact:
        shown = " or ".join(repr(_human(fmt)) for fmt in formats)
        raise MalformedResponse(f"{path} should be a time like {shown}, got {text!r}"[:200], field=path, **where)
    return parsed.astimezone(tz)


def _human(fmt: str) -> str:
    for code, shown in (("%Y", "YYYY"), ("%m", "MM"), ("%d", "DD"), ("%H", "HH"), ("%M", "mm"), ("%S", "ss")):
        fmt = fmt.replace(code, shown)
    return fmt


def date_chunks(start: date, end: date, days: int) -> Iterator[tuple[date, date]]:
    """(first, last) day pairs covering start..end, each at most `days` long."""
    chunk = start
    while chunk <= end:
        last = min(end, chunk + timedelta(days=days - 1))
        yield chunk, last
        chunk = last + timedelta(days=1)


def envelope_data(
    body: object, where: Where, raise_for_code: RaiseForCode, http: Any = None, *, kind: type | tuple = dict
) -> Any:
    """The envelope's `data` (of `kind`) after `raise_for_code` has checked its `code`."""
    if not isinstance(body, dict):
        raise MalformedResponse(f"expected a JSON object, got {type(body).__name__}", field="<body>", **where)
    raise_for_code(body, where, http)
    return field(body, "data", kind, **where)


def classify_envelope(response: Any, where: Where, raise_for_code: RaiseForCode, http: Any = None) -> None:
    """An HTTP error status that still carries the envelope: its code is the better guide."""
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict) and isinstance(body.get("code"), int) and body["code"] != 0:
        raise_for_code(body, where, http)


def last_page(data: Mapping[str, Any], page_size: int, where: Where, *, required: bool = True) -> int:
    """How many pages the list has, from whichever total the platform sends. With no total,
    MalformedResponse, or (not `required`: endpoints that leave it out) this page is the last."""
    pages = field(data, "page_info.total_page", int, default=None, at="data", **where)
    if pages is not None:
        return pages
    total = field(data, "page_info.total_number", int, default=None, at="data", **where)
    if total is None:
        total = field(data, "total_count", int, default=None, at="data", **where)
    if total is None and required:
        raise MalformedResponse(
            "data.page_info.total_page (or total_number, total_count) is missing", field="data.page_info", **where
        )
    return 1 if total is None else -(-total // page_size)


def numbered_pages(
    fetch_page: Callable[[int], Mapping[str, Any]],
    *,
    list_key: str,
    page_size: int,
    where: Where,
    kinds: tuple[type, ...] = (dict,),
    total_required: bool = True,
) -> Iterator[tuple[str, Any]]:
    """(path of the item, item) over page 1, 2, ... of `data.<list_key>`, one page in memory.
    `fetch_page(n)` returns the `data` of page n; a list item not of `kinds` is malformed."""
    page = 1
    while True:
        data = fetch_page(page)
        items = field(data, list_key, list, default=[], at="data", **where)
        for n, item in enumerate(items):
            if not isinstance(item, kinds) or isinstance(item, bool):
                raise MalformedResponse(
                    f"data.{list_key}.{n} should be {' or '.join(k.__name__ for k in kinds)}",
                    field=f"data.{list_key}.{n}",
                    **where,
                )
            yield f"data.{list_key}.{n}", item
        if page >= last_page(data, page_size, where, required=total_required) or not items:
            return
        del data, items  # drop this page before the next one arrives
        page += 1


def keep_grant(fresh: TokenSet, old: TokenSet) -> TokenSet:
    """A refresh answer that does not repeat the grant's accounts (Ocean Engine, Kuaishou)
    keeps the old ones, and the old refresh expiry and scopes where it names none."""
    if fresh.account_ids or not old.account_ids:
        return fresh
    return dataclasses.replace(
        fresh,
        refresh_expires_at=fresh.refresh_expires_at or old.refresh_expires_at,
        scopes=fresh.scopes or old.scopes,
        account_ids=old.account_ids,
    )


def poll(
    check: Callable[[], T | None],
    *,
    sleep: Callable[[float], None],
    timeout: float,
    what: str,
    where: Where,
    first_delay: float = 1.0,
    max_delay: float = 30.0,
) -> T:
    """`check()` until it returns something (not None): 1 s, 2 s, 4 s ... apart, at most
    `max_delay`. After `timeout` seconds of waiting, TransientError (the task retries later
    and the job's slot goes back to the platform)."""
    waited, delay = 0.0, first_delay
    while True:
        result = check()
        if result is not None:
            return result
        if waited >= timeout:
            raise TransientError(f"{what} not finished after {waited:.0f}s; retry later", **where)
        sleep(delay)
        waited += delay
        delay = min(delay * 2, max_delay)
