"""`manage.py sandbox`: serve the sandbox ad platform on its own port (benchmarks, manual tests).

    python manage.py sandbox --port 8765 --error-rate 0.05 --latency 0.02 --rate-limit 50

The platform itself serves the same sandbox under /sandbox/; this runs it apart, with
faults configured for the whole run.
"""

import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the sandbox ad platform (OAuth2 server + marketing API) on its own port."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--error-rate", type=float, default=0.0, help="share of API requests answered 503")
        parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API request")
        parser.add_argument("--rate-limit", type=int, default=200, help="requests per second per client before 429")
        parser.add_argument("--access-lifetime", type=int, default=24 * 3600, help="access token lifetime, seconds")

    def handle(self, *args, **o):
        from datetime import timedelta

        from connectors.sandbox.server import SandboxServer
        from connectors.sandbox.state import sandbox

        if not 0 <= o["error_rate"] <= 1:
            self.stderr.write("--error-rate must be between 0 and 1")
            raise SystemExit(2)
        sandbox.configure(
            error_rate=o["error_rate"],
            latency=o["latency"],
            rate_limit_requests=o["rate_limit"],
            access_lifetime=timedelta(seconds=o["access_lifetime"]),
        )
        server = SandboxServer(host=o["host"], port=o["port"], threads=o["threads"]).start()
        self.stdout.write(
            f"sandbox ad platform at {server.base}/ (client secret: '<client_id>-secret'); Ctrl-C stops it"
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.stop()
