"""The one clock chokepoint. Logic takes `now` as an argument; only jobs ask a Clock.

A Clock has two faces: `now()`, the wall clock (aware, UTC) that deadlines, slots and stored
times are judged by, and `monotonic()`, seconds that only ever advance at the pace of real time,
which is what jobs are scheduled by (`intake.scheduler`). The wall clock can be stepped (an
admin fixing the date, NTP after a long outage, a VM resumed after days); `ClockWatch` tells a
step from time passing by comparing the two between readings.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

JUMP_THRESHOLD = timedelta(hours=1)


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never steps, whatever the wall clock does."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """A clock for tests and `--at`: returns a set instant. `advance` is time passing (both
    faces move); `step` and `set` move the wall clock alone, as a clock step does."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._at

    def monotonic(self) -> float:
        return self._mono

    def advance(self, delta: timedelta) -> None:
        self._at += delta
        self._mono += delta.total_seconds()

    def step(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


@dataclass(frozen=True)
class ClockJump:
    """The wall clock moved by `wall` while real time moved by `elapsed` (monotonic)."""

    wall: timedelta
    elapsed: timedelta

    @property
    def skew(self) -> timedelta:
        return self.wall - self.elapsed

    @property
    def forward(self) -> bool:
        return self.skew > timedelta(0)

    def describe(self) -> str:
        return (
            f"wall clock jumped {'forward' if self.forward else 'back'} by {_span(abs(self.skew))} "
            f"(it moved {_span(self.wall, signed=True)} in {_span(self.elapsed)} of real time)"
        )


def _span(d: timedelta, *, signed: bool = False) -> str:
    sign = "-" if d < timedelta(0) else ("+" if signed else "")
    s = round(abs(d).total_seconds())
    if s >= 86400:
        s = round(s / 60) * 60  # minutes are enough beside days
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    return sign + (f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m {s}s")


class ClockWatch:
    """Between two readings, a wall-clock move that differs from the monotonic move by more
    than `threshold` is a jump (a step of the clock, or a suspend: the monotonic clock does not
    count a suspended machine). `observe` returns it, or None; the first reading only sets the
    reference. Thread-safe."""

    def __init__(self, threshold: timedelta = JUMP_THRESHOLD) -> None:
        self.threshold = threshold
        self._last: tuple[datetime, float] | None = None
        self._lock = threading.Lock()

    def observe(self, now: datetime, mono: float) -> ClockJump | None:
        with self._lock:
            last, self._last = self._last, (now, mono)
        if last is None:
            return None
        jump = ClockJump(wall=now - last[0], elapsed=timedelta(seconds=mono - last[1]))
        return jump if abs(jump.skew) > self.threshold else None


def utc(dt: datetime) -> datetime:
    """Treat a naive value read back from a database as UTC (SQLite drops the offset)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
