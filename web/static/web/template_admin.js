/* DAG template admin: JSON syntax check while typing (the engine validates on save) and the graph. */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const editor = document.querySelector("textarea.dag-spec-editor");
  const status = document.getElementById("spec-json-status");
  if (editor) {
    const check = function () {
      try {
        JSON.parse(editor.value);
        editor.classList.remove("invalid");
        if (status) { status.textContent = "JSON ok"; status.className = "help"; }
      } catch (err) {
        editor.classList.add("invalid");
        if (status) { status.textContent = "JSON error: " + err.message; status.className = "help invalid"; }
      }
    };
    editor.addEventListener("input", check);
    check();
  }
  const el = document.getElementById("template-graph");
  if (el && window.echarts) {
    const graph = JSON.parse(el.dataset.graph);
    if (!graph.nodes.length) { el.textContent = "(no tasks)"; return; }
    echarts.init(el, null, {renderer: "svg"}).setOption({
      series: [{
        type: "graph", layout: "none", roam: true, symbol: "roundRect", symbolSize: [170, 38],
        edgeSymbol: ["none", "arrow"], edgeSymbolSize: 9, label: {show: true, color: "#fff"},
        lineStyle: {color: "#9aa3b2", width: 1.5},
        data: graph.nodes.map((n) => ({name: n.name, x: n.x, y: n.y, itemStyle: {color: "#417690"}})),
        links: graph.edges,
      }],
    });
  }
});
