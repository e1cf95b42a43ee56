"""Progress of long work (a backfill, an import, a reparse, an export).

On a terminal: one redrawn line on stderr (`click.progressbar` would own the loop; our loops
are spread over the poller and the filer, so the reporter is told about steps instead). Not on a
terminal (journald, CI, a pipe): an INFO log line at most every `interval` seconds and at the end.
`NullProgress` is the default everywhere, so library code never prints by itself.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

log = logging.getLogger("intake.progress")


class Progress(Protocol):
    def start(self, label: str, total: int) -> None:
        """Begin a task of `total` steps (0 when the total is not known)."""

    def advance(self, n: int = 1) -> None: ...

    def finish(self) -> None: ...


class NullProgress:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


class Reporter:
    """Draws a bar on a terminal, else logs a line every `interval` seconds; tasks shorter than
    `quiet_below` steps are not reported at all (a poll of three new messages says nothing)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        interval: float = 10.0,
        quiet_below: int = 20,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self.quiet_below = quiet_below
        self.monotonic = monotonic
        self.label = ""
        self.total = 0
        self.done = 0
        self._t0 = 0.0
        self._last = 0.0
        self._active = False

    def start(self, label: str, total: int) -> None:
        if self._active:
            self.finish()
        self.label, self.total, self.done = label, total, 0
        self._t0 = self._last = self.monotonic()
        self._active = total == 0 or total >= self.quiet_below

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self._active:
            return
        now = self.monotonic()
        if self.tty:
            if now - self._last >= 0.1 or self.done == self.total:
                self._last = now
                self.stream.write("\r" + self.line(now))
                self.stream.flush()
        elif now - self._last >= self.interval:
            self._last = now
            log.info("%s", self.line(now))

    def finish(self) -> None:
        if not self._active:
            return
        self._active = False
        now = self.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line(now) + "\n")
            self.stream.flush()
        else:
            log.info("%s (done)", self.line(now))

    def line(self, now: float) -> str:
        elapsed = max(now - self._t0, 1e-9)
        rate = self.done / elapsed
        if self.total:
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * 30)
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            return (
                f"{self.label} [{bar:<30}] {self.done}/{self.total} "
                f"{share:4.0%} {rate:.1f}/s eta {eta:.0f} s"
            )
        return f"{self.label}: {self.done} {rate:.1f}/s"
