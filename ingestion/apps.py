from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IngestionConfig(AppConfig):
    name = "ingestion"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_load_default_templates, sender=self, dispatch_uid="ingestion.default_templates")


def _load_default_templates(sender, using="default", plan=None, **kwargs):
    """`manage.py migrate` leaves the connectors' default DAG templates in place (creates
    the missing ones, never overwrites)."""
    from django.db import DEFAULT_DB_ALIAS

    from ingestion.services.templates import default_templates_enabled, templates_load_defaults

    if using != DEFAULT_DB_ALIAS or not default_templates_enabled():
        return
    templates_load_defaults()
