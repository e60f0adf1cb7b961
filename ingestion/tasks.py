"""Celery entry points of ingestion (thin: the work is in services.execution)."""
from celery import shared_task


@shared_task(name="ingestion.tasks.run_task_instance", acks_late=True, ignore_result=True)
def run_task_instance(task_instance_id: int, try_number: int) -> str | None:
    from ingestion.services.execution import task_instance_execute

    return task_instance_execute(task_instance_id=task_instance_id, try_number=try_number)
