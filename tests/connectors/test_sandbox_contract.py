"""The sandbox connectors through the shared contract, over real HTTP against the sandbox server."""

import contextlib
from datetime import date, timedelta

import pytest

from connectors.http import HTTP_RETRIES
from connectors.sandbox.connector import SandboxPasswordConnector
from tests.connectors.contract import ConnectorContract, Faults

YESTERDAY = date.today() - timedelta(days=1)


class SandboxFaults(Faults):
    def __init__(self, server, connector):
        self.server = server
        self.connector = connector

    @contextlib.contextmanager
    def slow(self):
        self.server.configure(slow_seconds=1.0)
        # every try of the request: the first and the HTTP layer's retries
        self.server.inject("slow", path="/api/", times=1 + HTTP_RETRIES)
        before, self.connector.http.timeout = self.connector.http.timeout, (2, 0.3)
        try:
            yield
        finally:
            self.connector.http.timeout = before

    def _inject(self, fault, times=1):
        @contextlib.contextmanager
        def arranged():
            self.server.inject(fault, path="/api/", times=times)
            yield

        return arranged()

    def rate_limited(self):
        # a Retry-After longer than the HTTP layer waits out inline: raised at once
        self.server.configure(retry_after=120)
        return self._inject("429")

    def server_error(self):
        return self._inject("503", times=1 + HTTP_RETRIES)

    def malformed(self):
        return self._inject("malformed")

    def token_expired(self):
        return self._inject("expired")

    def revoked(self):
        return self._inject("revoked")


class TestSandboxContract(ConnectorContract):
    @pytest.fixture
    def connector(self, sandbox_server):
        return sandbox_server.connector()

    @pytest.fixture
    def token(self, sandbox_server, connector):
        return sandbox_server.authorize(connector, profile="3:2:12")

    @pytest.fixture
    def account(self, sandbox_server, connector, token):
        return sandbox_server.account_ref(token, connector=connector)

    @pytest.fixture
    def report_range(self):
        return YESTERDAY, YESTERDAY

    @pytest.fixture
    def faults(self, sandbox_server, connector):
        return SandboxFaults(sandbox_server, connector)


class TestSandboxPasswordContract(TestSandboxContract):
    @pytest.fixture
    def connector(self, sandbox_server):
        return sandbox_server.connector(cls=SandboxPasswordConnector)

    @pytest.fixture
    def token(self, connector):
        return connector.login(username="user-3-2-12", password="sandbox-password")
