"""Template validation and rendering (pure), including hypothesis properties."""

import copy
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.dagspec import TemplateInvalid, find_cycle, render_template, validate_template
from tests.ingestion.factories import ISSUE_EXAMPLE

OPS = {"account_meta_operator", "ad_meta_operator", "insight_operator"}


def issues_of(template, operators=OPS) -> list[str]:
    with pytest.raises(TemplateInvalid) as info:
        validate_template(template, operators=operators)
    return [str(i) for i in info.value.issues]


def test_the_issue_example_validates_and_edges_are_completed():
    spec = validate_template(ISSUE_EXAMPLE, operators=OPS)
    assert spec.task("ad_daily_insight_task").upstream == ("ad_meta_task",)
    assert spec.task("dummy_task").downstream == ("account_meta_task", "ad_meta_task")
    assert spec.topological_order() == ["dummy_task", "account_meta_task", "ad_meta_task", "ad_daily_insight_task"]
    assert spec.task("dummy_task").is_dummy and spec.max_active_runs == 1 and spec.catchup is False


def test_render_substitutes_placeholders_everywhere():
    t = copy.deepcopy(ISSUE_EXAMPLE)
    t["tasks"][3]["params"] = {"account": "${account_id}", "nested": ["${platform}-${account_name}"]}
    spec = render_template(
        t, {"account_id": "act 42", "platform": "meta", "account_name": "Shop", "account_pk": 7}, operators=OPS
    )
    assert spec.dag_id == "act_42_today_insights"  # characters outside [A-Za-z0-9_.-] become _
    assert spec.task("ad_daily_insight_task").params == {"account": "act 42", "nested": ["meta-Shop"]}


def test_options_are_parsed():
    t = dict(ISSUE_EXAMPLE, timezone="Asia/Shanghai", catchup=True, max_active_runs=3, pool="oe")
    t["tasks"] = copy.deepcopy(t["tasks"])
    t["tasks"][3].update(retries=4, retry_delay=30, timeout=600)
    spec = validate_template(t, operators=OPS)
    assert (spec.timezone, spec.catchup, spec.max_active_runs, spec.pool) == ("Asia/Shanghai", True, 3, "oe")
    task = spec.task("ad_daily_insight_task")
    assert (task.retries, task.retry_delay, task.timeout) == (4, 30.0, 600.0)


def mutate(fn):
    t = copy.deepcopy(ISSUE_EXAMPLE)
    fn(t)
    return t


def test_cycle_is_named():
    t = mutate(lambda t: t["tasks"][3].__setitem__("downstream_task_ids", ["dummy_task"]))
    assert issues_of(t) == [
        "tasks[0] (task 'dummy_task'): cycle: dummy_task -> ad_meta_task -> ad_daily_insight_task -> dummy_task"
    ]


def test_unknown_task_id():
    t = mutate(lambda t: t["tasks"][2]["downstream_task_ids"].append("ad_weekly_task"))
    assert issues_of(t) == ["tasks[2].downstream_task_ids[1] (task 'ad_meta_task'): unknown task id 'ad_weekly_task'"]


def test_duplicate_task_id():
    t = mutate(lambda t: t["tasks"].append({"task_id": "ad_meta_task", "operator_name": "ad_meta_operator"}))
    assert issues_of(t) == ["tasks[4].task_id (task 'ad_meta_task'): duplicate task id (first at tasks[2])"]


def test_self_loop():
    t = mutate(lambda t: t["tasks"][1].__setitem__("upstream_task_ids", ["account_meta_task", "dummy_task"]))
    assert issues_of(t) == ["tasks[1].upstream_task_ids[0] (task 'account_meta_task'): a task cannot depend on itself"]


def test_upstream_downstream_disagreement():
    t = mutate(lambda t: t["tasks"][3].__setitem__("upstream_task_ids", []))
    assert issues_of(t) == [
        "tasks[3].upstream_task_ids (task 'ad_daily_insight_task'): disagrees with tasks[2].downstream_task_ids: "
        "'ad_meta_task' lists 'ad_daily_insight_task' downstream but 'ad_daily_insight_task' does not list "
        "'ad_meta_task' upstream"
    ]


def test_both_directions_agreeing_is_fine():
    t = mutate(lambda t: t["tasks"][3].__setitem__("upstream_task_ids", ["ad_meta_task"]))
    assert validate_template(t, operators=OPS).task("ad_daily_insight_task").upstream == ("ad_meta_task",)


def test_unknown_operator():
    assert issues_of(ISSUE_EXAMPLE, operators={"ad_meta_operator"}) == [
        "tasks[3].operator_name (task 'ad_daily_insight_task'): unknown operator 'insight_operator'; "
        "registered: ad_meta_operator"
    ]


def test_unknown_placeholder():
    t = mutate(lambda t: t.__setitem__("dag_id", "${acount_id}_x"))
    assert issues_of(t) == [
        "dag_id: unknown placeholder ${acount_id}; known: ${account_id}, ${account_pk}, ${account_name}, ${platform}"
    ]
    t = mutate(lambda t: t["tasks"][1].__setitem__("params", {"x": "${secret}"}))
    assert issues_of(t)[0].startswith("tasks[1].params (task 'account_meta_task'): unknown placeholder ${secret}")


def test_bad_cron():
    t = mutate(lambda t: t.__setitem__("schedule_interval", "*/60 * * *"))
    assert issues_of(t) == [
        "schedule_interval: cron '*/60 * * *' has 4 fields; use 5 (minute hour day month weekday), "
        "6 with seconds first (second minute hour day month weekday) or a preset "
        "(@annually, @daily, @hourly, @midnight, @monthly, @weekly, @yearly)"
    ]
    t = mutate(lambda t: t.__setitem__("schedule_interval", "0 70 * * *"))
    assert issues_of(t)[0].startswith("schedule_interval: cron '0 70 * * *' does not parse")


def test_every_problem_is_reported_at_once_and_typos_are_caught():
    t = mutate(
        lambda t: (
            t.__setitem__("timezone", "Europe/Atlantis"),
            t["tasks"][1].__setitem__("retries", -1),
            t["tasks"][2].__setitem__("downstream_tasks_ids", []),
        )
    )
    got = issues_of(t)
    assert got[0].startswith("timezone: unknown time zone 'Europe/Atlantis'")
    assert "tasks[1].retries (task 'account_meta_task'): must be an integer from 0 to 100" in got
    assert any(i.startswith("tasks[2].downstream_tasks_ids (task 'ad_meta_task'): unknown field") for i in got)


def test_not_json():
    assert issues_of("{not json")[0].startswith("$: not valid JSON")


# --- properties -----------------------------------------------------------------


@st.composite
def random_dags(draw):
    """A random DAG: edges only from lower to higher index (so acyclic), given on a random side."""
    n = draw(st.integers(min_value=2, max_value=12))
    names = [f"t{i}" for i in range(n)]
    edges = draw(
        st.sets(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] < e[1]),
            min_size=1,
            max_size=30,
        )
    )
    tasks = [{"task_id": name, "operator_name": "ad_meta_operator"} for name in names]
    for a, b in sorted(edges):
        side = draw(st.sampled_from(["up", "down", "both"]))
        if side in ("down", "both"):
            tasks[a].setdefault("downstream_task_ids", []).append(names[b])
        if side in ("up", "both"):
            tasks[b].setdefault("upstream_task_ids", []).append(names[a])
    # A task that spells out one side must list all of it: complete the lists we started.
    for a, b in edges:
        if "downstream_task_ids" in tasks[a] and names[b] not in tasks[a]["downstream_task_ids"]:
            tasks[a]["downstream_task_ids"].append(names[b])
        if "upstream_task_ids" in tasks[b] and names[a] not in tasks[b]["upstream_task_ids"]:
            tasks[b]["upstream_task_ids"].append(names[a])
    order = draw(st.permutations(range(n)))
    return {"dag_id": "d", "schedule_interval": "@daily", "tasks": [tasks[i] for i in order]}, edges, names


@settings(max_examples=150, deadline=None)
@given(random_dags())
def test_acyclic_dags_validate_and_keep_their_edges(case):
    template, edges, names = case
    spec = validate_template(template, operators=OPS)
    got = {(u, t.task_id) for t in spec.tasks for u in t.upstream}
    assert got == {(names[a], names[b]) for a, b in edges}
    order = spec.topological_order()
    assert all(order.index(names[a]) < order.index(names[b]) for a, b in edges)


@settings(max_examples=150, deadline=None)
@given(random_dags(), st.data())
def test_a_back_edge_is_reported_as_a_cycle_through_its_tasks(case, data):
    template, edges, names = case
    a, b = data.draw(st.sampled_from(sorted(edges)))
    # b -> a closes the cycle a -> ... -> b -> a; add it on b's downstream side.
    task_b = next(t for t in template["tasks"] if t["task_id"] == names[b])
    if "downstream_task_ids" not in task_b:  # spelling out one side means listing all of it
        task_b["downstream_task_ids"] = [names[y] for x, y in sorted(edges) if x == b]
    task_b["downstream_task_ids"].append(names[a])
    task_a = next(t for t in template["tasks"] if t["task_id"] == names[a])
    if "upstream_task_ids" in task_a:
        task_a["upstream_task_ids"].append(names[b])
    with pytest.raises(TemplateInvalid) as info:
        validate_template(json.dumps(template), operators=OPS)
    [issue] = info.value.issues
    cycle = issue.message.removeprefix("cycle: ").split(" -> ")
    assert issue.message.startswith("cycle: ") and cycle[0] == cycle[-1]
    # Every consecutive pair in the reported cycle is a real edge of the graph.
    all_edges = {(names[x], names[y]) for x, y in edges} | {(names[b], names[a])}
    assert all((x, y) in all_edges for x, y in itertools.pairwise(cycle))
    assert names[a] in cycle and names[b] in cycle


def test_find_cycle_none_for_acyclic():
    assert find_cycle({"a": [], "b": ["a"], "c": ["a", "b"]}) is None
    assert find_cycle({"a": ["c"], "b": ["a"], "c": ["b"]}) == ["a", "b", "c"]
