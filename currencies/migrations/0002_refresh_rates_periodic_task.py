"""The daily refresh of ECB reference rates (currencies.refresh_ecb_rates) as a
django-celery-beat PeriodicTask, at 16:45 UTC on weekdays (the ECB publishes at about
16:00 CET; the 90-day file it fetches fills any day a refresh missed).

Idempotent: a task of that name that already exists (perhaps edited in the admin) is
left as it is. Reversing removes the task and its schedule if nothing else uses it.
"""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "Refresh ECB exchange rates"
TASK = "currencies.refresh_ecb_rates"
CRON = {
    "minute": "45",
    "hour": "16",
    "day_of_week": "1-5",
    "day_of_month": "*",
    "month_of_year": "*",
    "timezone": "UTC",
}


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
        description="Stores the ECB's euro reference rates of the last 90 days in the exchange rate table "
        "(mixed-currency reports convert each day at its own rate).",
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
        ("currencies", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_task, delete_periodic_task)]
