"""The operators DAG templates name: account metadata, entity metadata, insights (reports).

  account_meta_operator  the account itself: name, currency, timezone, platform status on
                         accounts.AdAccount, and its AdEntity of level account.
  ad_meta_operator       every level below the account the platform has (its spec's
                         levels), or `params["levels"]`; each level upserted page by page,
                         then what a complete fetch did not see is marked deleted.
  insight_operator       `params`: granularity hour (yesterday and today) or day (the
                         default: yesterday plus `lookback_days`, default the platform's
                         report_lookback_days), optional level (default the finest
                         the platform reports below creative). Rows go to ClickHouse.
                         An explicit `start_date`/`end_date` (set on a run's tasks by the
                         real-time fetch of a date range) replaces that window, look-back
                         included: exactly those days are fetched.
Tasks without params run as written (the example template of our users has none).

Every operator reads the run's logical time, never the wall clock, for what it fetches:
re-running a past run fetches that past window again. Each try asks accounts for a valid
token first (refreshed on demand); a token the platform refuses as expired is refreshed and
the work started over once; a revoked grant marks the credential needs_reauth and one
lost account (AccountAccessLost) suspends that account only, both through accounts.

Idempotency: metadata is an upsert; report rows of one try share one new version and a
retry writes the same keys again with a newer one (ReplacingMergeTree keeps the newest,
reads use FINAL), so the engine marks the task successful only after the write returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from connectors.base import GRANULARITIES, LEVELS, Connector, PlatformSpec, ReportRow
from connectors.errors import AccountAccessLost, AuthorizationRevoked, MalformedResponse, PermanentError, TokenExpired
from ingestion.operators.base import Operator, OperatorContext
from ingestion.operators.registry import register_operator
from reports.day_status import DayTally, day_fetch_failed, day_fetch_record
from reports.reconciliation import reconcile_fetch
from reports.services import entities_mark_deleted, entities_upsert
from reports.store import next_version, report_rows_tombstone, report_rows_write
from reports.windows import lookback_problem, report_window

# Report rows between two progress lines in the task log.
LOG_EVERY_ROWS = 50_000
# Creatives are metadata on most platforms; "the finest level" of a report means ads.
REPORT_LEVELS = ("account", "campaign", "ad_group", "ad")


def _fail(context: OperatorContext, message: str) -> PermanentError:
    return PermanentError(f"{context.dag_id}.{context.task_id}: {message}", platform=context.platform)


class AccountOperator(Operator):
    """Shared steps: the account row, a token, the connector. A grant that stops working is
    handed to accounts, which owns the account's state (the engine only records the
    failed try): AccountAccessLost suspends this account only, the credential's other
    accounts keep fetching; AuthorizationRevoked marks the credential needs_reauth (all its
    accounts suspended) and suspends this account in any case (no credential at all, a
    credential marked earlier)."""

    def execute(self, context: OperatorContext) -> None:
        from accounts.models import AdAccount
        from accounts.services.tokens import token_for_account
        from connectors.registry import connector_for_account

        if context.ad_account_id is None:
            raise _fail(context, "this operator needs a DAG made for an ad account (the DAG has none)")
        account = AdAccount.objects.select_related("credential__app").get(pk=context.ad_account_id)
        try:
            token = token_for_account(account)
            connector = connector_for_account(account)
            try:
                self.run(context, account=account, connector=connector, token=token)
            except TokenExpired:
                # The platform refused a token our records call valid (revoked early, clock
                # skew): refresh it unless another worker already did, and go again once.
                # Everything the operators write is idempotent, so starting over is safe.
                context.log.info(
                    "%s refused the access token as expired; refreshing it and starting over", account.platform
                )
                token = token_for_account(account, rejected=token)
                self.run(context, account=account, connector=connector, token=token)
        except AccountAccessLost as exc:
            # The grant still works for the credential's other accounts: only this one stops.
            from accounts.services.ad_accounts import ad_account_suspend

            ad_account_suspend(
                ad_account_id=account.pk,
                reason=f"{exc} (the grant of credential #{account.credential_id} no longer reaches this account)",
            )
            raise
        except AuthorizationRevoked as exc:
            from accounts.services.ad_accounts import ad_account_suspend
            from accounts.services.credentials import credential_mark_needs_reauth

            if account.credential_id is not None:
                credential_mark_needs_reauth(credential_id=account.credential_id, reason=str(exc))
            ad_account_suspend(ad_account_id=account.pk, reason=str(exc))
            raise

    def run(self, context: OperatorContext, *, account, connector: Connector, token) -> None:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def check_params(cls, params: dict, spec: PlatformSpec) -> dict:
        """`params` checked for the platform of `spec`, defaults filled in (raises ParamsInvalid);
        for template validation, which knows the platform but runs nothing."""
        return operator_params(cls.name, params, spec)


def _account_fields(raw: dict) -> dict[str, str]:
    """Currency and timezone from a platform's account object, where it names them (the
    Entity interface has no such fields; platforms with one fixed market do not send them)."""
    found: dict[str, str] = {}
    for obj in (raw, raw.get("customer") if isinstance(raw.get("customer"), dict) else None):
        if not obj:
            continue
        for key in ("timezone", "timezone_name", "timeZone", "time_zone"):
            if isinstance(obj.get(key), str) and obj[key]:
                found.setdefault("timezone", obj[key])
        for key in ("currency", "currencyCode", "currency_code"):
            if isinstance(obj.get(key), str) and obj[key]:
                found.setdefault("currency", obj[key])
    if "timezone" in found:
        try:
            ZoneInfo(found["timezone"])
        except (ValueError, KeyError):
            del found["timezone"]  # an offset or a label we cannot compute with: keep ours
    return found


@register_operator("account_meta_operator")
class AccountMetaOperator(AccountOperator):
    def run(self, context, *, account, connector, token) -> None:
        _params(self, context, connector.spec)
        seen_at = timezone.now()
        entities = list(connector.fetch_metadata(token, _ref(account), "account"))
        if len(entities) != 1 or entities[0].external_id != str(account.external_id):
            got = ", ".join(e.external_id for e in entities) or "nothing"
            raise MalformedResponse(
                f"expected the account {account.external_id} itself, got {got}",
                platform=account.platform,
                account=account.external_id,
            )
        entity = entities[0]
        fields = {
            "name": entity.name[:300],
            "platform_status": (entity.status or "")[:32],
            "raw": entity.raw or {},
            **_account_fields(entity.raw or {}),
        }
        with transaction.atomic():
            changed = [name for name, value in fields.items() if getattr(account, name) != value]
            for name in changed:
                setattr(account, name, fields[name])
            if changed:
                account.save(update_fields=[*changed, "updated_at"])
            entities_upsert(ad_account=account, entities=entities, seen_at=seen_at)
            if "timezone" in changed:
                _dags_follow_timezone(account)
        context.log.info(
            "account %s %r: %s",
            account.external_id,
            account.name,
            f"updated {', '.join(changed)}" if changed else "unchanged",
        )


def _dags_follow_timezone(account) -> None:
    """The account's DAGs tick in its timezone (02:30 there): re-render the existing ones.
    Only those: a DAG the user removed is not brought back."""
    from ingestion.models import Dag
    from ingestion.services.manager import dag_upsert

    for dag in Dag.objects.filter(ad_account=account, template__isnull=False).select_related("template"):
        dag_upsert(template=dag.template, ad_account=account)


@register_operator("ad_meta_operator")
class AdMetaOperator(AccountOperator):
    def run(self, context, *, account, connector, token) -> None:
        levels = _params(self, context, connector.spec)["levels"]
        for level in levels:
            seen_at = timezone.now()
            counts = entities_upsert(
                ad_account=account, entities=connector.fetch_metadata(token, _ref(account), level), seen_at=seen_at
            )
            # Only after the whole level was fetched: a failure half-way raised above.
            gone = entities_mark_deleted(ad_account=account, level=level, seen_before=seen_at)
            context.log.info(
                "%s: %d entities in %d pages (%d deleted on the platform), %d no longer listed",
                level,
                counts["entities"],
                counts["pages"],
                counts["deleted"],
                gone,
            )


@register_operator("insight_operator")
class InsightOperator(AccountOperator):
    takes_date_window = True

    def run(self, context, *, account, connector, token) -> None:
        params = _params(self, context, connector.spec)
        granularity, level = params["granularity"], params["level"]
        # The platform reports in the account's calendar; the DAG's zone is the fallback.
        tz = account.timezone or context.timezone or "UTC"
        if "window" in params:
            start, end = params["window"]
        else:
            start, end = report_window(
                granularity=granularity,
                logical_time=context.logical_time,
                timezone=tz,
                lookback_days=params["lookback_days"] if granularity == "day" else 0,
            )
        version = next_version()
        context.log.info(
            "%s %s report of %s, %s..%s (%s), version %d",
            level,
            granularity,
            account.external_id,
            start,
            end,
            tz,
            version,
        )
        run_id = f"{context.dag_id}/{context.run_id}/{context.task_id}/{context.try_number}"
        ti_id = getattr(context.task_instance, "pk", None)
        tally = DayTally(tz)
        try:
            rows = connector.fetch_report(token, _ref(account), level, granularity, start, end)
            written = report_rows_write(
                account=account, rows=tally.through(_logged(rows, context)), version=version, run_id=run_id
            )
            # The fetch was complete: what it no longer returned is gone on the platform.
            gone = report_rows_tombstone(
                account=account,
                level=level,
                granularity=granularity,
                start=start,
                end=end,
                version=version,
                run_id=run_id,
            )
        except TokenExpired:
            raise  # refreshed and started over by execute()
        except Exception as exc:
            _record_failure(account, granularity, start, end, exc, ti_id, context)
            raise
        context.log.info("%d rows written, %d vanished keys removed (%s..%s)", written, gone, start, end)
        day_fetch_record(
            ad_account=account,
            level=level,
            granularity=granularity,
            start=start,
            end=end,
            tally=tally,
            version=version,
            restatement_days=connector.spec.report_lookback_days,
            task_instance_id=ti_id,
        )
        if granularity == "day" and level != "account":
            reconcile_fetch(
                context=context,
                account=account,
                connector=connector,
                token=token,
                level=level,
                start=start,
                end=end,
                tally=tally,
                task_instance_id=ti_id,
            )


class ParamsInvalid(ValueError):
    """A task's `params` do not fit its operator or the platform; names the field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"params.{field}: {message}")


PARAMS = {
    "account_meta_operator": (),
    "ad_meta_operator": ("levels", "level"),
    "insight_operator": ("granularity", "level", "lookback_days", "start_date", "end_date"),
}
# The longest explicit window a task fetches (the fetch API triggers at most 92 days).
MAX_WINDOW_DAYS = 366


def operator_params(operator: str, params: dict, spec: PlatformSpec) -> dict:
    """The params of a task of `operator` on the platform of `spec`, checked and with
    defaults filled in; raises ParamsInvalid. Pure: templates can be checked without a run."""
    allowed = PARAMS[operator]
    for name in params:
        if name not in allowed:
            takes = f"takes {', '.join(allowed)}" if allowed else "takes no params"
            raise ParamsInvalid(name, f"unknown parameter; {operator} {takes}")
    if operator == "ad_meta_operator":
        has = [lvl for lvl in LEVELS if lvl != "account" and lvl in spec.levels]
        wanted = params.get("levels")
        if "level" in params:  # the one-level spelling some of our users' templates have
            if wanted is not None:
                raise ParamsInvalid("level", "give levels or level, not both")
            if not isinstance(params["level"], str):
                raise ParamsInvalid("level", f"expected a level, got {params['level']!r}")
            wanted = [params["level"]]
        if wanted is None:
            return {"levels": has}
        if not isinstance(wanted, list) or not wanted or not all(isinstance(x, str) for x in wanted):
            raise ParamsInvalid("levels", f"expected a list of levels, got {wanted!r}")
        for n, level in enumerate(wanted):
            if level not in has:
                raise ParamsInvalid(
                    f"levels[{n}]", f"{spec.slug} has no level {level!r} below the account (it has {', '.join(has)})"
                )
        return {"levels": [lvl for lvl in LEVELS if lvl in wanted]}
    if operator == "insight_operator":
        # Day by default: the safe choice for a task that names none (it restates nothing
        # twice and covers the platform's restatement window).
        granularity = params.get("granularity", "day")
        if granularity not in GRANULARITIES or granularity not in spec.granularities:
            raise ParamsInvalid("granularity", f"{granularity!r} is not one of {', '.join(spec.granularities)}")
        level = params.get("level") or [lvl for lvl in REPORT_LEVELS if lvl in spec.levels][-1]
        if level not in spec.levels:
            raise ParamsInvalid("level", f"{spec.slug} has no level {level!r} (it has {', '.join(spec.levels)})")
        lookback = params.get("lookback_days", spec.report_lookback_days)
        if (problem := lookback_problem(lookback)) is not None:
            raise ParamsInvalid("lookback_days", problem)
        window = _window(params)
        return {
            "granularity": granularity,
            "level": level,
            "lookback_days": lookback,
            **({"window": window} if window else {}),
        }
    return {}


def _window(params: dict) -> tuple[date, date] | None:
    if "start_date" not in params and "end_date" not in params:
        return None
    days = {}
    for name in ("start_date", "end_date"):
        if name not in params:
            raise ParamsInvalid(name, "give start_date and end_date together (an explicit window of data days)")
        try:
            days[name] = date.fromisoformat(params[name]) if isinstance(params[name], str) else None
        except ValueError:
            days[name] = None
        if days[name] is None:
            raise ParamsInvalid(name, f"expected a date YYYY-MM-DD, got {params[name]!r}")
    start, end = days["start_date"], days["end_date"]
    if end < start:
        raise ParamsInvalid("end_date", f"the window ends ({end}) before it starts ({start})")
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise ParamsInvalid("end_date", f"a window covers at most {MAX_WINDOW_DAYS} days, got {(end - start).days + 1}")
    return start, end


def _params(operator: Operator, context: OperatorContext, spec: PlatformSpec) -> dict:
    try:
        return operator_params(type(operator).name, context.params, spec)
    except ParamsInvalid as exc:
        raise _fail(context, str(exc)) from None


def _record_failure(account, granularity: str, start: date, end: date, exc: Exception, ti_id, context) -> None:
    """Mark the window's days failed; never hides the fetch's own error."""
    try:
        day_fetch_failed(
            ad_account=account,
            granularity=granularity,
            start=start,
            end=end,
            error=f"{type(exc).__name__}: {exc}",
            task_instance_id=ti_id,
        )
    except Exception:
        context.log.exception("could not mark %s..%s failed in the data status", start, end)


def _ref(account):
    from connectors.registry import account_ref

    return account_ref(account)


def _logged(rows: Iterable[ReportRow], context: OperatorContext) -> Iterator[ReportRow]:
    for n, row in enumerate(rows, 1):
        yield row
        if n % LOG_EVERY_ROWS == 0:
            context.log.info("%d rows fetched", n)
