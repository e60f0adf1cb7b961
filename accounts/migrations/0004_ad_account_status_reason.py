"""AdAccount.status_reason / status_changed_at, and the DAGs' account_paused brought in
step with their account's status once (before, a revoked grant could pause DAGs without
changing the account: an account whose credential was deleted stayed `active` with
`account_paused` DAGs forever)."""

from datetime import UTC, datetime

from django.db import migrations, models

ORPHANED = (
    "its credential was deleted or no longer works: authorize a grant that reaches this account "
    "(Accounts: Authorize), then import it"
)


def bring_in_step(apps, schema_editor):
    from ingestion.cron import CronSchedule

    AdAccount = apps.get_model("accounts", "AdAccount")
    Dag = apps.get_model("ingestion", "Dag")
    now = datetime.now(UTC)
    stuck = AdAccount.objects.filter(status="active", dags__account_paused=True).distinct().select_related("credential")
    for account in stuck:
        if account.credential_id is None or account.credential.status != "active":
            account.status, account.status_reason, account.status_changed_at = "needs_reauth", ORPHANED, now
            account.save(update_fields=["status", "status_reason", "status_changed_at"])
            continue
        for dag in Dag.objects.filter(ad_account=account, account_paused=True):
            dag.account_paused = False
            if not dag.catchup or dag.next_run_at is None:
                dag.next_run_at = CronSchedule(dag.schedule, dag.timezone).next_after(now)
            dag.save(update_fields=["account_paused", "next_run_at", "updated_at"])
    Dag.objects.filter(account_paused=False, ad_account__isnull=False).exclude(ad_account__status="active").update(
        account_paused=True, updated_at=now
    )
    AdAccount.objects.filter(status="needs_reauth", status_reason="").update(
        status_reason="its grant no longer reaches it: re-authorize with a user who has access to this account"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_credential_reauth_warned_for"),
        ("ingestion", "0005_purge_old_runs_periodic_task"),
    ]

    operations = [
        migrations.AddField(
            model_name="adaccount",
            name="status_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="adaccount",
            name="status_reason",
            field=models.TextField(blank=True, help_text="Why the account is not active, and what to do."),
        ),
        migrations.AlterField(
            model_name="adaccount",
            name="status",
            field=models.CharField(
                choices=[
                    ("active", "Active"),
                    ("paused", "Paused"),
                    ("needs_reauth", "Suspended: needs a grant that reaches it"),
                    ("disabled", "Disabled"),
                ],
                db_index=True,
                default="active",
                max_length=16,
            ),
        ),
        migrations.RunPython(bring_in_step, migrations.RunPython.noop),
    ]
