/* Dashboard: the time-series chart (several metrics at once, or one metric stacked by
   platform/account), with values formatted like the KPI cards: money in the report's
   currency with its own decimals, CTR as a percentage with two decimals. Partial days
   (not over in some account's time zone) are drawn hollow and dashed; future days have
   no value and are not plotted. */
"use strict";
(function () {
  const preset = document.getElementById("preset");
  if (preset) {
    // A date typed by hand means a custom range: the preset would otherwise win.
    document.querySelectorAll("#filters input[type=date]").forEach((input) =>
      input.addEventListener("change", () => { preset.value = ""; }));
  }
  const data = adp.jsonScript("chart-data");
  const el = document.getElementById("timeseries");
  if (!data || !el) return;
  const chart = echarts.init(el, null, {renderer: "canvas"});
  const boxes = Array.from(document.querySelectorAll("#chart-metrics input[type=checkbox]"));
  const money = new Set(["cost", "cpc", "cpa", "cpm"]);
  const hourly = data.granularity === "hour";
  const digits = data.digits;
  function format(metric, value) {
    if (value === null || value === undefined) return "—";
    if (metric === "ctr") return (value * 100).toFixed(2) + "%";
    if (money.has(metric)) {
      return value.toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits}) +
        (data.currency ? " " + data.currency : "");
    }
    if (metric === "conversions") return value.toLocaleString("en-US", {maximumFractionDigits: 1});
    return Math.round(value).toLocaleString("en-US");
  }
  function values(points, metric) {
    return points.map((p) => (hourly ? [p.time, p[metric]] : {
      value: p[metric],
      itemStyle: p.state === "partial" ? {color: "#fff", borderType: "dashed"} : undefined,
      symbol: p.state === "partial" ? "emptyCircle" : undefined,
    }));
  }
  const x = data.points.map((p) => p.date || p.time);
  // The dashed segment runs into the first partial day.
  const firstPartial = data.points.findIndex((p) => p.state === "partial");
  function render() {
    let metrics = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!metrics.length) metrics = ["cost"];
    const stacked = data.stacked && data.stacked.length;
    const series = [];
    const yAxis = [];
    if (stacked) {
      const metric = metrics.find((m) => ["cost", "impressions", "clicks", "conversions"].includes(m)) || "cost";
      metrics = [metric];
      yAxis.push({type: "value", name: metric, axisLabel: {formatter: (v) => format(metric, v)}});
      for (const s of data.stacked) {
        series.push({name: s.name, type: hourly ? "line" : "bar", stack: "total", data: values(s.points, metric),
          metric: metric, areaStyle: hourly ? {} : undefined});
      }
    } else {
      metrics.forEach((metric, i) => {
        yAxis.push({type: "value", name: metric, position: i % 2 ? "right" : "left", offset: Math.floor(i / 2) * 56,
          show: i < 4, axisLabel: {formatter: (v) => format(metric, v)}, splitLine: {show: i === 0}});
        const line = {name: metric, type: "line", smooth: true, yAxisIndex: i, metric: metric,
          showSymbol: data.points.length < 60, connectNulls: false, data: values(data.points, metric)};
        if (!hourly && firstPartial > 0) {
          line.markArea = {silent: true, itemStyle: {color: "rgba(200,200,200,0.18)"},
            data: [[{xAxis: x[firstPartial], name: "partial"}, {xAxis: x[x.length - 1]}]]};
        }
        series.push(line);
      });
    }
    chart.setOption({
      color: ["#2f6fed", "#e8833a", "#2aa876", "#c94f7c", "#7a5af5", "#a0a0a0", "#d4b106"],
      grid: {left: 80, right: metrics.length > 1 ? 80 : 24, top: 36, bottom: 40},
      legend: {top: 0, type: "scroll"},
      tooltip: {trigger: "axis", valueFormatter: undefined, formatter: (items) => {
        const head = items.length ? items[0].axisValueLabel : "";
        const partial = !hourly && items.length && data.points[items[0].dataIndex] &&
          data.points[items[0].dataIndex].state === "partial" ? " (partial)" : "";
        return [head + partial].concat(items.map((it) => {
          const metric = series[it.seriesIndex].metric;
          const v = Array.isArray(it.value) ? it.value[1] : it.value;
          return it.marker + it.seriesName + ": " + format(metric, v);
        })).join("<br>");
      }},
      xAxis: {type: hourly ? "time" : "category", data: hourly ? undefined : x},
      yAxis: yAxis,
      series: series,
    }, true);
    el.dataset.rendered = "true";
    el.dataset.metric = metrics.join(",");
    el.dataset.series = String(series.length);
  }
  render();
  boxes.forEach((b) => b.addEventListener("change", render));
  window.addEventListener("resize", () => chart.resize());
  window.adpDashboardChart = chart;
})();
