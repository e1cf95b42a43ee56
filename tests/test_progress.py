"""Progress of long work: a redrawn bar on a terminal, periodic log lines elsewhere."""

from __future__ import annotations

import io
import logging

import pytest

from intake.progress import Reporter


class Ticks:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_terminal_bar_redraws_and_ends_with_newline() -> None:
    out, ticks = io.StringIO(), Ticks()
    r = Reporter(out, tty=True, monotonic=ticks, quiet_below=1)
    r.start("fetching", 40)
    for _ in range(40):
        ticks.t += 0.05
        r.advance()
    r.finish()
    text = out.getvalue()
    frames = text.split("\r")[1:]
    assert 10 <= len(frames) <= 30  # throttled to one frame per 0.1 s, plus the last
    assert frames[-1].endswith("\n")
    assert "40/40" in frames[-1] and "100%" in frames[-1]
    assert "[" + "#" * 30 + "]" in frames[-1]
    assert "20/40" in text or "19/40" in text or "21/40" in text


def test_log_lines_every_interval_not_per_step(caplog: pytest.LogCaptureFixture) -> None:
    ticks = Ticks()
    r = Reporter(io.StringIO(), tty=False, interval=10.0, monotonic=ticks)
    caplog.set_level(logging.INFO, logger="intake.progress")
    r.start("filing", 1000)
    for _ in range(1000):
        ticks.t += 0.1  # 100 s in all → ~10 lines, not 1,000
        r.advance()
    r.finish()
    lines = [rec.getMessage() for rec in caplog.records]
    assert 9 <= len(lines) <= 11
    assert lines[-1].startswith("filing [") and lines[-1].endswith("(done)")
    assert "1000/1000" in lines[-1]
    assert "10.0/s" in lines[-1]


def test_small_tasks_say_nothing_and_unknown_totals_count(caplog: pytest.LogCaptureFixture) -> None:
    out = io.StringIO()
    caplog.set_level(logging.INFO, logger="intake.progress")
    r = Reporter(out, tty=False, quiet_below=20)
    r.start("fetching", 3)
    r.advance(3)
    r.finish()
    assert caplog.records == []
    r.start("importing", 0)
    r.advance(7)
    r.finish()
    assert caplog.records[-1].getMessage().startswith("importing: 7 ")
