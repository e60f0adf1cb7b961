"""Browser tests: headless Debian Chromium driven by Playwright against `runplatform`.

One platform process for the module (migrate + bootstrap with the demo setup + seeded
report rows); the tests log in as the bootstrap admin like a person would.
Skipped when /usr/bin/chromium is missing (CI installs it with apt).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("WEB_SCREENSHOT_DIR", tempfile.gettempdir()))


@pytest.fixture(scope="module")
def platform():
    from web.platform_process import PlatformProcess

    tmp = Path(tempfile.mkdtemp(prefix="adplatform-browser-"))
    process = PlatformProcess(tmp, demo=True)
    process.prepare()
    process.manage(
        "web_seed",
        "--username",
        "viewer",
        "--password",
        "viewer-password",
        "--accounts",
        "2",
        "--campaigns",
        "5",
        "--days",
        "30",
    )
    process.start()
    yield process
    process.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="adplatform-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True, viewport={"width": 1400, "height": 1000}
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(platform, browser):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{platform.url}/")
    assert page.url.startswith(f"{platform.url}/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", platform.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{platform.url}/")
    return page


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def test_dashboard_shows_real_numbers_and_a_chart(platform, page):
    page.goto(f"{platform.url}/?level=campaign")
    page.wait_for_selector("#timeseries[data-rendered=true] canvas")
    api = page.request.get(f"{platform.url}/api/v1/reports/dashboard/?level=campaign").json()
    expected = {k["metric"]: k["current"] for k in api["kpis"]}
    assert expected["impressions"] > 0
    shown = _number(page.inner_text(".kpi[data-metric=impressions] .value"))
    assert shown == expected["impressions"]
    assert _number(page.inner_text(".kpi[data-metric=cost] .value")) == pytest.approx(expected["cost"], abs=0.01)
    assert page.locator("#top-table tbody tr").count() == len(api["top"]) > 0
    page.screenshot(path=str(SCREENSHOTS / "adplatform-dashboard.png"), full_page=True)


def test_open_a_dag_graph_trigger_a_run_and_watch_its_log(platform, page):
    page.goto(f"{platform.url}/dags/")
    links = page.locator("#dag-table tbody a")
    assert links.count() > 0, "bootstrap made no DAG"
    links.first.click()
    page.wait_for_selector("#dag-graph[data-rendered=true] svg")
    tasks = int(page.get_attribute("#dag-graph", "data-tasks"))
    assert tasks > 0
    graph_text = page.inner_text("#dag-graph")
    assert graph_text.strip(), "graph has no task labels"
    page.screenshot(path=str(SCREENSHOTS / "adplatform-dag.png"), full_page=True)
    # Six days at once: the DAG allows one active run and the scheduler starts one per
    # tick, so the last of them waits behind five others and its log page is open before
    # its first line is written.
    today = date.today()
    page.fill("input[name=start]", (today - timedelta(days=6)).isoformat())
    page.fill("input[name=end]", (today - timedelta(days=1)).isoformat())
    page.click("#trigger-button")
    page.wait_for_url(re.compile(r".*\?run=\d+$"))
    assert "Triggered 6 run(s)" in page.inner_text(".messages")
    dag_pk = re.search(r"/dags/(\d+)/", page.url).group(1)
    # the last one created (bootstrap's demo backfill has runs of later logical times)
    runs = page.request.get(f"{platform.url}/api/v1/runs/?dag={dag_pk}&run_type=backfill&limit=100").json()["results"]
    last = max(runs, key=lambda r: r["id"])
    page.goto(f"{platform.url}/dags/{dag_pk}/?run={last['id']}")
    assert page.locator("a.log-link").count() == tasks
    # A task with real work (not a dummy) writes a log while it runs.
    page.locator("tr[data-dummy=false] a.log-link").last.click()
    # data-live: the page saw the try unfinished, so the text below arrived while it ran.
    page.wait_for_selector("#log[data-live=true]", timeout=10_000)
    page.wait_for_function("document.getElementById('log').textContent.length > 0", timeout=60_000)
    page.wait_for_selector("#log[data-finished=true]", timeout=120_000)
    log = page.inner_text("#log")
    assert "try 1 of" in log and "rows written" in log
    assert re.search(r"--- try 1 finished: success", log), log[-2000:]
    assert page.inner_text("#log-status") == "finished (success)"
    # Back on the DAG page (the log page's title links to the run): the Gantt of the run
    # and a green cell in the grid for the task that just ran.
    page.click("h1 a")
    page.wait_for_selector("#gantt[data-rendered=true] svg")
    assert page.locator("#run-grid a.sq.state-success").count() >= 1


def test_accounts_page_shows_the_demo_grant(platform, page):
    page.goto(f"{platform.url}/accounts/")
    rows = page.locator("#account-table tbody tr[data-account]")
    assert rows.count() >= 1
    first = rows.first
    assert first.locator("[data-field=status]").inner_text() == "active"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", first.locator("[data-field=expires]").inner_text().strip())
    href = first.locator("a[data-action=reauthorize]").get_attribute("href")
    assert re.fullmatch(r"/accounts/authorize/sandbox/\?organization=\d+&credential=\d+", href)
    assert first.locator("button[data-action=revoke]").get_attribute("data-url").endswith("/revoke/")
