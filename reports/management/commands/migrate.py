"""`manage.py migrate` also applies ClickHouse migrations, so one command prepares both stores."""

from django.core.management.commands.migrate import Command as DjangoMigrate

from reports.clickhouse.migrations import migrate as clickhouse_migrate


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Then applies pending ClickHouse migrations (skip with --skip-clickhouse)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--skip-clickhouse", action="store_true", help="Only migrate the metadata database.")

    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options["skip_clickhouse"] or options.get("plan") or options.get("check_unapplied"):
            return
        if options["database"] != "default":
            return
        verbose = options["verbosity"] >= 1
        if verbose:
            self.stdout.write(self.style.MIGRATE_HEADING("ClickHouse migrations:"))
        applied = clickhouse_migrate(log=self.stdout.write if verbose else (lambda *_: None))
        if verbose and not applied:
            self.stdout.write("  No ClickHouse migrations to apply.")
