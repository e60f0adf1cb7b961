"""Per-try task logs: capture logging and printed output of one try into TaskLog chunks.

Capture is per thread, not per process: the in-process executor runs several tries at
once in one process, so a root logging handler and a `sys.stdout` proxy route each
record or write to the try whose thread produced it (the operator's thread and the
thread supervising it). Chunks are flushed by the heartbeat thread while the task runs,
so the web UI can tail a running task; `close()` writes the final chunk.
"""

from __future__ import annotations

import io
import logging
import sys
import threading

from ingestion.models import TaskLog

FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")

_captures: dict[int, TryLog] = {}  # thread ident -> the try it writes for
_install_lock = threading.Lock()
_installed = False


class TryLog:
    def __init__(self, task_instance_id: int, try_number: int):
        self.task_instance_id = task_instance_id
        self.try_number = try_number
        self._buffer: list[str] = []
        self._lock = threading.Lock()
        self._seq = TaskLog.objects.filter(task_instance_id=task_instance_id, try_number=try_number).count()
        self.closed = False

    def write(self, text: str) -> None:
        if text:
            with self._lock:
                self._buffer.append(text)

    def flush(self, *, final: bool = False) -> None:
        with self._lock:
            if self.closed:
                return
            text = "".join(self._buffer)
            if not text and not final:
                return
            TaskLog.objects.create(
                task_instance_id=self.task_instance_id,
                try_number=self.try_number,
                seq=self._seq,
                text=text,
                is_final=final,
            )
            # Cleared only once written: a flush that failed (a locked database) keeps its text for the next one.
            self._buffer.clear()
            self._seq += 1
            if final:
                self.closed = True

    def close(self) -> None:
        self.flush(final=True)

    def attach(self, thread_ident: int | None = None) -> None:
        _install()
        _captures[thread_ident or threading.get_ident()] = self

    def detach(self, thread_ident: int | None = None) -> None:
        _captures.pop(thread_ident or threading.get_ident(), None)


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        target = _captures.get(record.thread) if record.thread is not None else None
        if target is not None:
            try:
                target.write(FORMAT.format(record) + "\n")
            except Exception:  # a log line must never break the task
                self.handleError(record)


_HANDLER = _Handler(level=logging.DEBUG)


class _StreamProxy(io.TextIOBase):
    """Stands in for sys.stdout/stderr: captured threads write into their try's log."""

    def __init__(self, original):
        self.original = original

    def write(self, text: str) -> int:
        target = _captures.get(threading.get_ident())
        if target is not None:
            target.write(text)
            return len(text)
        return self.original.write(text)

    def flush(self) -> None:
        self.original.flush()

    def __getattr__(self, name):
        return getattr(self.original, name)


def _install() -> None:
    global _installed
    with _install_lock:
        root = logging.getLogger()
        if not _installed:
            # The operators' logger records INFO whatever the root level (a worker started
            # with --loglevel=WARNING still keeps full task logs).
            task = logging.getLogger("ingestion.task")
            if task.level == logging.NOTSET:
                task.setLevel(logging.INFO)
            _installed = True
        # Checked on every attach: something else may have replaced the root handlers (a
        # Celery worker hijacks the root logger) or swapped the streams (a test runner's
        # capture, a worker redirecting its output) since.
        if _HANDLER not in root.handlers:
            root.addHandler(_HANDLER)
        if not isinstance(sys.stdout, _StreamProxy):
            sys.stdout = _StreamProxy(sys.stdout)
        if not isinstance(sys.stderr, _StreamProxy):
            sys.stderr = _StreamProxy(sys.stderr)


def task_log_append_final(*, task_instance_id: int, try_number: int, text: str) -> None:
    """Close a try's log from outside its worker (a zombie reaped by the scheduler)."""
    seq = TaskLog.objects.filter(task_instance_id=task_instance_id, try_number=try_number).count()
    TaskLog.objects.create(task_instance_id=task_instance_id, try_number=try_number, seq=seq, text=text, is_final=True)
