"""pytest plugin (`-p adplatform.testing.sandbox` in pyproject addopts): the sandbox ad
platform on its own port, for tests in any folder.

    def test_something(sandbox_server):
        token = sandbox_server.authorize(profile="1:2:20")          # full OAuth2 code flow
        connector = sandbox_server.connector()                       # SandboxConnector at this server
        account = sandbox_server.account_ref(token)                  # first advertiser of the grant
        sandbox_server.inject("429")                                 # next API request: 429 + Retry-After
        sandbox_server.configure(access_lifetime=timedelta(seconds=1))
        assert sandbox_server.stats["token_refresh"] == 1

`sandbox_server` is one waitress server per test session serving our Django app (so
/sandbox/ is exactly what `runplatform` serves); each test gets it with fresh faults,
settings and counters, with `settings.PLATFORM_ENDPOINTS["sandbox"]` pointing at it (so
`connectors.registry.connector_for_account` reaches it too) and a fresh in-process rate
limiter (a 429 in one test must not slow the next).

Benchmarks and scripts use `SandboxServer()` directly (`start()` / `stop()`).
"""
from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest


class SandboxServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, threads: int = 8):
        self.host, self.port, self.threads = host, port, threads
        self.server = None
        self._thread: threading.Thread | None = None

    def start(self) -> SandboxServer:
        from waitress.server import create_server

        from adplatform.wsgi import application

        self.server = create_server(application, host=self.host, port=self.port, threads=self.threads, ident="sandbox")
        self._thread = threading.Thread(target=self.server.run, name="sandbox-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            server.close()
            # waitress's loop runs while its socket map has channels; empty it so run() returns
            # now, then stop the worker threads.
            for channel in list(server._map.values()):
                channel.close()
            server._map.clear()
            server.task_dispatcher.shutdown(timeout=2)
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    @property
    def base(self) -> str:
        return f"{self.url}/sandbox"

    # --- the server's state (shared with the Django views of this process) ---
    @property
    def state(self):
        from connectors.sandbox.state import sandbox

        return sandbox

    @property
    def stats(self):
        return self.state.stats

    def configure(self, **changes):
        return self.state.configure(**changes)

    def inject(self, fault: str, *, times: int = 1, path: str = "") -> None:
        self.state.inject(fault, times=times, path=path)

    def reset(self) -> None:
        self.state.reset()

    # --- clients ---
    def connector(self, *, client_id: str = "test-app", timeout=None, limiter=None, cls=None, **kwargs):
        """A SandboxConnector for this server, with its own rate limiter."""
        from connectors.base import AppConfig
        from connectors.http import LocalRateLimiter
        from connectors.sandbox.connector import SandboxConnector

        cls = cls or SandboxConnector
        app = AppConfig(client_id=client_id, client_secret=f"{client_id}-secret", redirect_uri="http://127.0.0.1/callback")
        connector = cls(app, endpoints={"base": self.base}, limiter=limiter or LocalRateLimiter(), **kwargs)
        if timeout is not None:
            connector.http.timeout = timeout
        return connector

    def authorize(self, connector=None, *, profile: str = "1:2:20", redirect_uri: str = "http://127.0.0.1/callback"):
        """Run the OAuth2 code flow with PKCE (auto-approved consent); return the TokenSet."""
        import requests

        from connectors.auth import pkce_pair

        connector = connector or self.connector()
        verifier, challenge = pkce_pair()
        url = connector.authorization_url(state="test-state", redirect_uri=redirect_uri, code_challenge=challenge)
        response = requests.get(f"{url}&auto_approve=1&profile={profile}", allow_redirects=False, timeout=10)
        location = response.headers["Location"]
        query = parse_qs(urlsplit(location).query)
        assert query.get("state") == ["test-state"], location
        return connector.exchange_code(code=query["code"][0], redirect_uri=redirect_uri, code_verifier=verifier)

    def account_ref(self, token, index: int = 0, connector=None):
        from connectors.base import AccountRef

        connector = connector or self.connector()
        info = list(connector.list_accounts(token))[index]
        return AccountRef(external_id=info.external_id, timezone=info.timezone, currency=info.currency)


@pytest.fixture(scope="session")
def _sandbox_server_session():
    server = SandboxServer().start()
    deadline = time.monotonic() + 10
    import requests

    while True:  # the socket listens at once; make sure the app answers before handing it out
        try:
            requests.get(server.base + "/", timeout=2)
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield server
    server.stop()


@pytest.fixture
def sandbox_server(_sandbox_server_session, settings):
    from connectors.http import set_default_limiter

    server = _sandbox_server_session
    server.reset()
    settings.PLATFORM_ENDPOINTS = {**(settings.PLATFORM_ENDPOINTS or {}), "sandbox": {"base": server.base},
                                   "sandbox_password": {"base": server.base}}
    set_default_limiter(None)
    yield server
    server.reset()
    set_default_limiter(None)


__all__ = ["SandboxServer", "sandbox_server"]
