"""The contract every connector passes, whatever platform it talks to.

How to run your connector through it: in a test module, subclass `ConnectorContract`
(the class name must start with `Test`) and provide these fixtures (as methods of the
subclass or in a conftest):

    connector     a ready Connector instance
    token         a TokenSet it can fetch with
    account       an AccountRef that has metadata and report rows in `report_range`
    report_range  (start, end) local dates to fetch reports for (keep it to a day or two)
    faults        a `Faults` implementation: each method is a context manager that makes the
                  *next* API request fail that way (the sandbox injects server faults;
                  recorded connectors register a `responses` answer shaped like the
                  platform's documented error body); `slow` (a timeout) is optional

Optional fixtures (defaults below): `recorded` (for `responses`-based connectors: yield an
active `responses.RequestsMock` with your recorded pages, it is used by every test here),
`report_levels` (levels to fetch reports at), `metadata_levels`.

    from tests.connectors.contract import ConnectorContract, Faults

    class MetaFaults(Faults):
        @contextmanager
        def rate_limited(self):
            self.mock.add(responses.GET, re.compile(".*/insights"), status=400, json=RATE_LIMIT_BODY)
            yield
        ...

    class TestMetaContract(ConnectorContract):
        @pytest.fixture
        def recorded(self):
            with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
                load_recorded_pages(mock)
                yield mock
        @pytest.fixture
        def connector(self, recorded): return MetaConnector(APP)
        @pytest.fixture
        def faults(self, recorded): return MetaFaults(recorded)
        ...

Recorded fault responses must be registered so that they take precedence over the
normal pages (e.g. `mock.replace(...)` or inserting before them); the sandbox's version
is tests/connectors/test_sandbox_contract.py.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from connectors.base import CORE_METRICS, GRANULARITIES, LEVELS, AccountInfo, Entity, ReportRow, TokenSet
from connectors.errors import AuthorizationRevoked, MalformedResponse, RateLimited, TokenExpired, TransientError
from connectors.registry import PLATFORMS, connector_class

TEMPLATE_OPERATORS = {"DummyOperator", "account_meta_operator", "ad_meta_operator", "insight_operator"}


class Faults:
    """Arrange that the next API request fails; each method is a context manager."""

    @contextlib.contextmanager
    def rate_limited(self) -> Iterator[None]:  # 429 (or the platform's rate-limit code) with a retry hint
        raise NotImplementedError
        yield

    @contextlib.contextmanager
    def server_error(self) -> Iterator[None]:  # 5xx / the platform's "system busy"
        raise NotImplementedError
        yield

    @contextlib.contextmanager
    def malformed(self) -> Iterator[None]:  # a page with a field of the wrong type or missing
        raise NotImplementedError
        yield

    @contextlib.contextmanager
    def token_expired(self) -> Iterator[None]:
        raise NotImplementedError
        yield

    @contextlib.contextmanager
    def revoked(self) -> Iterator[None]:
        raise NotImplementedError
        yield

    @contextlib.contextmanager
    def slow(self) -> Iterator[None]:
        """The next request times out (a slow server, or `responses` with body=ReadTimeout()).
        Optional: without it the contract's `slow` case is skipped, visibly."""
        raise NotImplementedError
        yield


FAULT_ERRORS = {
    "rate_limited": RateLimited,
    "server_error": TransientError,
    "malformed": MalformedResponse,
    "token_expired": TokenExpired,
    "revoked": AuthorizationRevoked,
    "slow": TransientError,
}


class ConnectorContract:
    @pytest.fixture
    def report_levels(self, connector) -> list[str]:
        return [level for level in ("account", "campaign", "ad") if level in connector.spec.levels]

    @pytest.fixture
    def metadata_levels(self, connector) -> list[str]:
        return [level for level in LEVELS if level in connector.spec.levels]

    # --- the spec ---
    def test_spec_is_registered_and_consistent(self, connector):
        spec = connector.spec
        assert spec.slug in PLATFORMS and connector_class(spec.slug) is type(connector)
        assert spec.auth_type in ("oauth2", "password")
        assert "account" in spec.levels and set(spec.levels) <= set(LEVELS)
        assert spec.granularities and set(spec.granularities) <= set(GRANULARITIES)
        assert set(spec.core_metrics.values()) <= set(CORE_METRICS)
        assert {"impressions", "clicks", "cost"} <= set(spec.core_metrics.values()), (
            "map at least impressions, clicks, cost"
        )
        assert not set(spec.extra_metrics) & set(spec.core_metrics), "a metric is core or extra, not both"
        assert spec.rate_limit_requests > 0 and spec.rate_limit_period > 0
        assert spec.default_endpoints, "declare the base URLs (settings may override them)"
        if spec.refresh_rotates:
            assert spec.supports_refresh

    def test_default_templates_validate(self, connector):
        from ingestion.dagspec import validate_template

        folder = connector.spec.templates_dir
        assert folder is not None and folder.is_dir(), "ship default DAG templates"
        files = sorted(folder.glob("*.json"))
        assert files
        for path in files:
            validate_template(json.loads(path.read_text()), operators=TEMPLATE_OPERATORS)

    # --- fetching ---
    def test_list_accounts(self, connector, token):
        result = connector.list_accounts(token)
        assert isinstance(result, Iterator), "list_accounts must stream (a generator), not build a list"
        accounts = list(result)
        assert accounts
        assert len({a.external_id for a in accounts}) == len(accounts)
        for a in accounts:
            assert isinstance(a, AccountInfo) and a.external_id and isinstance(a.external_id, str)
            ZoneInfo(a.timezone)
            assert re.fullmatch(r"[A-Z]{3}", a.currency), a.currency

    def test_metadata_every_level(self, connector, token, account, metadata_levels):
        ids_by_level: dict[str, set[str]] = {}
        for level in metadata_levels:
            result = connector.fetch_metadata(token, account, level)
            assert isinstance(result, Iterator), f"fetch_metadata({level!r}) must stream"
            entities = list(result)
            assert entities, f"no {level} entities"
            ids = [e.external_id for e in entities]
            assert len(set(ids)) == len(ids), f"duplicate {level} ids"
            for e in entities:
                assert isinstance(e, Entity) and e.level == level and isinstance(e.external_id, str)
                assert isinstance(e.name, str) and e.status
                assert isinstance(e.raw, dict) and e.raw
                if level == "account":
                    assert e.parent_external_id is None and e.external_id == account.external_id
                else:
                    assert e.parent_external_id, f"{level} {e.external_id} has no parent"
            ids_by_level[level] = set(ids)
        # every parent is an object of a higher level that we fetched
        above: set[str] = set()
        for level in metadata_levels:
            if level != "account" and above:
                parents = {e.parent_external_id for e in connector.fetch_metadata(token, account, level)}
                assert parents <= above, f"{level} parents not found above: {sorted(parents - above)[:3]}"
            above |= ids_by_level[level]

    def test_reports(self, connector, token, account, report_range, report_levels):
        start, end = report_range
        for granularity in connector.spec.granularities:
            for level in report_levels:
                result = connector.fetch_report(token, account, level, granularity, start, end)
                assert isinstance(result, Iterator), "fetch_report must stream"
                rows = list(result)
                assert rows, f"no {granularity} rows at {level} level"
                keys = [(r.entity_id, r.stat_time.astimezone(UTC)) for r in rows]  # aware compare ignores DST fold
                assert len(set(keys)) == len(keys), "one row per entity and stat time"
                for r in rows:
                    self.check_row(r, level=level, granularity=granularity, account=account, start=start, end=end)

    @staticmethod
    def check_row(r: ReportRow, *, level, granularity, account, start, end):
        assert isinstance(r, ReportRow) and r.level == level and r.granularity == granularity
        assert r.entity_id and isinstance(r.entity_id, str)
        assert r.stat_time.tzinfo is not None, "stat_time must be timezone-aware"
        local = r.stat_time.astimezone(ZoneInfo(account.timezone))
        assert local.utcoffset() == r.stat_time.utcoffset(), "stat_time must be in the account's timezone"
        assert start <= local.date() <= end
        assert (local.minute, local.second, local.microsecond) == (0, 0, 0)
        if granularity == "day":
            assert local.hour == 0
        assert isinstance(r.impressions, int) and not isinstance(r.impressions, bool) and r.impressions >= 0
        assert isinstance(r.clicks, int) and r.clicks >= 0
        assert isinstance(r.cost, Decimal) and r.cost >= 0
        assert isinstance(r.conversions, (int, float)) and r.conversions >= 0
        assert all(isinstance(k, str) and isinstance(v, float) for k, v in r.extra.items())
        assert not set(r.extra) & set(CORE_METRICS)

    def test_report_is_lazy(self, connector, token, account, report_range):
        """Nothing is fetched before the caller iterates (so a task can stream pages into the store)."""
        result = connector.fetch_report(token, account, "account", connector.spec.granularities[-1], *report_range)
        assert inspect.isgenerator(result), "write fetch_report as a generator"
        result.close()

    # --- errors ---
    @pytest.mark.parametrize("fault", sorted(FAULT_ERRORS))
    def test_fault_maps_to_error(self, connector, token, account, report_range, faults, fault):
        start, _ = report_range
        arranged = getattr(faults, fault)()
        try:
            arranged.__enter__()
        except NotImplementedError:
            pytest.skip(f"{type(faults).__name__}.{fault}() is not provided")
        try:
            with pytest.raises(FAULT_ERRORS[fault]) as info:
                list(connector.fetch_report(token, account, "account", connector.spec.granularities[-1], start, start))
        finally:
            arranged.__exit__(None, None, None)
        error = info.value
        assert type(error) is FAULT_ERRORS[fault] or (fault == "server_error" and isinstance(error, TransientError))
        assert error.platform == connector.spec.slug and connector.spec.slug in str(error)
        assert error.endpoint, "say which endpoint failed"
        if fault == "rate_limited":
            assert error.retry_after is not None and error.retry_after >= 0
        if fault == "malformed":
            assert error.field and error.field in str(error)
        for secret in (token.access_token, token.refresh_token):
            if secret:
                assert secret not in str(error)

    def test_refresh(self, connector, token):
        if not connector.spec.supports_refresh:
            pytest.skip(f"{connector.spec.slug} does not refresh")
        fresh = connector.refresh(token)
        assert isinstance(fresh, TokenSet) and fresh.access_token
        if fresh.expires_at is not None:
            assert fresh.expires_at > datetime.now(fresh.expires_at.tzinfo) + timedelta(minutes=1)
        if connector.spec.refresh_rotates:
            assert fresh.refresh_token and fresh.refresh_token != token.refresh_token
