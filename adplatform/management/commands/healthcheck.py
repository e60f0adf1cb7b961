"""`manage.py healthcheck [--scheduler]`: print /healthz's JSON; exit 1 when a store is
down, or with --scheduler also when no scheduler is alive (for probes)."""

import json
import sys

from django.core.management.base import BaseCommand

from adplatform.health import platform_health


class Command(BaseCommand):
    help = "Check the metadata DB, ClickHouse and the broker; exit 1 if one is down."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scheduler",
            action="store_true",
            help="also fail when no scheduler has sent a heartbeat lately (the scheduler's probe)",
        )

    def handle(self, *args, **options):
        report = platform_health()
        self.stdout.write(json.dumps(report, indent=2))
        if report["status"] != "ok" or (options["scheduler"] and report["checks"]["scheduler"]["status"] != "ok"):
            sys.exit(1)
