"""web.graph_layout: every edge points right; rows follow their upstream; cycles terminate."""

from hypothesis import given
from hypothesis import strategies as st

from web.graph_layout import chart_graph, layered_layout


def test_example_template_shape():
    nodes = ["dummy_task", "account_meta_task", "ad_meta_task", "ad_daily_insight_task"]
    edges = [
        ("dummy_task", "account_meta_task"),
        ("dummy_task", "ad_meta_task"),
        ("ad_meta_task", "ad_daily_insight_task"),
    ]
    pos = layered_layout(nodes, edges)
    assert pos["dummy_task"] == (0, 0)
    assert pos["account_meta_task"][0] == pos["ad_meta_task"][0] == 1
    assert pos["ad_daily_insight_task"][0] == 2
    # the insight task sits on its upstream's row
    assert pos["ad_daily_insight_task"][1] == 0 or pos["ad_meta_task"][1] == 0


def test_fan_in_takes_the_longest_path():
    pos = layered_layout(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("a", "d"), ("c", "d")])
    assert [pos[n][0] for n in "abcd"] == [0, 1, 2, 3]


def test_cycle_does_not_loop():
    pos = layered_layout(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "b")])
    assert pos["a"] == (0, 0)
    assert pos["b"][0] >= 1 and pos["c"][0] >= 1


def test_chart_graph_pixels_and_states():
    graph = chart_graph(
        [{"task_id": "a", "state": "success"}, {"task_id": "b", "upstream": ["a"]}], x_gap=100, y_gap=50
    )
    assert graph["nodes"] == [
        {"name": "a", "x": 0, "y": 0, "state": "success", "operator": ""},
        {"name": "b", "x": 100, "y": 0, "state": "none", "operator": ""},
    ]
    assert graph["edges"] == [{"source": "a", "target": "b"}]


@st.composite
def dags(draw):
    n = draw(st.integers(1, 12))
    nodes = [f"t{i}" for i in range(n)]
    edges = draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] < e[1]), max_size=30)
    )
    return nodes, [(nodes[a], nodes[b]) for a, b in edges]


@given(dags())
def test_every_edge_points_right_and_positions_are_unique(dag):
    nodes, edges = dag
    pos = layered_layout(nodes, edges)
    assert set(pos) == set(nodes)
    for a, b in edges:
        assert pos[a][0] < pos[b][0]
    assert len(set(pos.values())) == len(nodes)
