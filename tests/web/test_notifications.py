"""Notifications: email to the organization (and a Slack-compatible webhook) on a task's final
failure and on an account needing re-authorization."""

import json

import responses
from django.core import mail

from ingestion.models import TaskInstance
from tests.web import factories
from web.notifications import notify_account_needs_reauth, notify_task_failed, organization_recipients


def test_task_failure_mails_the_organization(dag_a, alice):
    ti = factories.run(dag=dag_a).task_instances.get(task_id="ad_meta_task")
    TaskInstance.objects.filter(pk=ti.pk).update(state="failed", try_number=3, error="PermanentError: boom")
    delivery = notify_task_failed(task_instance_id=ti.pk)
    assert delivery.emails == [alice.email]
    (message,) = mail.outbox
    assert message.to == [alice.email]
    assert dag_a.dag_id in message.subject and "ad_meta_task" in message.subject
    assert "after try 3" in message.body and "PermanentError: boom" in message.body
    assert f"/task-instances/{ti.pk}/log/3/" in message.body


def test_other_organizations_are_not_told(dag_a, bob, org_b):
    ti = factories.run(dag=dag_a).task_instances.first()
    notify_task_failed(task_instance_id=ti.pk)
    assert all(bob.email not in m.to for m in mail.outbox)


@responses.activate
def test_reauth_mails_and_posts_the_webhook(account_a, alice):
    org = account_a.organization
    org.webhook_url = "https://hooks.example.com/services/T000/B000/XXXX"
    org.save()
    responses.post(org.webhook_url, json={"ok": True})
    delivery = notify_account_needs_reauth(ad_account_id=account_a.pk)
    assert delivery.webhook is True and delivery.emails == [alice.email]
    payload = json.loads(responses.calls[0].request.body)
    assert "Alpha" in payload["text"] and "re-authorization" in payload["text"]
    assert "needs re-authorization" in mail.outbox[0].subject


@responses.activate
def test_a_failing_webhook_does_not_raise_and_does_not_log_the_url(account_a, caplog):
    org = account_a.organization
    org.webhook_url = "https://hooks.example.com/services/T000/B000/SECRETPART"
    org.save()
    responses.post(org.webhook_url, status=500)
    delivery = notify_account_needs_reauth(ad_account_id=account_a.pk)
    assert delivery.webhook is False and delivery.errors == ["webhook: HTTPError"]
    assert "SECRETPART" not in caplog.text and "hooks.example.com" in caplog.text


def test_recipients_default_to_members_with_email(org_a, alice):
    emails, webhook = organization_recipients(org_a)
    assert emails == [alice.email] and webhook == ""


def test_unknown_ids_are_ignored(db):
    assert notify_task_failed(task_instance_id=999999) is None
    assert notify_account_needs_reauth(ad_account_id=999999) is None
    assert mail.outbox == []


def test_a_task_failing_its_last_try_in_the_engine_mails_once(
    dag_a, alice, celery_eager, django_capture_on_commit_callbacks
):
    from ingestion.services.execution import task_instance_execute

    ti = factories.run(dag=dag_a).task_instances.get(task_id="ad_meta_task")
    TaskInstance.objects.filter(pk=ti.pk).update(
        operator="web_failing_operator", state="queued", try_number=2, max_tries=2
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert task_instance_execute(task_instance_id=ti.pk, try_number=2) == "failed"
    (message,) = mail.outbox
    assert message.to == [alice.email] and "ad_meta_task failed" in message.subject
    assert "after try 2" in message.body and "sandbox answered 503 three times" in message.body


def test_a_failed_try_with_tries_left_mails_nobody(dag_a, celery_eager, django_capture_on_commit_callbacks):
    from ingestion.services.execution import task_instance_execute

    ti = factories.run(dag=dag_a).task_instances.get(task_id="ad_meta_task")
    TaskInstance.objects.filter(pk=ti.pk).update(
        operator="web_failing_operator", state="queued", try_number=1, max_tries=3
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert task_instance_execute(task_instance_id=ti.pk, try_number=1) == "up_for_retry"
    assert mail.outbox == []


def test_a_credential_needing_reauth_mails_its_accounts_organization(
    account_a, alice, celery_eager, django_capture_on_commit_callbacks
):
    from accounts.models import Credential
    from accounts.services.credentials import credential_mark_needs_reauth

    credential = Credential.objects.create(organization=account_a.organization, platform="sandbox")
    account_a.credential = credential
    account_a.save(update_fields=["credential"])
    with django_capture_on_commit_callbacks(execute=True):
        credential_mark_needs_reauth(credential_id=credential.pk, reason="invalid_grant")
    (message,) = mail.outbox
    assert message.to == [alice.email]
    assert message.subject == "[adplatform] sandbox account Alpha needs re-authorization"
    assert "/accounts/" in message.body
