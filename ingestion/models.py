"""DAG templates (versioned), per-account DAGs, runs, task instances, their logs, pools.

Invariants the services rely on:
- DagRun is UNIQUE(dag, logical_time): a run exists at most once per tick, whoever fires it.
- TaskInstance is UNIQUE(run, task_id); `try_number` counts dispatched tries and guards
  every state change of a running try (see ingestion.services.execution).
- Dag.updated_at is the scheduler's change feed (see ingestion.scheduler.loop).
"""

from __future__ import annotations

from django.db import models


class DagTemplate(models.Model):
    platform = models.CharField(max_length=32)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    spec = models.JSONField()
    version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "name"], name="dag_template_unique_name")]
        ordering = ["platform", "name"]

    def __str__(self) -> str:
        return f"{self.platform}/{self.name} v{self.version}"


class DagTemplateVersion(models.Model):
    template = models.ForeignKey(DagTemplate, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    spec = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "version"], name="dag_template_version_unique")]
        ordering = ["template", "-version"]

    def __str__(self) -> str:
        return f"{self.template.platform}/{self.template.name} v{self.version}"


class Pool(models.Model):
    """Caps how many tries of its tasks are queued or running at once (per platform by default)."""

    name = models.CharField(max_length=64, unique=True)
    slots = models.PositiveIntegerField(default=32)
    description = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.slots} slots)"


class Dag(models.Model):
    dag_id = models.CharField(max_length=250, unique=True)
    template = models.ForeignKey(DagTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="dags")
    template_version = models.PositiveIntegerField(default=1)
    ad_account = models.ForeignKey(
        "accounts.AdAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="dags"
    )
    platform = models.CharField(max_length=32, blank=True)
    schedule = models.CharField(max_length=120)
    timezone = models.CharField(max_length=64, default="UTC")
    max_active_runs = models.PositiveIntegerField(default=1)
    catchup = models.BooleanField(default=False)
    pool = models.CharField(max_length=64, default="default")
    spec = models.JSONField()
    is_paused = models.BooleanField(default=False)
    account_paused = models.BooleanField(default=False)
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "ad_account"], name="dag_unique_template_account")]
        indexes = [models.Index(fields=["is_paused", "account_paused", "next_run_at"], name="dag_active_next")]
        ordering = ["dag_id"]

    def __str__(self) -> str:
        return self.dag_id

    @property
    def is_active(self) -> bool:
        return not self.is_paused and not self.account_paused

    @property
    def tasks(self) -> list[dict]:
        return list(self.spec.get("tasks", []))


class DagRun(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCESS = "success"
        FAILED = "failed"

    class RunType(models.TextChoices):
        SCHEDULED = "scheduled"
        MANUAL = "manual"
        BACKFILL = "backfill"

    # No index of its own: UNIQUE(dag, logical_time) starts with it (one index less to
    # maintain on every insert of a burst of runs).
    dag = models.ForeignKey(Dag, on_delete=models.CASCADE, related_name="runs", db_index=False)
    logical_time = models.DateTimeField()
    run_type = models.CharField(max_length=16, choices=RunType.choices, default=RunType.SCHEDULED)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dag", "logical_time"], name="dag_run_unique_logical_time")]
        indexes = [models.Index(fields=["state", "dag"], name="dag_run_state_dag")]
        ordering = ["-logical_time"]

    def __str__(self) -> str:
        return f"{self.dag_id} @ {self.logical_time.isoformat()} ({self.state})"


class TaskInstance(models.Model):
    class State(models.TextChoices):
        NONE = "none"
        SCHEDULED = "scheduled"
        QUEUED = "queued"
        RUNNING = "running"
        SUCCESS = "success"
        FAILED = "failed"
        UP_FOR_RETRY = "up_for_retry"
        UPSTREAM_FAILED = "upstream_failed"
        SKIPPED = "skipped"

    FINISHED = frozenset({State.SUCCESS, State.FAILED, State.UPSTREAM_FAILED, State.SKIPPED})

    # No index of its own: UNIQUE(run, task_id) starts with it.
    run = models.ForeignKey(DagRun, on_delete=models.CASCADE, related_name="task_instances", db_index=False)
    task_id = models.CharField(max_length=250)
    operator = models.CharField(max_length=100)
    is_dummy = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True)
    upstream_task_ids = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.NONE)
    try_number = models.PositiveIntegerField(default=0)
    max_tries = models.PositiveIntegerField(default=1)
    retry_delay = models.FloatField(default=60.0)
    timeout = models.FloatField(null=True, blank=True)
    pool = models.CharField(max_length=64, default="default")
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    next_try_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    hostname = models.CharField(max_length=200, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "task_id"], name="task_instance_unique_task")]
        indexes = [
            # One index for every state lookup: dispatch (state, pool), and retries, zombies
            # and stale queued tries (state, then a time filter over the few rows of that
            # state: they are bounded by the work in flight, not by history). Each index
            # more is written on every insert and every state change of a burst.
            models.Index(fields=["state", "pool"], name="ti_state_pool"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} of run {self.run_id} ({self.state}, try {self.try_number})"

    @property
    def duration(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None


class TaskLog(models.Model):
    """One chunk of one try's log; chunks are appended while the try runs (live tail)."""

    task_instance = models.ForeignKey(TaskInstance, on_delete=models.CASCADE, related_name="logs")
    try_number = models.PositiveIntegerField()
    seq = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    is_final = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task_instance", "try_number", "seq"], name="task_log_unique_chunk")
        ]
        ordering = ["task_instance", "try_number", "seq"]

    def __str__(self) -> str:
        return f"log of task instance {self.task_instance_id}, try {self.try_number}, chunk {self.seq}"


class SchedulerHeartbeat(models.Model):
    """One row per running scheduler loop, refreshed every few seconds. A dead scheduler
    leaves every store healthy while nothing gets scheduled: /healthz and the DAG pages
    read these rows to say so (see ingestion.scheduler.heartbeat)."""

    name = models.CharField(max_length=200, unique=True, help_text="host:pid:loop")
    hostname = models.CharField(max_length=200)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(db_index=True)
    dags = models.PositiveIntegerField(default=0, help_text="active DAGs in its timing wheel")
    wheel_repairs = models.PositiveIntegerField(
        default=0, help_text="wheel entries its reconciliation restored since it started (each one a bug)"
    )

    class Meta:
        ordering = ["-heartbeat_at"]

    def __str__(self) -> str:
        return self.name
