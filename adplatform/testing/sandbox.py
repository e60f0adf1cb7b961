"""pytest plugin (`-p adplatform.testing.sandbox` in pyproject addopts): the sandbox ad
platform on its own port, for tests in any folder.

    def test_something(sandbox_server):
        token = sandbox_server.authorize(profile="1:2:20")          # full OAuth2 code flow
        connector = sandbox_server.connector()                       # SandboxConnector at this server
        account = sandbox_server.account_ref(token)                  # first advertiser of the grant
        sandbox_server.inject("429")                                 # next API request: 429 + Retry-After
        sandbox_server.configure(access_lifetime=timedelta(seconds=1))
        sandbox_server.add_accounts(token, 2)                        # the grant reaches 2 more advertisers
        assert sandbox_server.stats["token_refresh"] == 1

`sandbox_server` is one waitress server per test session serving our Django app (so
/sandbox/ is exactly what `runplatform` serves); each test gets it with fresh faults,
settings and counters, with `settings.PLATFORM_ENDPOINTS["sandbox"]` pointing at it (so
`connectors.registry.connector_for_account` reaches it too) and a fresh in-process rate
limiter (a 429 in one test must not slow the next).

Benchmarks and scripts use `connectors.sandbox.server.SandboxServer` directly (`start()` / `stop()`).
"""

from __future__ import annotations

import time

import pytest

from connectors.sandbox.server import SandboxServer


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
    settings.PLATFORM_ENDPOINTS = {
        **(settings.PLATFORM_ENDPOINTS or {}),
        "sandbox": {"base": server.base},
        "sandbox_password": {"base": server.base},
    }
    set_default_limiter(None)
    yield server
    server.reset()
    set_default_limiter(None)


__all__ = ["SandboxServer", "sandbox_server"]
