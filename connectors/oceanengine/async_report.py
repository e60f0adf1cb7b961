"""Ocean Engine's asynchronous custom report (v3.0/report/custom/async_task/*), for ranges
whose synchronous report would take many pages.

  create    POST v3.0/report/custom/async_task/create/ {advertiser_id, task_name (<= 25 chars),
            force, data_topic, dimensions, metrics, filters, order_by, start_time, end_time}
            -> data {task_id, task_name, task_status, create_time}
  get       GET  v3.0/report/custom/async_task/get/?advertiser_id&filtering={"task_ids": [..]}
            -> data.list [{task_id, task_status, err_msg, file_size, ...}]
            task_status ASYNC_TASK_STATUS_CREATED / _EXECUTING / _EXECUTING_STAGE2 / _COMPLETED
            / _FAILED / _EXPIRED
  download  GET  v3.0/report/custom/async_task/download/?advertiser_id&task_id -> the file
(oceanengine/ad_open_sdk_go api/api_report_custom_async_task_{create,get,download}_v30.go and
their models; bububa/oceanengine model/report/asynctask/v3/*.go, model/report/asynctask/task.go,
enum/async_task_status.go.) The platform allows 10 tasks per advertiser per day.

The file's format is not in either SDK (download answers bytes). We read it as CSV with a header
row whose cells are field names or the display names v3.0/report/custom/config/get gives
(unconfirmed), or as the synchronous answer's JSON when it comes as JSON; either way the rows
come out as the synchronous report's `{dimensions: {...}, metrics: {...}}`, so both paths share
one mapping.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from connectors.errors import MalformedResponse
from connectors.http import field
from connectors.oceanengine.api import raise_for_code
from connectors.primitives import poll

CREATE = "v3.0/report/custom/async_task/create/"
GET = "v3.0/report/custom/async_task/get/"
DOWNLOAD = "v3.0/report/custom/async_task/download/"
DONE = "ASYNC_TASK_STATUS_COMPLETED"
FAILED = frozenset({"ASYNC_TASK_STATUS_FAILED", "ASYNC_TASK_STATUS_EXPIRED"})
POLL_TIMEOUT = 1800.0  # seconds a task may take before the fetch gives up (TransientError)


class TaskFailed(Exception):
    """The platform could not build the file (FAILED / EXPIRED): the caller reads synchronously."""


def create(api: Any, token: str, advertiser: str, request: Mapping[str, Any], task_name: str) -> str:
    """Start a task for the synchronous request's dimensions, metrics, filters and range."""
    endpoint = CREATE.strip("/")
    where = {"platform": "oceanengine", "endpoint": endpoint, "account": advertiser}
    body = {
        "advertiser_id": int(advertiser) if advertiser.isdigit() else advertiser,
        "task_name": task_name[:25],
        # a fresh file: an earlier task's result would miss restated figures of the look-back
        "force": True,
        "data_topic": request["data_topic"],
        "dimensions": request["dimensions"],
        "metrics": request["metrics"],
        "filters": request["filters"],
        "order_by": request["order_by"],
        "start_time": request["start_time"],
        "end_time": request["end_time"],
    }
    data = api.call("POST", CREATE, token=token, endpoint=endpoint, account=advertiser, json_body=body)
    return str(field(data, "task_id", (int, str), at="data", **where))


def wait(api: Any, token: str, advertiser: str, task_id: str, *, sleep: Callable[[float], None]) -> None:
    """Until the task is done; TaskFailed when the platform gives up on it."""
    endpoint = GET.strip("/")
    where = {"platform": "oceanengine", "endpoint": endpoint, "account": advertiser}

    def check() -> str | None:
        data = api.call(
            "GET",
            GET,
            token=token,
            endpoint=endpoint,
            account=advertiser,
            params={"advertiser_id": advertiser, "filtering": {"task_ids": [int(task_id)]}},
        )
        for n, task in enumerate(field(data, "list", list, default=[], at="data", **where)):
            if isinstance(task, dict) and str(task.get("task_id")) == task_id:
                status = field(task, "task_status", str, at=f"data.list.{n}", **where)
                if status in FAILED:
                    raise TaskFailed(f"task {task_id} {status}: {task.get('err_msg') or ''}".strip())
                return status if status == DONE else None
        return None

    poll(check, sleep=sleep, timeout=POLL_TIMEOUT, what=f"async report task {task_id}", where=where)


def download(
    http: Any, base: str, token: str, advertiser: str, task_id: str, *, dimensions: list[str], names: dict[str, str]
) -> Iterator[tuple[str, dict]]:
    """(path, {dimensions, metrics}) of every row of the task's file."""
    endpoint = DOWNLOAD.strip("/")
    where = {"platform": "oceanengine", "endpoint": endpoint, "account": advertiser}
    response = http.get(
        f"{base.rstrip('/')}/{DOWNLOAD}",
        endpoint=endpoint,
        account=advertiser,
        params={"advertiser_id": advertiser, "task_id": task_id},
        headers={"Access-Token": token},
    )
    yield from rows_of(response.content, dimensions=dimensions, names=names, where=where)


def rows_of(
    content: bytes, *, dimensions: list[str], names: dict[str, str], where: Mapping[str, str]
) -> Iterator[tuple[str, dict]]:
    """The file's rows in the synchronous report's shape."""
    text = content.decode("utf-8-sig")
    if text.lstrip().startswith("{"):  # an envelope: an error, or the rows as JSON
        body = json.loads(text)
        raise_for_code(body, dict(where))
        for n, row in enumerate(field(body, "data.rows", list, default=[], **where)):
            yield f"file.rows.{n}", row
        return
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return
    columns = [names.get(cell.strip(), cell.strip()) for cell in header]
    missing = [d for d in dimensions if d not in columns]
    if missing:
        raise MalformedResponse(f"the file has no column {', '.join(missing)}", field="file.header", **where)
    for n, cells in enumerate(reader, start=1):
        if not cells:
            continue
        if len(cells) != len(columns):
            raise MalformedResponse(
                f"file line {n + 1} has {len(cells)} cells, the header {len(columns)}", field=f"file.rows.{n}", **where
            )
        values = dict(zip(columns, cells, strict=True))
        yield (
            f"file.rows.{n}",
            {
                "dimensions": {d: values[d] for d in dimensions},
                "metrics": {k: v for k, v in values.items() if k not in dimensions},
            },
        )
