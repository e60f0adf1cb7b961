"""The same workload on adplatform and on Apache Airflow 3, end to end, in one run.

`python -m benchmarks airflow_e2e [--quick] [--sizes=1000,10000] [--executors=local,celery]
 [--workers=8] [--wait=0.01] [--rows=100] [--timeout=1800] [--new-dag-timeout=330]`

Workload: N DAGs (1,000 and 10,000; --quick: 200) of the README's four-task shape (a dummy
root, account and ad metadata, then insights), all on the same daily cron, whose next fire
T is the same instant on both sides. Every non-dummy task runs `benchmarks.e2e.work.work`:
a fixed CPU-free wait (--wait) and a fixed batch of rows (--rows) written to one ClickHouse
table, through a sink process that owns the chdb path (embedded ClickHouse opens in one
process only; both systems go through the same sink).

Airflow: from PyPI in its own virtual environment under var/bench/ (created on first use,
the time it took is printed), SQLite as its metadata DB like ours, one DAG per file (as
per-account pipelines are written), configured for throughput as its docs recommend
(parsing processes = CPUs, parallelism = --workers, pools and per-DAG limits that never
hold work back, no examples, DAGs unpaused at creation); the configuration is printed.
Ours: `manage.py scheduler` on SQLite; `local`: its threads executor with --workers
threads in the scheduler process (so its CPU includes the tasks' own work); `celery`:
--workers Celery worker processes over the same Redis as Airflow's CeleryExecutor.

Figures per system: time until the N DAGs are schedulable (ours: created rows are;
Airflow: its DAG processor parsed them), T -> all runs finished, task instances per second
through the engine, scheduler CPU seconds (T -> done; Airflow: scheduler + DAG processor)
and peak RSS, p50/p99 of T -> first task start of each run, and the time a DAG added while
the engine runs takes to become schedulable (ours: to its first run; Airflow: until its DAG
processor has the new file). Goals at 10,000 DAGs: ours at least 10x Airflow's throughput,
at most a tenth of its scheduler CPU, a new DAG schedulable within 1 s.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_SPEC = "apache-airflow[celery]>=3.0,<4"
REDIS = "redis://127.0.0.1:6379"
TICKS = os.sysconf("SC_CLK_TCK")
TASKS = ("account_meta_task", "ad_meta_task", "ad_daily_insight_task")  # the non-dummy ones

AIRFLOW_DAG = """\
from datetime import datetime, timezone

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

from e2e_work import work

with DAG(
    "{dag_id}", schedule="{cron}", start_date=datetime.fromtimestamp({start}, timezone.utc), catchup=False,
    max_active_runs=1, max_active_tasks=16,
) as dag:

    @task
    def step(name, **context):
        work("airflow", context["dag"].dag_id, name, context["run_id"])

    root = EmptyOperator(task_id="dummy_task")
    account = step.override(task_id="account_meta_task")("account_meta_task")
    ads = step.override(task_id="ad_meta_task")("ad_meta_task")
    insights = step.override(task_id="ad_daily_insight_task")("ad_daily_insight_task")
    root >> [account, ads]
    ads >> insights
"""


# --- processes and their cost --------------------------------------------------------------
def _stat(pid: int) -> tuple[float, float] | None:
    """(own CPU seconds, reaped children's CPU seconds) of `pid`, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    own = (int(fields[11]) + int(fields[12])) / TICKS
    reaped = (int(fields[13]) + int(fields[14])) / TICKS
    return own, reaped


def _peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for task_dir in Path(f"/proc/{current}/task").glob("*") if Path(f"/proc/{current}").exists() else []:
            try:
                children = [int(c) for c in (task_dir / "children").read_text().split()]
            except OSError:
                continue
            found.extend(children)
            todo.extend(children)
    return found


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path, cwd: Path = ROOT):
        self.name = name
        self.log = log_dir / f"{name}.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def cpu(self) -> float:
        """Own CPU seconds (not its children's: Airflow's LocalExecutor forks its workers)."""
        stat = _stat(self.proc.pid)
        return stat[0] if stat else 0.0

    def tree_cpu(self) -> float:
        stat = _stat(self.proc.pid)
        total = sum(stat) if stat else 0.0
        for child in _descendants(self.proc.pid):
            child_stat = _stat(child)
            total += child_stat[0] if child_stat else 0.0
        return total

    def peak_rss(self) -> float:
        return _peak_rss_mib(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(check, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    return None


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _cron_at(t: datetime) -> str:
    return f"{t.minute} {t.hour} * * *"


def _next_minute(after: float) -> datetime:
    t = datetime.fromtimestamp(after, UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return t


# --- the sink -------------------------------------------------------------------------
class Sink:
    def __init__(self, scratch: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/rows"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = Process(
            "sink",
            [sys.executable, "-m", "benchmarks.e2e.sink", str(scratch / "e2e-chdb"), str(self.port)],
            env,
            scratch,
        )
        if not _wait_for(self._up, 60):
            raise SystemExit(f"the row sink did not start; see {self.process.log}")

    def _up(self) -> bool:
        try:
            self.rows("none")
            return True
        except OSError:
            return False

    def rows(self, system: str) -> int:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/count?system={system}", timeout=30) as r:
            return json.load(r)["rows"]


# --- ours ------------------------------------------------------------------------------
def _ours_create(n: int, cron: str, due: datetime) -> None:
    from django.utils import timezone

    from ingestion.dagspec import DagSpec, TaskSpec
    from ingestion.models import Dag, DagRun, Pool, TaskInstance, TaskLog

    for model in (TaskLog, TaskInstance, DagRun, Dag):
        model.objects.all()._raw_delete(model.objects.db)
    Pool.objects.update_or_create(name="e2e", defaults={"slots": 1_000_000})
    tasks = (
        TaskSpec("dummy_task", "DummyOperator", downstream=("account_meta_task", "ad_meta_task"), is_dummy=True),
        TaskSpec("account_meta_task", "e2e_work", upstream=("dummy_task",)),
        TaskSpec("ad_meta_task", "e2e_work", upstream=("dummy_task",), downstream=("ad_daily_insight_task",)),
        TaskSpec("ad_daily_insight_task", "e2e_work", upstream=("ad_meta_task",)),
    )
    spec = DagSpec(dag_id="x", schedule_interval=cron, tasks=tasks).to_dict()
    Dag.objects.bulk_create(
        [
            Dag(
                dag_id=f"e2e_{i:05d}",
                platform="sandbox",
                schedule=cron,
                timezone="UTC",
                pool="e2e",
                spec={**spec, "dag_id": f"e2e_{i:05d}"},
                next_run_at=due,
            )
            for i in range(n)
        ],
        batch_size=2000,
    )
    Dag.objects.update(updated_at=timezone.now() - timedelta(hours=1))


def _ours_done(n: int, due: datetime) -> int:
    from ingestion.models import DagRun

    return DagRun.objects.filter(logical_time=due, state=DagRun.State.SUCCESS).count() >= n


def _ours_figures(due: datetime) -> dict:
    from ingestion.models import DagRun, TaskInstance

    runs = list(DagRun.objects.filter(logical_time=due).values_list("pk", "ended_at"))
    starts: dict[int, datetime] = {}
    tis = 0
    for run_id, task_id, started in TaskInstance.objects.filter(run__logical_time=due).values_list(
        "run_id", "task_id", "started_at"
    ):
        tis += 1
        if task_id in TASKS and started is not None:
            starts[run_id] = min(starts.get(run_id, started), started)
    ended = [e for _, e in runs if e is not None]
    return {
        "runs": len(runs),
        "task_instances": tis,
        "finished": max(ended) if ended else None,
        "start_lags": [(s - due).total_seconds() for s in starts.values()],
    }


def _ours_new_dag() -> float | None:
    """Seconds from a DAG's creation (already due) to its first run, with the scheduler running."""
    from ingestion.dagspec import DagSpec, TaskSpec
    from ingestion.models import Dag, DagRun

    spec = DagSpec(
        dag_id="e2e_new", schedule_interval="0 0 1 1 *", tasks=(TaskSpec("dummy_task", "DummyOperator", is_dummy=True),)
    ).to_dict()
    now = datetime.now(UTC)
    dag = Dag.objects.create(
        dag_id="e2e_new", platform="sandbox", schedule="0 0 1 1 *", timezone="UTC", pool="e2e", spec=spec,
        next_run_at=now,
    )  # fmt: skip
    created = time.time()
    run = _wait_for(lambda: DagRun.objects.filter(dag=dag).order_by("created_at").first(), 30, every=0.05)
    return (run.created_at.timestamp() - created) if run else None


def _run_ours(n: int, executor: str, options: dict, sink: Sink, scratch: Path) -> dict:
    from django.conf import settings

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "benchmarks.e2e.settings",
        "BENCH_VAR_DIR": str(settings.VAR_DIR),
        "E2E_SINK_URL": sink.url,
        "E2E_WAIT_SECONDS": str(options["wait"]),
        "E2E_ROWS": str(options["rows"]),
        "INGESTION_SCHEDULER_TIMEOUT_SECONDS": "30",
    }
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    began = time.time()
    due = _next_minute(time.time() + 15)
    _ours_create(n, _cron_at(due), due)
    schedulable = time.time() - began
    processes = []
    if executor == "celery":
        broker = f"{REDIS}/13"
        subprocess.run(["redis-cli", "-n", "13", "flushdb"], capture_output=True, check=False)
        env = {**env, "CELERY_BROKER_URL": broker, "INGESTION_EXECUTOR": "celery"}
        worker_argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "adplatform",
            "worker",
            "-q",
            "-c",
            str(options["workers"]),
        ]
        processes.append(Process("ours-celery-worker", worker_argv, env, scratch))
        scheduler = Process("ours-scheduler", [*manage, "scheduler"], env, scratch)
    else:
        scheduler = Process(
            "ours-scheduler", [*manage, "scheduler", "--threads", str(options["workers"])], env, scratch
        )
    processes.append(scheduler)
    try:
        time.sleep(max(0.0, due.timestamp() - time.time()))
        cpu_before, tree_before = scheduler.cpu(), sum(p.tree_cpu() for p in processes)
        done = _wait_for(lambda: _ours_done(n, due), options["timeout"], every=0.5)
        cpu, tree = scheduler.cpu() - cpu_before, sum(p.tree_cpu() for p in processes) - tree_before
        figures = _ours_figures(due)
        new_dag = _ours_new_dag()
        peak = scheduler.peak_rss()
    finally:
        for p in processes:
            p.stop()
    return {
        **figures,
        "complete": bool(done),
        "due": due,
        "schedulable": schedulable,
        "scheduler_cpu": cpu,
        "all_cpu": tree,
        "peak_rss": peak,
        "new_dag": new_dag,
        "rows": sink.rows("ours"),
    }


# --- Airflow -----------------------------------------------------------------------------
def _airflow_venv() -> tuple[Path, float | None]:
    venv = Path(os.environ.get("BENCH_AIRFLOW_VENV", ROOT / "var" / "bench" / "airflow-venv"))
    python = venv / "bin" / "python"
    if python.exists() and (venv / "bin" / "airflow").exists():
        return venv, None
    began = time.perf_counter()
    print(f"creating Airflow's virtual environment in {venv} ({AIRFLOW_SPEC}) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", AIRFLOW_SPEC], check=True)
    return venv, time.perf_counter() - began


def _airflow_env(home: Path, executor: str, options: dict, sink: Sink, api_port: int) -> dict[str, str]:
    sqlite = f"sqlite:///{home / 'airflow.db'}"
    config = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if executor == "celery" else "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": str(options["workers"]),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "16",
        "AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT": "1000000",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlite,
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": str(os.cpu_count() or 2),
        "AIRFLOW__SCHEDULER__MAX_DAGRUNS_TO_CREATE_PER_LOOP": "1000",
        "AIRFLOW__SCHEDULER__MAX_DAGRUNS_PER_LOOP_TO_SCHEDULE": "1000",
        "AIRFLOW__SCHEDULER__MAX_TIS_PER_QUERY": "1024",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CELERY__BROKER_URL": f"{REDIS}/14",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{sqlite}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(options["workers"]),
    }
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))},
        "AIRFLOW_HOME": str(home),
        "E2E_SINK_URL": sink.url,
        "E2E_WAIT_SECONDS": str(options["wait"]),
        "E2E_ROWS": str(options["rows"]),
        **config,
    }


def _sql(home: Path, query: str, *args) -> list[tuple]:
    db = home / "airflow.db"
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as c:
        try:
            return c.execute(query, args).fetchall()
        except sqlite3.OperationalError:
            return []


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text[10:] else datetime.fromisoformat(text)


def _run_airflow(n: int, executor: str, options: dict, sink: Sink, scratch: Path, venv: Path) -> dict:
    home = scratch / f"airflow-{executor}-{n}"
    shutil.rmtree(home, ignore_errors=True)
    dags = home / "dags"
    dags.mkdir(parents=True)
    shutil.copy(ROOT / "benchmarks" / "e2e" / "work.py", dags / "e2e_work.py")
    (dags / ".airflowignore").write_text("e2e_work.py\n")
    # The DAG processor has to parse every file before T: give it room (the time it took is measured).
    due = _next_minute(time.time() + options["parse_margin"](n))
    for i in range(n):
        # start_date just before T: no earlier tick exists to be run at once on first parse.
        source = AIRFLOW_DAG.format(dag_id=f"e2e_{i:05d}", cron=_cron_at(due), start=due.timestamp() - 30)
        (dags / f"e2e_{i:05d}.py").write_text(source)
    api_port = _free_port()
    env = _airflow_env(home, executor, options, sink, api_port)
    airflow = str(venv / "bin" / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, cwd=home, capture_output=True, check=True)
    if executor == "celery":
        subprocess.run(["redis-cli", "-n", "14", "flushdb"], capture_output=True, check=False)
    began = time.time()
    api = Process("airflow-api-server", [airflow, "api-server", "--port", str(api_port)], env, home, cwd=home)
    processor = Process("airflow-dag-processor", [airflow, "dag-processor"], env, home, cwd=home)
    scheduler = Process("airflow-scheduler", [airflow, "scheduler"], env, home, cwd=home)
    processes = [api, processor, scheduler]
    if executor == "celery":
        processes.append(Process("airflow-celery-worker", [airflow, "celery", "worker"], env, home, cwd=home))
    try:
        parsed = _wait_for(
            lambda: (_sql(home, "SELECT count(*) FROM dag WHERE dag_id LIKE 'e2e_%'") or [(0,)])[0][0] >= n,
            max(0.0, due.timestamp() - time.time()) + options["timeout"],
            every=1.0,
        )
        schedulable = time.time() - began if parsed else None
        time.sleep(max(0.0, due.timestamp() - time.time()))
        cpu_before = scheduler.cpu() + processor.cpu()
        tree_before = sum(p.tree_cpu() for p in processes)

        def done() -> bool:
            rows = _sql(
                home, "SELECT count(*) FROM dag_run WHERE dag_id LIKE 'e2e_%' AND state = 'success' AND run_after >= ?",
                due.strftime("%Y-%m-%d %H:%M:%S"),
            )  # fmt: skip
            return bool(rows) and rows[0][0] >= n

        complete = _wait_for(done, options["timeout"], every=1.0)
        cpu = scheduler.cpu() + processor.cpu() - cpu_before
        tree = sum(p.tree_cpu() for p in processes) - tree_before
        at = due.strftime("%Y-%m-%d %H:%M:%S")
        runs = _sql(home, "SELECT run_id, end_date FROM dag_run WHERE dag_id LIKE 'e2e_%' AND run_after >= ?", at)
        tis = _sql(
            home,
            "SELECT ti.dag_id, ti.run_id, ti.task_id, ti.start_date FROM task_instance ti JOIN dag_run r "
            "ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id WHERE ti.dag_id LIKE 'e2e_%' AND r.run_after >= ?",
            at,
        )
        starts: dict[tuple[str, str], datetime] = {}
        for dag_id, run_id, task_id, start in tis:
            when = _when(start)
            if task_id in TASKS and when is not None:
                starts[(dag_id, run_id)] = min(starts.get((dag_id, run_id), when), when)
        ended = [e for e in (_when(end) for _, end in runs) if e is not None]
        peak = scheduler.peak_rss() + processor.peak_rss()
        new_dag = _airflow_new_dag(home, options["new_dag_timeout"])
    finally:
        for p in processes:
            p.stop()
    return {
        "runs": len(runs),
        "task_instances": len(tis),
        "finished": max(ended) if ended else None,
        "start_lags": [(s - due).total_seconds() for s in starts.values()],
        "complete": bool(complete),
        "due": due,
        "schedulable": schedulable,
        "scheduler_cpu": cpu,
        "all_cpu": tree,
        "peak_rss": peak,
        "new_dag": new_dag,
        "rows": sink.rows("airflow"),
        "config": {k: v for k, v in env.items() if k.startswith("AIRFLOW__")},
    }


def _airflow_new_dag(home: Path, timeout: float) -> float | None:
    """Seconds from writing a new DAG file to the DAG processor having it in the database."""
    written = time.time()
    (home / "dags" / "e2e_new.py").write_text(AIRFLOW_DAG.format(dag_id="e2e_new", cron="0 0 1 1 *", start=written))
    found = _wait_for(lambda: _sql(home, "SELECT 1 FROM dag WHERE dag_id = 'e2e_new'"), timeout, every=0.5)
    return time.time() - written if found else None


# --- report ------------------------------------------------------------------------------
def _options(argv: list[str]) -> dict:
    options = {
        "sizes": [1000, 10000],
        "executors": ["local", "celery"],
        "workers": 8,
        "wait": 0.01,
        "rows": 100,
        "timeout": 1800.0,
        "new_dag_timeout": 330.0,
        "per_file": 0.15,
    }
    for arg in argv:
        name, _, value = arg.lstrip("-").partition("=")
        if name == "quick":
            options["sizes"] = [200]
        elif name == "sizes":
            options["sizes"] = [int(v) for v in value.split(",")]
        elif name == "executors":
            options["executors"] = value.split(",")
        elif name in ("workers", "rows"):
            options[name] = int(value)
        elif name in ("wait", "timeout", "per_file"):
            options[name] = float(value)
        elif name == "new-dag-timeout":
            options["new_dag_timeout"] = float(value)
        else:
            raise SystemExit(f"unknown option --{name}")
    per_file, cpus = options["per_file"], os.cpu_count() or 2
    options["parse_margin"] = lambda n: 60 + n * per_file / cpus
    return options


def _line(label: str, ours: dict, theirs: dict, n: int) -> None:
    def throughput(r: dict) -> float:
        span = (r["finished"] - r["due"]).total_seconds() if r["finished"] else float("nan")
        return r["task_instances"] / span if span and span > 0 else float("nan")

    def span(r: dict) -> str:
        return f"{(r['finished'] - r['due']).total_seconds():.1f} s" if r["finished"] else "-"

    def seconds(value: float | None) -> str:
        return f"{value:.2f} s" if value is not None else "timed out"

    rows = [
        ("runs finished / expected", lambda r: f"{r['runs']} / {n}{'' if r['complete'] else ' (incomplete)'}"),
        ("rows written / expected", lambda r: f"{r['rows']:,}"),
        ("N DAGs schedulable after", lambda r: seconds(r["schedulable"])),
        ("due -> all runs finished", span),
        ("task instances / s", lambda r: f"{throughput(r):.1f}"),
        ("scheduler CPU (due -> done)", lambda r: f"{r['scheduler_cpu']:.1f} s"),
        ("all processes' CPU", lambda r: f"{r['all_cpu']:.1f} s"),
        ("scheduler peak RSS", lambda r: f"{r['peak_rss']:.0f} MiB"),
        ("due -> task start p50", lambda r: f"{_pct(r['start_lags'], 0.5):.2f} s"),
        ("due -> task start p99", lambda r: f"{_pct(r['start_lags'], 0.99):.2f} s"),
        ("new DAG schedulable after", lambda r: seconds(r["new_dag"])),
    ]
    print(f"\n{n:,} DAGs, {label} executor:")
    print(f"  {'':30} {'ours':>22} {'Airflow':>22}")
    for name, fn in rows:
        print(f"  {name:30} {fn(ours):>22} {fn(theirs):>22}")
    ratio_tp = throughput(ours) / throughput(theirs) if throughput(theirs) else float("nan")
    ratio_cpu = ours["scheduler_cpu"] / theirs["scheduler_cpu"] if theirs["scheduler_cpu"] else float("nan")
    print(f"  throughput: ours {ratio_tp:.1f}x Airflow's (goal >= 10x)")
    print(f"  scheduler CPU: ours {ratio_cpu:.3f} of Airflow's (goal <= 0.1)")
    new = ours["new_dag"]
    print(f"  new DAG: ours {seconds(new)} (goal < 1 s: {'PASS' if new is not None and new < 1 else 'MISS'})")


def main(argv: list[str]) -> None:
    from django.conf import settings
    from django.core.management import call_command

    options = _options(argv)
    expected_rows = options["rows"] * len(TASKS)
    print(
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; sizes "
        f"{options['sizes']}, executors {options['executors']}, {options['workers']} workers, wait "
        f"{options['wait']} s and {options['rows']} rows per task ({expected_rows} rows per run)",
        flush=True,
    )
    venv, created = _airflow_venv()
    version = subprocess.run([str(venv / "bin" / "airflow"), "version"], capture_output=True, text=True).stdout.strip()
    print(f"Airflow {version.splitlines()[-1] if version else '?'} in {venv}", end="")
    print(f" (created in {created:.0f} s)" if created is not None else " (existing)", flush=True)
    call_command("migrate", verbosity=0)
    scratch = Path(settings.VAR_DIR) / "e2e"
    scratch.mkdir(parents=True, exist_ok=True)
    sink = Sink(scratch)
    printed_config = False
    try:
        for n in options["sizes"]:
            for executor in options["executors"]:
                began = time.perf_counter()
                before = sink.rows("ours")
                ours = _run_ours(n, executor, options, sink, scratch)
                ours["rows"] -= before
                print(f"  ours, {n:,} DAGs, {executor}: measured in {time.perf_counter() - began:.0f} s", flush=True)
                began = time.perf_counter()
                before = sink.rows("airflow")
                theirs = _run_airflow(n, executor, options, sink, scratch, venv)
                theirs["rows"] -= before
                print(f"  Airflow, {n:,} DAGs, {executor}: measured in {time.perf_counter() - began:.0f} s", flush=True)
                if not printed_config:
                    print("  Airflow configuration: " + ", ".join(f"{k}={v}" for k, v in theirs["config"].items()))
                    printed_config = True
                print(f"  rows expected per system: {n * expected_rows:,}")
                _line(executor, ours, theirs, n)
    finally:
        sink.process.stop()
    print(f"\nload average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
