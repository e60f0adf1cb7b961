"""The refresh sweep as a periodic job: the data migration's PeriodicTask, the Celery task,
and the embedded mode's in-process beat finding and running it."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import Credential
from tests.accounts.factories import CredentialFactory, PlatformAppFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("accounts.migrations.0002_refresh_credentials_periodic_task")


def test_migration_created_the_every_10_minutes_task():
    task = PeriodicTask.objects.get(name=migration.TASK_NAME)
    assert task.task == "accounts.refresh_expiring_credentials" and task.enabled
    assert (task.interval.every, task.interval.period) == (10, "minutes")


def test_migration_is_idempotent_and_reversible():
    task = PeriodicTask.objects.get(name=migration.TASK_NAME)
    task.interval.every = 10
    task.description = "edited in the admin"
    task.save()
    migration.create_periodic_task(apps, None)
    assert PeriodicTask.objects.filter(task=migration.TASK).count() == 1
    assert PeriodicTask.objects.get(name=migration.TASK_NAME).description == "edited in the admin"

    migration.delete_periodic_task(apps, None)
    assert not PeriodicTask.objects.filter(task=migration.TASK).exists()
    migration.create_periodic_task(apps, None)
    assert PeriodicTask.objects.filter(task=migration.TASK).count() == 1


def test_embedded_beat_runs_the_sweep(sandbox_server, monkeypatch):
    from adplatform.celery import app as celery_app
    from adplatform.embedded_beat import InProcessScheduler

    app = PlatformAppFactory()
    token = sandbox_server.authorize(sandbox_server.connector(client_id=app.client_id), profile="6:1:3")
    credential = CredentialFactory.from_token(token, app=app)
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=timezone.now() + timedelta(minutes=30))

    scheduler = InProcessScheduler(app=celery_app, lazy=True)
    entry = scheduler.all_as_schedule()[migration.TASK_NAME]
    ran = []
    # the pool's thread would have its own connection; inline, the test's must stay open
    monkeypatch.setattr("adplatform.embedded_beat.close_old_connections", lambda: None)
    scheduler._pool = type("Inline", (), {"submit": lambda self, fn, *args: ran.append(fn(*args))})()
    # what beat does when the entry is due; the task runs inline (in the test's transaction)
    scheduler.apply_async(entry, advance=False)

    assert ran == [None] and sandbox_server.stats["token_refresh"] == 1
    assert Credential.objects.get(pk=credential.pk).access_expires_at > timezone.now() + timedelta(hours=23)
