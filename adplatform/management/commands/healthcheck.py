"""`manage.py healthcheck`: print /healthz's JSON; exit 1 when a store is down (for probes)."""
import json
import sys

from django.core.management.base import BaseCommand

from adplatform.health import platform_health


class Command(BaseCommand):
    help = "Check the metadata DB, ClickHouse and the broker; exit 1 if one is down."

    def handle(self, *args, **options):
        report = platform_health()
        self.stdout.write(json.dumps(report, indent=2))
        if report["status"] != "ok":
            sys.exit(1)
