"""Dispatch: scheduled task instances -> queued, within pool slots, handed to an executor.

Per pool, in one transaction: lock the Pool row (FOR UPDATE SKIP LOCKED: a second
scheduler busy with this pool moves on to the next one instead of waiting), count the
pool's queued and running tries, take at most the free slots' worth of scheduled task
instances (FOR UPDATE SKIP LOCKED), mark them queued with try_number + 1, and only after
commit hand (id, try_number) to the executor (callers hold no transaction). A task instance is therefore dispatched
once per try even with several schedulers, and a pool never exceeds its slots.
On SQLite select_for_update is a no-op; the embedded mode runs one scheduler.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ingestion.models import Pool, TaskInstance
from ingestion.services.manager import pool_ensure
from ingestion.services.task_states import Event, task_instances_transition

logger = logging.getLogger(__name__)
TI = TaskInstance.State


def queue_for(pool: str) -> str | None:
    """Celery queue of a pool's tasks: per-platform queues when INGESTION_QUEUE_PER_POOL is on
    (workers then subscribe with `-Q ingestion.<pool>`), else the default queue."""
    return f"ingestion.{pool}" if getattr(settings, "INGESTION_QUEUE_PER_POOL", False) else None


def task_instances_dispatch(*, executor, limit: int | None = None, now: datetime | None = None) -> int:
    """Dispatch at most `limit` tries (default INGESTION_DISPATCH_BATCH) over all pools."""
    now = now or timezone.now()
    if limit is None:
        limit = getattr(settings, "INGESTION_DISPATCH_BATCH", 5000)
    # DISTINCT in the database: a burst has thousands of scheduled rows and a few pools.
    pools = sorted(TaskInstance.objects.filter(state=TI.SCHEDULED).order_by().values_list("pool", flat=True).distinct())
    dispatched = 0
    for name in pools:
        if dispatched >= limit:
            break
        batch = _claim_pool(name, limit - dispatched, now)
        # Handed over only after the claim committed, so a worker never meets a try that
        # is not queued yet. Callers therefore hold no transaction around this function.
        _submit(executor, batch, queue_for(name))
        dispatched += len(batch)
    return dispatched


def _claim_pool(name: str, limit: int, now: datetime) -> list[tuple[int, int]]:
    if not Pool.objects.filter(name=name).exists():
        pool_ensure(name)
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        pool = Pool.objects.select_for_update(skip_locked=skip_locked).filter(name=name).first()
        if pool is None:  # another scheduler holds it
            return []
        busy = TaskInstance.objects.filter(pool=name, state__in=[TI.QUEUED, TI.RUNNING]).count()
        free = min(pool.slots - busy, limit)
        if free <= 0:
            return []
        claimed = list(
            TaskInstance.objects.select_for_update(skip_locked=skip_locked)
            .filter(pool=name, state=TI.SCHEDULED)
            .order_by("id")
            .values_list("pk", "try_number")[:free]
        )
        if not claimed:
            return []
        ids = [pk for pk, _ in claimed]
        updated = task_instances_transition(Event.CLAIM, ids=ids, now=now)
        if updated == len(claimed):
            # Every row we read was still ours to update (locked, or SQLite's one writer):
            # the new try numbers are known without reading thousands of rows back.
            return [(pk, try_number + 1) for pk, try_number in claimed]
        return list(TaskInstance.objects.filter(pk__in=ids, state=TI.QUEUED).values_list("pk", "try_number"))


def _submit(executor, batch, queue) -> None:
    for pk, try_number in batch:
        try:
            executor.submit(pk, try_number, queue=queue)
        except Exception:
            # Left queued: zombies_reap puts it back after INGESTION_QUEUED_TIMEOUT_SECONDS.
            logger.exception("could not hand task instance %s try %s to %s", pk, try_number, executor)
