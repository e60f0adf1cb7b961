/* Shared helpers of the adplatform pages (no framework). */
"use strict";
window.adp = (function () {
  function cookie(name) {
    const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  async function api(path, options) {
    options = options || {};
    const headers = Object.assign({"Accept": "application/json"}, options.headers || {});
    if (options.body && typeof options.body !== "string") {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.body);
    }
    if (options.method && options.method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken");
    const response = await fetch(path, Object.assign({}, options, {headers: headers, credentials: "same-origin"}));
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) throw Object.assign(new Error((data && data.detail) || response.statusText), {status: response.status, data: data});
    return data;
  }
  const stateColors = {
    success: "#1f9d55", failed: "#d64545", upstream_failed: "#e57373", running: "#3b82f6", queued: "#60a5fa",
    up_for_retry: "#d69e2e", scheduled: "#f6c453", skipped: "#b0b7c3", none: "#cfd5df",
  };
  function stateColor(state) { return stateColors[state] || stateColors.none; }
  function jsonScript(id) { const el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }
  return {api: api, cookie: cookie, stateColor: stateColor, jsonScript: jsonScript};
})();
