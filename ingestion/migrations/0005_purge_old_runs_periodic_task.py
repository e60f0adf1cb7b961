"""The daily purge of old runs (ingestion.purge_old_runs) as a django-celery-beat
PeriodicTask, at 03:17 UTC (a quiet hour, off the full hour most DAGs fire at).

Idempotent: a task of that name that already exists (perhaps edited in the admin) is
left as it is. Reversing removes the task and its schedule if nothing else uses it.
"""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "Purge old DAG runs"
TASK = "ingestion.purge_old_runs"
CRON = {"minute": "17", "hour": "3", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*", "timezone": "UTC"}


def create_periodic_task(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    daily = CrontabSchedule.objects.filter(**CRON).order_by("pk").first() or CrontabSchedule.objects.create(**CRON)
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task=TASK,
        crontab=daily,
        enabled=True,
        description="Deletes finished runs older than INGESTION_RUN_RETENTION_DAYS with their task instances "
        "and logs (each DAG's latest run is kept).",
    )
    # Historical models send no signals: tell running beat schedulers to reload.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete_periodic_task(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTask.objects.filter(name=TASK_NAME, task=TASK).delete()
    CrontabSchedule.objects.filter(periodictask__isnull=True, **CRON).delete()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0004_scheduler_heartbeat"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_task, delete_periodic_task)]
