"""`SandboxServer`: the sandbox ad platform on its own port, in a thread of this process.

It serves our whole Django app with waitress (so /sandbox/ is exactly what `runplatform`
serves) and gives tests, benchmarks and `manage.py sandbox` handles on the server's state
(faults, settings, counters) and ready clients. Needs Django set up.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit


class SandboxServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, threads: int = 8):
        self.host, self.port, self.threads = host, port, threads
        self.server: Any = None  # waitress's server, once started
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
            if self._thread is not None:
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

    def add_accounts(self, token, count: int = 1) -> int:
        """Add `count` advertisers to the grant of `token` (a TokenSet, or an access or
        refresh token): what a user does on the platform after authorizing. Returns how
        many the grant has gained in all."""
        from connectors.sandbox import authserver

        text = token if isinstance(token, str) else (token.access_token or token.refresh_token)
        grant = authserver.grant_of(text or "")
        if grant is None:
            raise ValueError("not a token of this sandbox")
        return self.state.add_accounts(grant, count)

    def remove_account(self, token, advertiser_id: str) -> None:
        """Take advertiser `advertiser_id` out of the grant of `token` (as add_accounts):
        the grant's other advertisers keep answering, this one answers 403 no_permission."""
        from connectors.sandbox import authserver

        text = token if isinstance(token, str) else (token.access_token or token.refresh_token)
        grant = authserver.grant_of(text or "")
        if grant is None:
            raise ValueError("not a token of this sandbox")
        self.state.remove_account(grant, advertiser_id)

    # --- clients ---
    def connector(self, *, client_id: str = "test-app", timeout=None, limiter=None, cls=None, **kwargs):
        """A SandboxConnector for this server, with its own rate limiter."""
        from connectors.base import AppConfig
        from connectors.http import LocalRateLimiter
        from connectors.sandbox.connector import SandboxConnector

        cls = cls or SandboxConnector
        app = AppConfig(
            client_id=client_id, client_secret=f"{client_id}-secret", redirect_uri="http://127.0.0.1/callback"
        )
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
        if query.get("state") != ["test-state"]:
            raise RuntimeError(f"the sandbox answered the consent without our state: {location}")
        return connector.exchange_code(code=query["code"][0], redirect_uri=redirect_uri, code_verifier=verifier)

    def account_ref(self, token, index: int = 0, connector=None):
        from connectors.base import AccountRef

        connector = connector or self.connector()
        info = list(connector.list_accounts(token))[index]
        return AccountRef(external_id=info.external_id, timezone=info.timezone, currency=info.currency)
