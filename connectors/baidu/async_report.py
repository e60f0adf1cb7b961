"""Baidu's asynchronous report (OpenApiReportService/createReportTask + getTaskStatus), for
reports whose synchronous getReportData would take many pages.

  createReportTask  body {reportType, userIds?, timeUnit, startDate, endDate, columns, sorts,
                    filters, needSum} -> data {taskId} (a task id lives 10 minutes)
  getTaskStatus     body {taskId} -> data [{taskStatus SUBMITTED / RUNNING / SUCCESS / FAIL,
                    submitTime, startTime, finishTime, fileUrl (5 minutes), dataStartRow,
                    tableHeader: the field name of each column}]
(bububa/baidu-marketing model/report/createReportTask.go, model/report/getTaskStatus.go.)

The file is read as CSV (UTF-8, else GB18030): its columns are `tableHeader`, its data start at
line `dataStartRow`; lines before the first data line (titles, the header) are skipped, and a
leading line whose `date` is not a date is taken for a header line too, so an off-by-one in
reading dataStartRow cannot turn a header into a row or drop the first row. Rows come out as
getReportData's rows (column name -> text), so both paths share one mapping.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from connectors.errors import MalformedResponse
from connectors.http import field
from connectors.primitives import poll

SERVICE = "OpenApiReportService"
DONE = "SUCCESS"
FAILED = "FAIL"
POLL_TIMEOUT = 540.0  # seconds: the task id expires after 10 minutes


class TaskFailed(Exception):
    """The platform could not build the file: the caller reads synchronously."""


def create(api: Any, header: dict, account: str, request: Mapping[str, Any]) -> str:
    where = {"platform": "baidu", "endpoint": f"{SERVICE}/createReportTask", "account": account}
    body = {k: request[k] for k in ("reportType", "timeUnit", "startDate", "endDate", "columns", "needSum")}
    data = api.call(SERVICE, "createReportTask", body, header=header, account=account)
    if not data or not isinstance(data[0], dict):
        raise MalformedResponse("body.data has no taskId", field="body.data.taskId", **where)
    return str(field(data[0], "taskId", (str, int), at="body.data", **where))


def wait(api: Any, header: dict, account: str, task_id: str, *, sleep: Callable[[float], None]) -> dict:
    """The finished task's status (fileUrl, dataStartRow, tableHeader); TaskFailed on FAIL."""
    where = {"platform": "baidu", "endpoint": f"{SERVICE}/getTaskStatus", "account": account}

    def check() -> dict | None:
        data = api.call(SERVICE, "getTaskStatus", {"taskId": task_id}, header=header, account=account)
        status = data[0] if data and isinstance(data[0], dict) else {}
        state = field(status, "taskStatus", str, at="body.data.0", **where)
        if state == FAILED:
            raise TaskFailed(f"report task {task_id} failed")
        return status if state == DONE else None

    return poll(check, sleep=sleep, timeout=POLL_TIMEOUT, what=f"report task {task_id}", where=where)


def download(http: Any, status: Mapping[str, Any], account: str) -> Iterator[tuple[str, dict]]:
    where = {"platform": "baidu", "endpoint": f"{SERVICE}/getTaskStatus", "account": account}
    url = field(status, "fileUrl", str, at="body.data.0", **where)
    header = field(status, "tableHeader", list, at="body.data.0", **where)
    start = field(status, "dataStartRow", int, default=1, at="body.data.0", **where)
    response = http.get(url, endpoint="report file", account=account)
    yield from rows_of(response.content, header=[str(h) for h in header], data_start_row=start, where=where)


def rows_of(
    content: bytes, *, header: list[str], data_start_row: int, where: Mapping[str, str]
) -> Iterator[tuple[str, dict]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("gb18030")
    lines = list(csv.reader(io.StringIO(text)))[max(0, data_start_row - 1) :]
    date_at = header.index("date") if "date" in header else None
    while lines and date_at is not None and (len(lines[0]) <= date_at or not _is_date(lines[0][date_at])):
        lines.pop(0)  # a title or header line before the data
    for n, cells in enumerate(lines):
        if not cells:
            continue
        if len(cells) != len(header):
            raise MalformedResponse(
                f"report file row {n} has {len(cells)} cells, tableHeader {len(header)}",
                field=f"file.rows.{n}",
                **where,
            )
        yield f"file.rows.{n}", dict(zip(header, cells, strict=True))


def _is_date(text: str) -> bool:
    head = text.strip()[:10]
    try:
        datetime.strptime(head, "%Y-%m-%d")  # noqa: DTZ007 - only checks the shape of a date
    except ValueError:
        return False
    return True
