"""The periodic refresh sweep as a django-celery-beat PeriodicTask (every 10 minutes).

Idempotent: a task of that name that already exists (perhaps edited in the admin) is
left as it is. Reversing removes the task and the schedule if nothing else uses it.
"""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "Refresh expiring credentials"
TASK = "accounts.refresh_expiring_credentials"


def create_periodic_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    every_10_minutes = IntervalSchedule.objects.filter(every=10, period="minutes").order_by(
        "pk"
    ).first() or IntervalSchedule.objects.create(every=10, period="minutes")
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task=TASK,
        interval=every_10_minutes,
        enabled=True,
        description="Refreshes every credential whose token expires within its platform's lead time.",
    )
    # Historical models send no signals: tell running beat schedulers to reload.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete_periodic_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTask.objects.filter(name=TASK_NAME, task=TASK).delete()
    IntervalSchedule.objects.filter(every=10, period="minutes", periodictask__isnull=True).delete()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_task, delete_periodic_task)]
