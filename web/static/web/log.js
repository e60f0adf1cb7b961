/* Live tail of one try's log: poll with the offset the API answered (next_offset), append, follow the bottom, stop when finished. */
"use strict";
(function () {
  const pre = document.getElementById("log");
  const status = document.getElementById("log-status");
  const badge = document.getElementById("ti-state");
  if (!pre) return;
  let offset = 0, delay = 1000;
  async function poll() {
    let data;
    try {
      data = await adp.api(pre.dataset.url + "&offset=" + offset);
    } catch (err) {
      status.textContent = "error: " + err.message + " (retrying)";
      setTimeout(poll, Math.min(delay *= 2, 10000));
      return;
    }
    delay = 1000;
    // Follow the bottom only when the reader is already there (do not yank them while scrolling up).
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
    if (data.text) {
      pre.appendChild(document.createTextNode(data.text));
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }
    offset = data.next_offset;
    if (badge && data.state) { badge.textContent = data.state; badge.className = "badge state-" + data.state; }
    if (data.finished) {
      status.textContent = "finished (" + (data.state || "done") + ")";
      pre.dataset.finished = "true";
    } else {
      // data-live: this page saw the try unfinished, so what follows arrived while it ran.
      pre.dataset.live = "true";
      status.textContent = "live: following the log…";
      setTimeout(poll, 1000);
    }
  }
  poll();
})();
