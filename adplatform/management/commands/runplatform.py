"""`manage.py runplatform`: web server, scheduler, workers and periodic jobs in one process."""

from django.core.management.base import BaseCommand

from adplatform.runtime import Platform


class Command(BaseCommand):
    help = "Run the embedded all-in-one platform (waitress web server plus background components)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8, help="web server threads")

    def handle(self, *args, **options):
        Platform(options["host"], options["port"], threads=options["threads"]).serve_forever()
