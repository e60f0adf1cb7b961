"""The embedded all-in-one process: a WSGI server plus background components.

A component is any object with `name`, `start()` and `stop()`; settings list them by
dotted path in EMBEDDED_COMPONENTS (the scheduler loop, worker threads and periodic
jobs). Service mode runs the same pieces as separate processes instead.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("adplatform.runtime")


def embedded_components() -> list:
    return [import_string(path)() for path in settings.EMBEDDED_COMPONENTS]


class Platform:
    def __init__(self, host: str, port: int, threads: int = 8, components: list | None = None):
        from waitress.server import create_server

        from adplatform.wsgi import application

        self.components = embedded_components() if components is None else components
        self.server = create_server(application, host=host, port=port, threads=threads, ident="adplatform")
        self.stopped = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def start_components(self) -> None:
        for component in self.components:
            logger.info("starting %s", component.name)
            component.start()

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        logger.info("shutting down")
        self.server.close()
        for component in reversed(self.components):
            try:
                component.stop()
            except Exception:
                logger.exception("error stopping %s", component.name)
        logger.info("stopped")

    def serve_forever(self) -> None:
        """Run until Ctrl-C or SIGTERM; then stop the server and every component."""
        previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        self.start_components()
        logger.info("adplatform is up at %s (admin: %s/admin/)", self.url, self.url)
        try:
            self.server.run()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.stop()
