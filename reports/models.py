"""Metadata in the relational database: every platform's levels in one entity table.

One row per (ad account, level, external id) with its parent, name, status and the
platform's raw object. An entity that disappears from the platform is marked
`deleted_at`, never removed, so old report rows keep their names.
"""

from __future__ import annotations

from django.db import models


class AdEntity(models.Model):
    class Level(models.TextChoices):
        ACCOUNT = "account"
        CAMPAIGN = "campaign"
        AD_GROUP = "ad_group"
        AD = "ad"
        CREATIVE = "creative"

    ad_account = models.ForeignKey("accounts.AdAccount", on_delete=models.CASCADE, related_name="entities")
    platform = models.CharField(max_length=32)
    level = models.CharField(max_length=16, choices=Level.choices)
    external_id = models.CharField(max_length=64)
    parent_external_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=32, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ad_account", "level", "external_id"], name="ad_entity_unique")]
        indexes = [models.Index(fields=["ad_account", "level", "parent_external_id"], name="ad_entity_parent")]
        verbose_name_plural = "ad entities"

    def __str__(self) -> str:
        return f"{self.level} {self.name or self.external_id}"


class DayFetch(models.Model):
    """The totals one fetch returned for one (ad account, level, granularity, local day):
    the restatement history. Written by the insight operator after its rows were stored;
    consecutive fetches of the same key that differ are a restatement."""

    ad_account = models.ForeignKey("accounts.AdAccount", on_delete=models.CASCADE, related_name="day_fetches")
    level = models.CharField(max_length=16)
    granularity = models.CharField(max_length=8)
    day = models.DateField(help_text="the account's local date")
    fetched_at = models.DateTimeField()
    version = models.PositiveBigIntegerField(help_text="the report_rows version the fetch wrote")
    task_instance = models.ForeignKey(
        "ingestion.TaskInstance", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows = models.PositiveIntegerField(default=0)
    impressions = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=24, decimal_places=6, default=0)
    conversions = models.FloatField(default=0)
    currency = models.CharField(max_length=8, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["ad_account", "day", "level", "granularity", "fetched_at"], name="day_fetch_key")
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.granularity} {self.day} fetched {self.fetched_at:%Y-%m-%d %H:%M}"


class DayStatus(models.Model):
    """Completeness and finality of one (ad account, granularity, local day), as the fetches
    that wrote it left it (never recomputed from ClickHouse on a page view).

    `state` is what the last successful fetch found: partial (the day had not ended),
    preliminary (ended, but inside the platform's restatement window), final (fetched after
    that window closed); empty when no fetch succeeded yet. A fetch that failed after the
    last success sets `failed_at`. `reconciliation` is the last check against the
    platform's own account total: reconciled or mismatch (empty: not checked)."""

    class State(models.TextChoices):
        PARTIAL = "partial"
        PRELIMINARY = "preliminary"
        FINAL = "final"

    class Reconciliation(models.TextChoices):
        RECONCILED = "reconciled"
        MISMATCH = "mismatch"

    ad_account = models.ForeignKey("accounts.AdAccount", on_delete=models.CASCADE, related_name="day_statuses")
    granularity = models.CharField(max_length=8)
    day = models.DateField(help_text="the account's local date")
    state = models.CharField(max_length=16, choices=State.choices, blank=True)
    hours_present = models.PositiveSmallIntegerField(
        default=0, help_text="hourly: local hours with rows; daily: hours of the day that had passed when fetched"
    )
    hours_in_day = models.PositiveSmallIntegerField(default=24, help_text="23 or 25 on DST change days")
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    task_instance = models.ForeignKey(
        "ingestion.TaskInstance", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    failed_task_instance = models.ForeignKey(
        "ingestion.TaskInstance", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reconciliation = models.CharField(max_length=16, choices=Reconciliation.choices, blank=True)
    max_drift_pct = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ad_account", "granularity", "day"], name="day_status_unique"),
        ]
        verbose_name_plural = "day statuses"

    def __str__(self) -> str:
        return f"{self.granularity} {self.day}: {self.state or 'missing'}"


class DayReconciliation(models.Model):
    """One metric of one day: the sum of the fetched lower-level rows against the account
    total the platform itself reports (drift = fetched - platform)."""

    ad_account = models.ForeignKey("accounts.AdAccount", on_delete=models.CASCADE, related_name="reconciliations")
    day = models.DateField()
    level = models.CharField(max_length=16, help_text="the level whose rows were summed")
    metric = models.CharField(max_length=16)
    fetched = models.DecimalField(max_digits=24, decimal_places=6)
    platform = models.DecimalField(max_digits=24, decimal_places=6)
    drift = models.DecimalField(max_digits=24, decimal_places=6)
    drift_pct = models.FloatField(null=True, blank=True)
    within_tolerance = models.BooleanField()
    checked_at = models.DateTimeField()
    task_instance = models.ForeignKey(
        "ingestion.TaskInstance", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ad_account", "day", "level", "metric"], name="day_reconciliation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.level} {self.metric}: drift {self.drift}"


class AccountFreshness(models.Model):
    """Freshness of one account against its SLA: since when it is late, when the
    organization was told (once per lateness), and an optional per-account SLA."""

    ad_account = models.OneToOneField("accounts.AdAccount", on_delete=models.CASCADE, related_name="freshness")
    sla_hours = models.FloatField(
        null=True,
        blank=True,
        help_text="hours after local midnight by which yesterday should be in (empty: platform's)",
    )
    late_since = models.DateTimeField(null=True, blank=True)
    late_day = models.DateField(null=True, blank=True, help_text="the day that was not in on time")
    notified_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "account freshness"

    def __str__(self) -> str:
        return f"freshness of account {self.ad_account_id}: {'late' if self.late_since else 'on time'}"


class SpendAlertRule(models.Model):
    """A rule an organization evaluates after each daily fetch of its accounts."""

    class Kind(models.TextChoices):
        SPEND_STOPPED = "spend_stopped", "spend dropped to zero"
        SPEND_SPIKE = "spend_spike", "spend above N x its 14-day median"
        CPA_SPIKE = "cpa_spike", "CPA above N x its 14-day median"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="spend_rules")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    factor = models.FloatField(default=3.0, help_text="N of the spike rules")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "kind"], name="spend_rule_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (N={self.factor:g})"


class SpendAlert(models.Model):
    """What a rule found for one account and day, with the ClickHouse query that found it."""

    rule = models.ForeignKey(SpendAlertRule, on_delete=models.CASCADE, related_name="alerts")
    ad_account = models.ForeignKey("accounts.AdAccount", on_delete=models.CASCADE, related_name="spend_alerts")
    day = models.DateField()
    value = models.DecimalField(max_digits=24, decimal_places=6)
    baseline = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    message = models.CharField(max_length=500)
    query = models.TextField()
    found_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "ad_account", "day"], name="spend_alert_unique")]

    def __str__(self) -> str:
        return self.message
