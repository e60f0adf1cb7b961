"""Layered (Sugiyama-style, simplified) layout of a task graph, pure Python.

The DAG page and the template admin draw tasks as boxes in columns by depth, so that
every edge points right. Positions are computed here rather than by a force layout in
the browser: the same DAG always looks the same, and long chains stay readable.
"""

from __future__ import annotations

from collections import defaultdict


def layered_layout(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """Return {node: (column, row)}; column = longest path from a root.

    Rows inside a column are ordered by the mean row of the upstream nodes (one
    barycenter pass), which removes most crossings for the shallow DAGs we draw.
    A cycle (only possible for an invalid template) does not loop: nodes left on a
    cycle go to the column after the last placed one.
    """
    upstream: dict[str, list[str]] = defaultdict(list)
    downstream: dict[str, list[str]] = defaultdict(list)
    known = set(nodes)
    for a, b in edges:
        if a in known and b in known and a != b:
            upstream[b].append(a)
            downstream[a].append(b)
    indegree = {n: len(upstream[n]) for n in nodes}
    column = {n: 0 for n in nodes if indegree[n] == 0}
    queue = [n for n in nodes if indegree[n] == 0]
    while queue:
        current = queue.pop(0)
        for nxt in downstream[current]:
            column[nxt] = max(column.get(nxt, 0), column[current] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                queue.append(nxt)
    last = max(column.values(), default=-1)
    for n in nodes:
        column.setdefault(n, last + 1)

    by_column: dict[int, list[str]] = defaultdict(list)
    for n in nodes:
        by_column[column[n]].append(n)
    row: dict[str, int] = {}
    for col in sorted(by_column):
        members = by_column[col]

        def barycenter(n: str) -> float:
            placed = [row[u] for u in upstream[n] if u in row]
            return sum(placed) / len(placed) if placed else float(nodes.index(n))

        members.sort(key=lambda n: (barycenter(n), nodes.index(n)))
        for i, n in enumerate(members):
            row[n] = i
    return {n: (column[n], row[n]) for n in nodes}


def chart_graph(tasks: list[dict], *, x_gap: int = 220, y_gap: int = 80) -> dict:
    """ECharts graph series data from tasks [{task_id, upstream: [...], state}] (JSON-ready)."""
    names = [t["task_id"] for t in tasks]
    edges = [(u, t["task_id"]) for t in tasks for u in t.get("upstream", [])]
    positions = layered_layout(names, edges)
    return {
        "nodes": [
            {
                "name": t["task_id"],
                "x": positions[t["task_id"]][0] * x_gap,
                "y": positions[t["task_id"]][1] * y_gap,
                "state": t.get("state") or "none",
                "operator": t.get("operator", ""),
            }
            for t in tasks
        ],
        "edges": [{"source": a, "target": b} for a, b in edges],
    }
