"""Signals the engine sends (receivers: web notifications, ...).

task_failed(task_instance_id=)  a task instance failed for good (no tries left or not retryable)
dag_run_finished(run_id=, state=)  a run reached success or failed
"""

from django.dispatch import Signal

task_failed = Signal()
dag_run_finished = Signal()
