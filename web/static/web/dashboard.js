/* Dashboard: the time-series chart of the chosen metric (data rendered into the page). */
"use strict";
(function () {
  const data = adp.jsonScript("chart-data");
  const el = document.getElementById("timeseries");
  if (!data || !el) return;
  const chart = echarts.init(el, null, {renderer: "canvas"});
  const select = document.getElementById("chart-metric");
  const x = data.points.map((p) => p.date || p.time);
  function render(metric) {
    chart.setOption({
      color: ["#2f6fed"],
      grid: {left: 60, right: 24, top: 20, bottom: 40},
      tooltip: {trigger: "axis"},
      xAxis: {type: data.granularity === "hour" ? "time" : "category", data: data.granularity === "hour" ? undefined : x},
      yAxis: {type: "value"},
      series: [{
        name: metric, type: "line", smooth: true, showSymbol: data.points.length < 60, areaStyle: {opacity: 0.08},
        data: data.granularity === "hour" ? data.points.map((p) => [p.time, p[metric]]) : data.points.map((p) => p[metric]),
      }],
    }, true);
    el.dataset.rendered = "true";
    el.dataset.metric = metric;
  }
  render(select.value);
  select.addEventListener("change", () => render(select.value));
  window.addEventListener("resize", () => chart.resize());
})();
