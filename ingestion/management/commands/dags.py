"""`manage.py dags ...`: list, trigger, backfill, pause, resume, test, show (like Airflow's CLI),
materialize (every account's DAGs from the current templates)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ingestion.models import Dag, DagRun, TaskInstance
from ingestion.selectors import dag_graph_text, dags_list


def parse_time(value: str) -> datetime:
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not an ISO 8601 time: {value!r} (e.g. 2026-03-08T02:30:00+00:00 or 2026-03-08)") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Inspect and operate DAGs."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("list", help="DAGs with schedule, state and next run")
        p.add_argument("--platform")
        p = sub.add_parser("trigger", help="create a manual run now (or at --logical-time)")
        p.add_argument("dag_id")
        p.add_argument("--logical-time", type=parse_time)
        p = sub.add_parser("backfill", help="run the DAG for every tick in [--start, --end], resumable")
        p.add_argument("dag_id")
        p.add_argument("--start", type=parse_time, required=True)
        p.add_argument("--end", type=parse_time, required=True)
        for name in ("pause", "resume"):
            sub.add_parser(name, help=f"{name} a DAG").add_argument("dag_id")
        p = sub.add_parser("test", help="run one task in the foreground (nothing recorded) and print its log")
        p.add_argument("dag_id")
        p.add_argument("task_id")
        p.add_argument("--logical-time", type=parse_time)
        sub.add_parser("show", help="tasks and edges as text").add_argument("dag_id")
        p = sub.add_parser(
            "cleanup",
            help="delete finished runs (task instances, logs) older than the retention; each DAG's latest run is kept",
        )
        p.add_argument("--older-than-days", type=float, help="default: INGESTION_RUN_RETENTION_DAYS (30)")
        p.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
        p = sub.add_parser(
            "materialize",
            help="create or update every account's DAGs from the current templates "
            "(after `templates sync` added a template)",
        )
        p.add_argument("--platform")

    def handle(self, *args, **options):
        getattr(self, "do_" + options["action"])(options)

    def _dag(self, dag_id: str) -> Dag:
        try:
            return Dag.objects.get(dag_id=dag_id)
        except Dag.DoesNotExist:
            raise CommandError(f"no DAG {dag_id!r}; `manage.py dags list` shows them") from None

    def do_cleanup(self, options):
        from ingestion.services.retention import retention_cutoff, runs_purge

        days = options["older_than_days"]
        if days is not None and days <= 0:
            raise CommandError("--older-than-days must be more than 0")
        cutoff = retention_cutoff(days=days)
        if cutoff is None:
            self.stdout.write("retention is off (INGESTION_RUN_RETENTION_DAYS=0): nothing deleted")
            return
        counts = runs_purge(older_than=cutoff, dry_run=options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        self.stdout.write(
            f"{verb} {counts['runs']} finished runs before {cutoff:%Y-%m-%d %H:%M} UTC, "
            f"{counts['task_instances']} task instances, {counts['log_chunks']} log chunks"
        )

    def do_list(self, options):
        rows = dags_list(platform=options.get("platform"))
        self.stdout.write(f"{'dag_id':50} {'schedule':20} {'tz':20} {'state':7} next run")
        for dag in rows:
            state = "active" if dag.is_active else "paused"
            nxt = dag.next_run_at.isoformat() if dag.next_run_at else "-"
            self.stdout.write(f"{dag.dag_id:50} {dag.schedule:20} {dag.timezone:20} {state:7} {nxt}")

    def do_trigger(self, options):
        from ingestion.services.runs import run_trigger

        self._dag(options["dag_id"])
        run, created = run_trigger(dag_id=options["dag_id"], logical_time=options["logical_time"])
        what = "created" if created else "already exists"
        self.stdout.write(f"run {run.pk} of {run.dag.dag_id} at {run.logical_time.isoformat()}: {what} ({run.state})")

    def do_backfill(self, options):
        from tqdm import tqdm

        from ingestion.services.backfill import backfill_plan, dag_backfill

        dag = self._dag(options["dag_id"])
        if options["end"] < options["start"]:
            raise CommandError("--end is before --start")
        total = len(backfill_plan(dag=dag, start=options["start"], end=options["end"]))
        with tqdm(total=total, desc=dag.dag_id, unit="run", file=sys.stderr) as bar:
            counts = dag_backfill(
                dag_id=dag.dag_id, start=options["start"], end=options["end"], on_run_done=lambda run: bar.update(1)
            )
        self.stdout.write(
            f"backfill of {dag.dag_id}: {total} runs; {counts['skipped']} already succeeded (skipped), "
            f"{counts['success']} succeeded, {counts['failed']} failed"
        )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} runs failed; run the same command again to retry them")

    def do_pause(self, options):
        from ingestion.services.manager import dag_set_paused

        self._dag(options["dag_id"])
        dag_set_paused(dag_id=options["dag_id"], paused=True)
        self.stdout.write(f"{options['dag_id']} paused")

    def do_resume(self, options):
        from ingestion.services.manager import dag_set_paused

        self._dag(options["dag_id"])
        dag = dag_set_paused(dag_id=options["dag_id"], paused=False)
        self.stdout.write(f"{dag.dag_id} resumed; next run {dag.next_run_at.isoformat() if dag.next_run_at else '-'}")

    def do_materialize(self, options):
        from django.apps import apps

        from ingestion.services.manager import dags_materialize_for_account

        accounts = apps.get_model("accounts", "AdAccount").objects.order_by("pk")
        if options.get("platform"):
            accounts = accounts.filter(platform=options["platform"])
        before = Dag.objects.count()
        n = 0
        for account_id in accounts.values_list("pk", flat=True).iterator():
            dags_materialize_for_account(ad_account_id=account_id)
            n += 1
        self.stdout.write(f"{n} accounts materialized; {Dag.objects.count() - before} new DAGs")

    def do_show(self, options):
        self.stdout.write(dag_graph_text(dag=self._dag(options["dag_id"])))

    def do_test(self, options):
        from ingestion.operators.base import OperatorContext
        from ingestion.operators.registry import operator_class

        dag = self._dag(options["dag_id"])
        task = next((t for t in dag.spec["tasks"] if t["task_id"] == options["task_id"]), None)
        if task is None:
            raise CommandError(
                f"DAG {dag.dag_id} has no task {options['task_id']!r}; tasks: "
                + ", ".join(t["task_id"] for t in dag.spec["tasks"])
            )
        logical_time = options["logical_time"] or timezone.now().replace(microsecond=0)
        # An unsaved run and task instance: like `airflow tasks test`, nothing is recorded.
        run = DagRun(dag=dag, logical_time=logical_time, run_type=DagRun.RunType.MANUAL)
        ti = TaskInstance(
            run=run,
            task_id=task["task_id"],
            operator=task["operator_name"],
            params=task.get("params") or {},
            try_number=1,
            max_tries=1,
            pool=task.get("pool") or dag.pool,
        )
        handler = logging.StreamHandler(self.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        log = logging.getLogger("ingestion.task")
        context = OperatorContext(
            dag_id=dag.dag_id,
            task_id=ti.task_id,
            run_id=0,
            logical_time=logical_time,
            timezone=dag.timezone,
            params=dict(ti.params),
            ad_account_id=dag.ad_account_id,
            platform=dag.platform,
            try_number=1,
            max_tries=1,
            task_instance=ti,
            log=log,
            extras={"test": True},
        )
        try:
            log.info("testing %s.%s at %s (%s)", dag.dag_id, ti.task_id, logical_time.isoformat(), ti.operator)
            operator_class(ti.operator)().execute(context)
            log.info("task succeeded")
        except Exception as exc:
            log.exception("task failed")
            raise CommandError(f"{dag.dag_id}.{ti.task_id} failed: {type(exc).__name__}: {exc}") from None
        finally:
            root.removeHandler(handler)
