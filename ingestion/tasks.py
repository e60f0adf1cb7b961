"""Celery entry points of ingestion (thin: the work is in services.execution and
services.retention). `ingestion.purge_old_runs` is run daily by the PeriodicTask the data
migration 0005 creates (editable in the admin under Periodic tasks)."""

from celery import shared_task


@shared_task(name="ingestion.tasks.run_task_instance", acks_late=True, ignore_result=True)
def run_task_instance(task_instance_id: int, try_number: int) -> str | None:
    from ingestion.services.execution import task_instance_execute

    return task_instance_execute(task_instance_id=task_instance_id, try_number=try_number)


@shared_task(name="ingestion.purge_old_runs", ignore_result=True)
def purge_old_runs() -> dict:
    from ingestion.services.retention import retention_cutoff, runs_purge

    cutoff = retention_cutoff()
    return runs_purge(older_than=cutoff) if cutoff else {}
