/* DAG page: the task graph (positions from the server's layered layout) and the Gantt of one run. */
"use strict";
(function () {
  const graph = adp.jsonScript("graph-data");
  const graphEl = document.getElementById("dag-graph");
  if (graph && graphEl && graph.nodes.length) {
    const chart = echarts.init(graphEl, null, {renderer: "svg"});
    chart.setOption({
      tooltip: {formatter: (p) => p.dataType === "node" ? `${p.data.name}<br>${p.data.operator || ""}<br>state: ${p.data.state}` : ""},
      series: [{
        type: "graph", layout: "none", roam: true, symbol: "roundRect", symbolSize: [170, 38],
        edgeSymbol: ["none", "arrow"], edgeSymbolSize: 9,
        label: {show: true, color: "#fff", fontSize: 12, overflow: "truncate", width: 160},
        lineStyle: {color: "#9aa3b2", width: 1.5, curveness: 0},
        data: graph.nodes.map((n) => ({
          name: n.name, x: n.x, y: n.y, state: n.state, operator: n.operator,
          itemStyle: {color: adp.stateColor(n.state)},
          label: {color: n.state === "none" ? "#1d2330" : "#fff"},
        })),
        links: graph.edges,
      }],
    });
    graphEl.dataset.rendered = "true";
    window.addEventListener("resize", () => chart.resize());
  }

  const gantt = adp.jsonScript("gantt-data");
  const ganttEl = document.getElementById("gantt");
  if (gantt && ganttEl) {
    const rows = gantt.filter((r) => r.start);
    if (!rows.length) { ganttEl.innerHTML = '<p class="empty">No task has started yet.</p>'; ganttEl.style.height = "auto"; return; }
    const names = rows.map((r) => r.task_id);
    const now = Date.now();
    const chart = echarts.init(ganttEl, null, {renderer: "svg"});
    chart.setOption({
      grid: {left: 170, right: 30, top: 10, bottom: 30},
      tooltip: {formatter: (p) => `${p.value[3]}<br>${p.value[4]}, ${((p.value[2] - p.value[1]) / 1000).toFixed(1)} s`},
      xAxis: {type: "time"},
      yAxis: {type: "category", data: names, inverse: true},
      series: [{
        type: "custom",
        renderItem: function (params, api) {
          const y = api.value(0), start = api.coord([api.value(1), y]), end = api.coord([api.value(2), y]);
          const height = api.size([0, 1])[1] * 0.6;
          return {type: "rect", shape: {x: start[0], y: start[1] - height / 2, width: Math.max(end[0] - start[0], 2), height: height},
                  style: api.style({fill: adp.stateColor(api.value(4))})};
        },
        encode: {x: [1, 2], y: 0},
        data: rows.map((r, i) => [i, Date.parse(r.start), r.end ? Date.parse(r.end) : now, r.task_id, r.state]),
      }],
    });
    ganttEl.style.height = Math.max(120, rows.length * 34 + 50) + "px";
    chart.resize();
    ganttEl.dataset.rendered = "true";
  }
})();
