"""DAG templates: parse, validate and render the JSON users write (pure, no Django).

Shape (the one our users already write):

    {"dag_id": "${account_id}_today_insights", "schedule_interval": "*/60 * * * *",
     "timezone": "Asia/Shanghai", "catchup": false, "max_active_runs": 1, "pool": "oceanengine",
     "tasks": [{"task_id": "start", "is_dummy": true, "downstream_task_ids": ["meta"]},
               {"task_id": "meta", "operator_type": "basic", "operator_name": "ad_meta_operator",
                "retries": 3, "retry_delay": 60, "timeout": 600, "params": {"level": "ad"}}]}

Edges may be given on either end (`upstream_task_ids`, `downstream_task_ids`) or both; a
task that lists one side explicitly must agree with what the other tasks say about it,
because a half-edited pair of lists is the usual way a template goes wrong.

Placeholders `${name}` may appear in `dag_id`, `pool` and any string inside `params`:
  ${account_id}    the platform's id of the ad account (AdAccount.external_id)
  ${account_pk}    our database id of the ad account
  ${account_name}  the account's display name
  ${platform}      the platform slug
Anything else is reported as an unknown placeholder. The schedule and time zone take no
placeholders (a schedule that varies per account is a different template).

Validation collects every problem; each `SpecIssue` carries a field path such as
`tasks[2].downstream_task_ids[0]` and the task it concerns.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ingestion.cron import CronError, CronSchedule, parse_timezone

PLACEHOLDERS = ("account_id", "account_pk", "account_name", "platform")
PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")
TASK_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
DUMMY_OPERATOR = "DummyOperator"

DAG_KEYS = {"dag_id", "schedule_interval", "timezone", "catchup", "max_active_runs", "pool", "tasks", "description"}
TASK_KEYS = {
    "task_id",
    "upstream_task_ids",
    "downstream_task_ids",
    "is_dummy",
    "operator_type",
    "operator_name",
    "retries",
    "retry_delay",
    "timeout",
    "params",
    "pool",
}


@dataclass(frozen=True)
class SpecIssue:
    path: str
    message: str
    task_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.path} (task {self.task_id!r})" if self.task_id else self.path
        return f"{where}: {self.message}"


class TemplateInvalid(ValueError):
    """A template did not validate; `issues` lists every problem found."""

    def __init__(self, issues: list[SpecIssue]):
        self.issues = issues
        super().__init__("invalid DAG template: " + "; ".join(str(i) for i in issues))


@dataclass(frozen=True)
class TaskSpec:
    task_id: str
    operator_name: str
    upstream: tuple[str, ...] = ()
    downstream: tuple[str, ...] = ()
    is_dummy: bool = False
    operator_type: str = ""
    retries: int = 0
    retry_delay: float = 60.0
    timeout: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    pool: str = ""


@dataclass(frozen=True)
class DagSpec:
    dag_id: str
    schedule_interval: str
    tasks: tuple[TaskSpec, ...]
    timezone: str | None = None
    catchup: bool = False
    max_active_runs: int = 1
    pool: str = ""
    description: str = ""

    def task(self, task_id: str) -> TaskSpec:
        return next(t for t in self.tasks if t.task_id == task_id)

    def topological_order(self) -> list[str]:
        return topological_order({t.task_id: t.upstream for t in self.tasks})

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON form (both edge directions spelled out), stored on each Dag."""
        data = asdict(self)
        tasks = []
        for t in data["tasks"]:
            upstream, downstream = t.pop("upstream"), t.pop("downstream")
            tasks.append({**t, "upstream_task_ids": list(upstream), "downstream_task_ids": list(downstream)})
        data["tasks"] = tasks
        return data


def load_template(data: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise TemplateInvalid([SpecIssue("$", f"not valid JSON: {exc}")]) from None
    if not isinstance(data, Mapping):
        raise TemplateInvalid([SpecIssue("$", "a template is a JSON object")])
    return dict(data)


def validate_template(
    data: str | bytes | Mapping[str, Any],
    *,
    operators: Collection[str],
    placeholders: Collection[str] = PLACEHOLDERS,
) -> DagSpec:
    """Validate a template (placeholders still in it); raise TemplateInvalid listing every issue."""
    data = load_template(data)
    issues: list[SpecIssue] = []
    _check_placeholders(data, placeholders, issues)
    spec = _parse(data, operators, issues)
    if issues or spec is None:
        raise TemplateInvalid(issues)
    return spec


def render_template(
    data: str | bytes | Mapping[str, Any], values: Mapping[str, Any], *, operators: Collection[str]
) -> DagSpec:
    """Substitute placeholders, then validate the result (which must have none left)."""
    return template_renderer(data, operators=operators)(values)


def template_renderer(
    data: str | bytes | Mapping[str, Any], *, operators: Collection[str]
) -> Callable[[Mapping[str, Any]], DagSpec]:
    """Validate a template once and return a function rendering it for one set of values
    (materializing a template for thousands of accounts validates the template once)."""
    data = load_template(data)
    validate_template(data, operators=operators)

    def render(values: Mapping[str, Any]) -> DagSpec:
        rendered = _substitute(data, {k: str(v) for k, v in values.items()}, path="$")
        rendered["dag_id"] = _DAG_ID_UNSAFE.sub("_", rendered["dag_id"])
        return validate_template(rendered, operators=operators, placeholders=())

    return render


_DAG_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def dag_id_pattern_key(pattern: str) -> str:
    """The form in which two dag_id patterns are compared: literal parts as rendering leaves
    them (characters a dag_id cannot hold become '_'), placeholders kept. Two templates
    whose keys are equal make the same dag_id for every account."""
    parts = PLACEHOLDER_RE.split(pattern)  # literal, name, literal, name, ..., literal
    return "".join(_DAG_ID_UNSAFE.sub("_", part) if i % 2 == 0 else f"${{{part}}}" for i, part in enumerate(parts))


def placeholders_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(PLACEHOLDER_RE.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(placeholders_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(placeholders_in(v) for v in value)) if value else set()
    return set()


def _substitute(value: Any, values: Mapping[str, str], *, path: str) -> Any:
    if isinstance(value, str):
        return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, Mapping):
        return {k: _substitute(v, values, path=f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values, path=f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _check_placeholders(data: dict[str, Any], allowed: Collection[str], issues: list[SpecIssue]) -> None:
    def visit(value: Any, path: str, task_id: str | None) -> None:
        for name in sorted(placeholders_in(value)):
            if name not in allowed:
                known = ", ".join(f"${{{p}}}" for p in allowed) or "none (the template is already rendered)"
                issues.append(SpecIssue(path, f"unknown placeholder ${{{name}}}; known: {known}", task_id))

    visit(data.get("dag_id"), "dag_id", None)
    visit(data.get("pool"), "pool", None)
    for key in ("schedule_interval", "timezone"):
        if placeholders_in(data.get(key)):
            issues.append(SpecIssue(key, "placeholders are not allowed here"))
    tasks = data.get("tasks")
    if isinstance(tasks, list):
        for i, task in enumerate(tasks):
            if isinstance(task, Mapping):
                tid = task.get("task_id") if isinstance(task.get("task_id"), str) else None
                visit(task.get("params"), f"tasks[{i}].params", tid)
                visit(task.get("pool"), f"tasks[{i}].pool", tid)


def _parse(data: dict[str, Any], operators: Collection[str], issues: list[SpecIssue]) -> DagSpec | None:
    for key in sorted(set(data) - DAG_KEYS):
        issues.append(SpecIssue(key, f"unknown field; allowed: {', '.join(sorted(DAG_KEYS))}"))
    dag_id = data.get("dag_id")
    if not isinstance(dag_id, str) or not dag_id.strip():
        issues.append(SpecIssue("dag_id", "required, a non-empty string"))
    elif len(dag_id) > 250:
        issues.append(SpecIssue("dag_id", "longer than 250 characters"))
    schedule = data.get("schedule_interval")
    timezone = data.get("timezone")
    if timezone is not None:
        try:
            if not isinstance(timezone, str):
                raise CronError("must be a string, an IANA time zone name")
            parse_timezone(timezone)
        except CronError as exc:
            issues.append(SpecIssue("timezone", str(exc)))
            timezone = None
    if not isinstance(schedule, str) or not schedule.strip():
        issues.append(
            SpecIssue("schedule_interval", "required: a cron expression (5 or 6 fields) or a preset such as @daily")
        )
    elif not placeholders_in(schedule):
        problem = _cron_problem(schedule, timezone or "UTC")
        if problem:
            issues.append(SpecIssue("schedule_interval", problem))
    catchup = data.get("catchup", False)
    if not isinstance(catchup, bool):
        issues.append(SpecIssue("catchup", "must be true or false"))
    max_active_runs = data.get("max_active_runs", 1)
    if not _is_int(max_active_runs) or not 1 <= max_active_runs <= 1000:
        issues.append(SpecIssue("max_active_runs", "must be an integer from 1 to 1000"))
    pool = data.get("pool", "")
    if not isinstance(pool, str):
        issues.append(SpecIssue("pool", "must be a string"))
    tasks_data = data.get("tasks")
    if not isinstance(tasks_data, list) or not tasks_data:
        issues.append(SpecIssue("tasks", "required: a non-empty list of tasks"))
        return None

    parsed: list[dict[str, Any]] = []
    index_of: dict[str, int] = {}
    for i, raw in enumerate(tasks_data):
        task = _parse_task(raw, i, operators, issues)
        if task is None:
            continue
        if task["task_id"] in index_of:
            issues.append(
                SpecIssue(
                    f"tasks[{i}].task_id",
                    f"duplicate task id (first at tasks[{index_of[task['task_id']]}])",
                    task["task_id"],
                )
            )
            continue
        index_of[task["task_id"]] = i
        parsed.append(task)

    # Edges from both ends; check references, self-loops and agreement.
    edges: set[tuple[str, str]] = set()
    for task in parsed:
        i, tid = task["index"], task["task_id"]
        for side in ("upstream_task_ids", "downstream_task_ids"):
            for j, other in enumerate(task[side] or ()):
                path = f"tasks[{i}].{side}[{j}]"
                if other == tid:
                    issues.append(SpecIssue(path, "a task cannot depend on itself", tid))
                elif other not in index_of:
                    issues.append(SpecIssue(path, f"unknown task id {other!r}", tid))
                else:
                    edges.add((other, tid) if side == "upstream_task_ids" else (tid, other))
    by_id = {t["task_id"]: t for t in parsed}
    for up, down in sorted(edges):
        if by_id[down]["upstream_task_ids"] is not None and up not in by_id[down]["upstream_task_ids"]:
            issues.append(
                SpecIssue(
                    f"tasks[{by_id[down]['index']}].upstream_task_ids",
                    f"disagrees with tasks[{by_id[up]['index']}].downstream_task_ids: {up!r} lists {down!r} "
                    f"downstream but {down!r} does not list {up!r} upstream",
                    down,
                )
            )
        if by_id[up]["downstream_task_ids"] is not None and down not in by_id[up]["downstream_task_ids"]:
            issues.append(
                SpecIssue(
                    f"tasks[{by_id[up]['index']}].downstream_task_ids",
                    f"disagrees with tasks[{by_id[down]['index']}].upstream_task_ids: {down!r} lists {up!r} "
                    f"upstream but {up!r} does not list {down!r} downstream",
                    up,
                )
            )

    upstream = {tid: tuple(sorted(u for u, d in edges if d == tid)) for tid in by_id}
    found = find_cycle(upstream)
    if found:
        ring: list[str] = found
        # Start the cycle at the task written first in the template: the reader's order.
        first = min(range(len(ring)), key=lambda k: by_id[ring[k]]["index"])
        cycle = ring[first:] + ring[:first]
        issues.append(
            SpecIssue(f"tasks[{by_id[cycle[0]]['index']}]", "cycle: " + " -> ".join([*cycle, cycle[0]]), cycle[0])
        )
    # Each problem with dag_id or the schedule was recorded as an issue above.
    if issues or not isinstance(dag_id, str) or not isinstance(schedule, str):
        return None
    downstream = {tid: tuple(sorted(d for u, d in edges if u == tid)) for tid in by_id}
    return DagSpec(
        dag_id=dag_id,
        schedule_interval=schedule.strip(),
        timezone=timezone,
        catchup=catchup,
        max_active_runs=max_active_runs,
        pool=pool,
        description=str(data.get("description", "")),
        tasks=tuple(
            TaskSpec(
                task_id=t["task_id"],
                operator_name=t["operator_name"],
                upstream=upstream[t["task_id"]],
                downstream=downstream[t["task_id"]],
                is_dummy=t["is_dummy"],
                operator_type=t["operator_type"],
                retries=t["retries"],
                retry_delay=float(t["retry_delay"]),
                timeout=float(t["timeout"]) if t["timeout"] is not None else None,
                params=t["params"],
                pool=t["pool"],
            )
            for t in parsed
        ),
    )


@functools.lru_cache(maxsize=1024)
def _cron_problem(schedule: str, timezone: str) -> str | None:
    # Rendering a template for thousands of accounts checks the same cron each time.
    try:
        CronSchedule(schedule, timezone)
    except CronError as exc:
        return str(exc)
    return None


def _parse_task(raw: Any, i: int, operators: Collection[str], issues: list[SpecIssue]) -> dict[str, Any] | None:
    path = f"tasks[{i}]"
    if not isinstance(raw, Mapping):
        issues.append(SpecIssue(path, "a task is a JSON object"))
        return None
    tid = raw.get("task_id")
    if not isinstance(tid, str) or not TASK_ID_RE.match(tid):
        issues.append(SpecIssue(f"{path}.task_id", "required: 1-100 characters of letters, digits, '_', '.', '-'"))
        return None
    n_before = len(issues)
    for key in sorted(set(raw) - TASK_KEYS):
        issues.append(SpecIssue(f"{path}.{key}", f"unknown field; allowed: {', '.join(sorted(TASK_KEYS))}", tid))
    is_dummy = raw.get("is_dummy", False)
    if not isinstance(is_dummy, bool):
        issues.append(SpecIssue(f"{path}.is_dummy", "must be true or false", tid))
        is_dummy = False
    operator = raw.get("operator_name", DUMMY_OPERATOR if is_dummy else None)
    if is_dummy and operator != DUMMY_OPERATOR:
        issues.append(SpecIssue(f"{path}.operator_name", f"a dummy task runs {DUMMY_OPERATOR}, not {operator!r}", tid))
    elif not isinstance(operator, str) or not operator:
        issues.append(SpecIssue(f"{path}.operator_name", "required (or set is_dummy: true)", tid))
    elif operator not in operators and operator != DUMMY_OPERATOR:
        issues.append(
            SpecIssue(
                f"{path}.operator_name",
                f"unknown operator {operator!r}; registered: {', '.join(sorted(operators)) or 'none'}",
                tid,
            )
        )
    edges = {}
    for side in ("upstream_task_ids", "downstream_task_ids"):
        value = raw.get(side)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            issues.append(SpecIssue(f"{path}.{side}", "must be a list of task ids", tid))
            value = None
        edges[side] = value
    retries = raw.get("retries", 0)
    if not _is_int(retries) or not 0 <= retries <= 100:
        issues.append(SpecIssue(f"{path}.retries", "must be an integer from 0 to 100", tid))
    retry_delay = raw.get("retry_delay", 60)
    if not _is_number(retry_delay) or not 0 <= retry_delay <= 86400:
        issues.append(SpecIssue(f"{path}.retry_delay", "must be seconds from 0 to 86400", tid))
    timeout = raw.get("timeout")
    if timeout is not None and (not _is_number(timeout) or timeout <= 0):
        issues.append(SpecIssue(f"{path}.timeout", "must be a positive number of seconds or null", tid))
    params = raw.get("params", {})
    if not isinstance(params, Mapping):
        issues.append(SpecIssue(f"{path}.params", "must be a JSON object", tid))
    operator_type = raw.get("operator_type", "")
    pool = raw.get("pool", "")
    for key, value in (("operator_type", operator_type), ("pool", pool)):
        if not isinstance(value, str):
            issues.append(SpecIssue(f"{path}.{key}", "must be a string", tid))
    if len(issues) > n_before:
        # Still return the id so that edges naming it are not also reported as unknown.
        return {
            "index": i,
            "task_id": tid,
            "upstream_task_ids": edges["upstream_task_ids"],
            "downstream_task_ids": edges["downstream_task_ids"],
            "broken": True,
        }
    return {
        "index": i,
        "task_id": tid,
        "is_dummy": is_dummy,
        "operator_name": operator,
        "operator_type": operator_type,
        "retries": retries,
        "retry_delay": retry_delay,
        "timeout": timeout,
        "params": dict(params),
        "pool": pool,
        **edges,
    }


def find_cycle(upstream: Mapping[str, Collection[str]]) -> list[str] | None:
    """One cycle of the graph (task ids in edge order), or None. Iterative: deep DAGs are fine."""
    downstream: dict[str, list[str]] = {t: [] for t in upstream}
    for task, ups in upstream.items():
        for u in ups:
            downstream.setdefault(u, []).append(task)
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(downstream, WHITE)
    for root in sorted(downstream):
        if colour[root] != WHITE:
            continue
        stack = [(root, iter(sorted(downstream[root])))]
        path = [root]
        colour[root] = GREY
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = BLACK
                stack.pop()
                path.pop()
            elif colour[child] == GREY:
                return path[path.index(child) :]
            elif colour[child] == WHITE:
                colour[child] = GREY
                stack.append((child, iter(sorted(downstream[child]))))
                path.append(child)
    return None


def topological_order(upstream: Mapping[str, Collection[str]]) -> list[str]:
    """Kahn's algorithm, ties broken by name so the order is stable."""
    remaining = {t: set(u) for t, u in upstream.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(t for t, u in remaining.items() if not u)
        if not ready:
            raise ValueError("cycle: " + " -> ".join(find_cycle(upstream) or []))
        for t in ready:
            order.append(t)
            del remaining[t]
        for u in remaining.values():
            u.difference_update(ready)
    return order


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
