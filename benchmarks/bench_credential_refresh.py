"""The refresh sweep over many expiring credentials.

`python -m benchmarks credential_refresh [--credentials=10000] [--baseline=1000]`.

N sandbox grants (issued in-process, like the demo's) are stored as credentials of one
organization, every access token expiring within the sandbox's 2-hour lead. One call of
`credentials_refresh_expiring` refreshes them against the sandbox over HTTP (a waitress
server in this process), with `--workers` refreshes at a time (default: 1 on SQLite,
8 on MySQL/MariaDB, as the periodic task does). Checked, not just timed: the sandbox counts exactly one refresh
per credential, every credential holds a new token valid ~24 h, and a second sweep
refreshes nothing.

Baseline (same run): the bare HTTP refresh (connector.refresh, no database, no lock) of
`--baseline` other grants, so the sweep's own cost (row lock, decrypt, encrypt, save)
shows as the difference per credential.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta


def _options(argv) -> dict:
    options = {"credentials": 10_000, "baseline": 1_000, "workers": 0}
    for arg in argv:
        key, _, value = arg.lstrip("-").partition("=")
        if key in options:
            options[key] = int(value)
        elif key == "quick":
            options.update(credentials=500, baseline=200)
    return options


def main(argv: list[str]) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Credential, Organization, PlatformApp
    from accounts.services.tokens import credentials_refresh_expiring
    from connectors import oauth2
    from connectors.http import LocalRateLimiter, set_default_limiter
    from connectors.sandbox import authserver
    from connectors.sandbox.server import SandboxServer
    from connectors.sandbox.world import Profile

    options = _options(argv)
    n = options["credentials"]
    logging.getLogger("accounts").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    server = SandboxServer(threads=16).start()
    settings.PLATFORM_ENDPOINTS = {**(settings.PLATFORM_ENDPOINTS or {}), "sandbox": {"base": server.base}}
    # a fresh in-process limiter; the app below declares a quota far above the spec's 100/s
    set_default_limiter(LocalRateLimiter())
    try:
        # names unique to this run: rows of an earlier run were encrypted with that run's
        # scratch key and cannot be read (or cascaded) now
        run = f"bench-{int(time.time())}"
        app = PlatformApp.objects.create(
            platform="sandbox",
            name=run,
            client_id="bench",
            client_secret="bench-secret",
            extra={"rate_limit": [100_000, 1]},
        )
        organization = Organization.objects.create(name=run)
        profile = Profile.parse("1:1:1")

        started = time.perf_counter()
        soon = timezone.now() + timedelta(hours=1)
        rows = []
        for _ in range(n):
            token = oauth2.token_set(authserver.issue_grant(client_id=app.client_id, profile=profile))
            credential = Credential(organization=organization, platform="sandbox", app=app)
            credential.store(token)
            credential.access_expires_at = soon
            rows.append(credential)
        Credential.objects.bulk_create(rows, batch_size=1000)
        print(
            f"setup: {n} credentials stored in {time.perf_counter() - started:.1f} s "
            f"({connection.vendor}, sandbox at {server.base})",
            flush=True,
        )

        # baseline: bare HTTP refreshes, no database
        from connectors.registry import connector_for_app

        connector = connector_for_app(app)
        grants = [
            oauth2.token_set(authserver.issue_grant(client_id=app.client_id, profile=profile))
            for _ in range(options["baseline"])
        ]
        server.reset()
        started = time.perf_counter()
        for token in grants:
            connector.refresh(token)
        bare = (time.perf_counter() - started) / max(1, len(grants))
        server.reset()

        workers = options["workers"] or (1 if connection.vendor == "sqlite" else 8)
        started = time.perf_counter()
        counts = credentials_refresh_expiring(workers=workers)
        elapsed = time.perf_counter() - started
        refreshes = server.stats["token_refresh"]

        fresh = Credential.objects.filter(
            organization=organization,
            access_expires_at__gt=timezone.now() + timedelta(hours=23),
            last_refreshed_at__isnull=False,
        ).count()
        again = credentials_refresh_expiring()
        print(f"sweep ({workers} workers): {counts}")
        print(f"  {n} credentials in {elapsed:.1f} s = {n / elapsed:.0f}/s, {elapsed / n * 1000:.2f} ms each")
        print(
            f"  baseline bare HTTP refresh (no DB): {bare * 1000:.2f} ms each "
            f"-> sweep overhead {(elapsed / n - bare) * 1000:.2f} ms per credential"
        )
        print(
            f"  sandbox refresh requests: {refreshes} (expected {n}); credentials with a new 24 h token: {fresh}; "
            f"second sweep refreshed {again['refreshed']} (sandbox total {server.stats['token_refresh']})"
        )
        ok = (
            refreshes == n == counts["refreshed"] == fresh
            and again["refreshed"] == 0
            and server.stats["token_refresh"] == n
        )
        print("  one refresh per credential: " + ("YES" if ok else "NO"), flush=True)
        Credential.objects.filter(organization=organization).delete()
        organization.delete()
        app.delete()
    finally:
        server.stop()
        set_default_limiter(None)
