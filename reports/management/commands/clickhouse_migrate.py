"""Apply (or list with --list) ClickHouse schema migrations only."""

from django.core.management.base import BaseCommand

from reports.clickhouse.migrations import applied, discover, migrate


class Command(BaseCommand):
    help = "Apply pending ClickHouse schema migrations."

    def add_arguments(self, parser):
        parser.add_argument("--list", action="store_true", help="Show each migration and whether it is applied.")

    def handle(self, *args, **options):
        if options["list"]:
            done = applied()
            for m in discover():
                mark = "X" if m.version in done else " "
                self.stdout.write(f"[{mark}] {m.version:04d}_{m.name}")
            return
        applied_now = migrate(log=self.stdout.write)
        self.stdout.write(f"{len(applied_now)} ClickHouse migration(s) applied.")
