"""`manage.py web_seed`: an organization with a user, ad accounts and synthetic report rows,
for the dashboard load benchmark and demos (deterministic from --seed).

Rows go through the report store (`reports.store.report_rows_write`), like fetched rows.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from connectors.base import ReportRow


class Command(BaseCommand):
    help = "Create an organization, a user (--username/--password), ad accounts and daily report rows."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", required=True)
        parser.add_argument("--organization", default="Demo agency")
        parser.add_argument("--accounts", type=int, default=5)
        parser.add_argument("--campaigns", type=int, default=20, help="campaigns per account")
        parser.add_argument("--days", type=int, default=60, help="days of daily rows, ending today")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        from accounts.models import AdAccount, Membership, Organization
        from reports.store import report_rows_write

        rng = random.Random(options["seed"])  # noqa: S311 (seeded demo data)
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=options["username"])
        user.set_password(options["password"])
        user.save()
        org, _ = Organization.objects.get_or_create(name=options["organization"])
        Membership.objects.get_or_create(user=user, organization=org, defaults={"role": "admin"})
        today = timezone.localdate()
        rows_written = 0
        for a in range(options["accounts"]):
            account, _ = AdAccount.objects.get_or_create(
                organization=org,
                platform="sandbox",
                external_id=f"seed-{options['seed']}-{a}",
                defaults={"name": f"Seed account {a + 1}", "currency": "USD", "timezone": "UTC"},
            )
            rows = []
            per_day: dict[date, list] = {}
            for c in range(options["campaigns"]):
                scale = rng.uniform(0.2, 3.0)
                for d in range(options["days"]):
                    day = today - timedelta(days=d)
                    impressions = int(rng.uniform(500, 5000) * scale)
                    clicks = int(impressions * rng.uniform(0.005, 0.04))
                    cost = Decimal(clicks * rng.uniform(0.2, 1.5)).quantize(Decimal("0.01"))
                    conversions = float(int(clicks * rng.uniform(0.01, 0.1)))
                    rows.append(self._row("campaign", f"c{a}-{c}", day, impressions, clicks, cost, conversions))
                    total = per_day.setdefault(day, [0, 0, Decimal(0), 0.0])
                    total[0] += impressions
                    total[1] += clicks
                    total[2] += cost
                    total[3] += conversions
            # The account level is the sum of its campaigns, as a platform reports it.
            rows += [self._row("account", account.external_id, day, *t) for day, t in per_day.items()]
            report_rows_write(account=account, rows=rows, run_id="seed")
            rows_written += len(rows)
        self.stdout.write(
            f"seeded organization {org.pk} ({options['accounts']} accounts, {rows_written} report rows) "
            f"for user {user.username}"
        )

    @staticmethod
    def _row(level, entity, day, impressions, clicks, cost, conversions) -> ReportRow:
        return ReportRow(
            level=level,
            granularity="day",
            entity_id=entity,
            stat_time=datetime(day.year, day.month, day.day, tzinfo=ZoneInfo("UTC")),
            impressions=impressions,
            clicks=clicks,
            cost=cost,
            conversions=conversions,
            currency="USD",
            extra={},
        )
