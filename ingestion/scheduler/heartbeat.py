"""Scheduler liveness: each scheduler loop upserts its SchedulerHeartbeat row every
HEARTBEAT_EVERY seconds; a row older than INGESTION_SCHEDULER_TIMEOUT_SECONDS (default 30)
means that scheduler is gone.

Why a row and not a process check: schedulers run anywhere (a thread of runplatform, or
`manage.py scheduler` on other machines), and the one thing every web process can read is
the metadata database. Like Airflow's scheduler heartbeat, it tells "the stores are up but
nothing is being scheduled", which no store check can.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ingestion.models import SchedulerHeartbeat

HEARTBEAT_EVERY = 5.0  # seconds
# Rows of schedulers that stopped without saying so (killed) are deleted after this long.
FORGET_AFTER = timedelta(days=1)


def scheduler_timeout() -> timedelta:
    return timedelta(seconds=getattr(settings, "INGESTION_SCHEDULER_TIMEOUT_SECONDS", 30))


def heartbeat_name(loop_name: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{loop_name}"


def heartbeat_beat(
    *, name: str, started_at: datetime, dags: int, repairs: int = 0, now: datetime | None = None
) -> None:
    now = now or timezone.now()
    updated = SchedulerHeartbeat.objects.filter(name=name).update(heartbeat_at=now, dags=dags, wheel_repairs=repairs)
    if not updated:  # its first beat: the name holds this host and process, no other writes it
        SchedulerHeartbeat.objects.create(
            name=name,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            started_at=started_at,
            heartbeat_at=now,
            dags=dags,
            wheel_repairs=repairs,
        )
        SchedulerHeartbeat.objects.filter(heartbeat_at__lt=now - FORGET_AFTER).delete()


def heartbeat_remove(*, name: str) -> None:
    """A scheduler stopping cleanly says so at once instead of timing out."""
    SchedulerHeartbeat.objects.filter(name=name).delete()


def scheduler_status(*, now: datetime | None = None) -> dict:
    """{"alive": bool, "schedulers": [the live ones], "last_heartbeat_at": datetime | None}.
    One read: the table holds a row per scheduler (rows of dead ones go after a day)."""
    now = now or timezone.now()
    rows = list(SchedulerHeartbeat.objects.order_by("-heartbeat_at"))
    alive = [row for row in rows if row.heartbeat_at >= now - scheduler_timeout()]
    return {"alive": bool(alive), "schedulers": alive, "last_heartbeat_at": rows[0].heartbeat_at if rows else None}
