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
