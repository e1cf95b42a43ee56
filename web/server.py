"""The console's production server: waitress (threads, no framework development server) on
`[web] host:port`. Behind the office's reverse proxy, `[web] trusted_proxy` names the proxy
whose X-Forwarded-For and X-Forwarded-Proto waitress believes (so the login throttle counts the
real client); from anyone else those headers are dropped."""

from __future__ import annotations

import logging
import threading
from typing import Any

from waitress import create_server

from web.app import create_app
from web.console import Console

log = logging.getLogger(__name__)


def make_server(
    console: Console, *, host: str | None = None, port: int | None = None, threads: int = 4
) -> Any:
    """A bound waitress server (port 0: a free one, see `.effective_port`); `.run()` serves."""
    web = console.cfg.web
    extra: dict[str, Any] = {}
    if web.trusted_proxy:
        extra.update(
            trusted_proxy=web.trusted_proxy,
            trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
            clear_untrusted_proxy_headers=True,
        )
    return create_server(
        create_app(console),
        host=web.host if host is None else host,
        port=web.port if port is None else port,
        threads=threads,
        ident="intake",
        channel_timeout=60,
        **extra,
    )


class Running:
    """A server serving in a background thread (tests, benchmarks); `stop()` ends it: the loop
    stops first, then the worker threads finish their requests, then the sockets close."""

    def __init__(self, console: Console, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = make_server(console, host=host, port=port)
        self.url = f"http://{host}:{self.server.effective_port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="intake-web", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.server.asyncore.loop(timeout=0.05, map=self.server._map, count=1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.server.task_dispatcher.shutdown()
        for channel in list(self.server._map.values()):
            channel.close()
