"""Retry a short write when the database says another writer is in the way.

SQLite (the embedded mode) has one writer at a time: a thread that meets another
thread's open write gets "database is locked" (or, with a shared-cache database,
"database table is locked", which ignores the busy timeout). MySQL/MariaDB may pick a
transaction as a deadlock victim and roll it back. Either way the write did not happen
and can simply be tried again; the state changes of a try must not be lost to it (a
try whose finish is lost stays running until the zombie reaper retries it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError

T = TypeVar("T")
RETRYABLE = ("database is locked", "database table is locked", "deadlock found", "lock wait timeout")


def is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and any(m in str(exc).lower() for m in RETRYABLE)


def retry_on_lock(fn: Callable[[], T], *, attempts: int = 40, delay: float = 0.05) -> T:
    """Call `fn` (which owns its transaction) again while it fails with a lock error."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except OperationalError as exc:
            if attempt == attempts or not is_lock_error(exc):
                raise
            time.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 (jitter, not a secret)
    raise AssertionError("unreachable")
