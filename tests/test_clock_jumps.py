"""Wall-clock steps, with the clock injected: a jump is told from time passing
(`ClockWatch`), the scheduler runs on monotonic time whatever the wall clock does, and the
notifier (real store, real aiosmtpd) answers a forward jump of 8 days with no burst — held for
an hour, then one letter per unit, 10 a tick — and a step back with nothing sent twice and
retries not pushed a day away."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.clock import ClockWatch, FixedClock
from intake.app import App
from intake.scheduler import Scheduler
from notifier.service import JUMP_PACE, JUMP_SETTLE, Notifier
from store.models import OutboxMail
from tests.support.config import ROSTER
from tests.support.noticemail import import_mails, notify_config, report_mail
from tests.support.smtpserver import SmtpServer, _run, free_port

T0 = datetime(2021, 10, 3, 0, 0, tzinfo=UTC)  # 07:00 in Hà Nội, before every reminder slot
TICK = timedelta(minutes=2)


# -- telling a jump from time passing ------------------------------------------------------------


def test_watch_tells_a_step_from_time_passing() -> None:
    clock = FixedClock(T0)
    watch = ClockWatch()
    assert watch.observe(clock.now(), clock.monotonic()) is None  # the first reading: a reference
    clock.advance(timedelta(days=3))  # three days of real time: no jump, however long
    assert watch.observe(clock.now(), clock.monotonic()) is None
    clock.advance(TICK)
    clock.step(timedelta(minutes=59))  # NTP slewing a small error: under the hour
    assert watch.observe(clock.now(), clock.monotonic()) is None
    clock.advance(TICK)
    clock.step(timedelta(days=8))
    jump = watch.observe(clock.now(), clock.monotonic())
    assert jump is not None and jump.forward and jump.skew == timedelta(days=8)
    assert (
        jump.describe()
        == "wall clock jumped forward by 8d 0h 0m (it moved +8d 0h 2m in 0h 2m 0s of real time)"
    )
    clock.advance(TICK)
    clock.step(-timedelta(days=1))
    back = watch.observe(clock.now(), clock.monotonic())
    assert back is not None and not back.forward
    assert back.describe().startswith("wall clock jumped back by 1d 0h 0m")


# -- the scheduler -------------------------------------------------------------------------------


def test_scheduler_runs_on_monotonic_time_whatever_the_wall_clock_does() -> None:
    clock = FixedClock(T0)
    sched = Scheduler(clock)
    runs: list[str] = []
    sched.add("poll", lambda: runs.append("poll"), 60)
    sched.add("notify", lambda: runs.append("notify"), 120)
    assert sched.run_pending() == ["poll", "notify"]  # both at start
    clock.step(-timedelta(days=1))  # a step back: APScheduler 3 waited a day here
    clock.advance(timedelta(seconds=60))
    assert sched.run_pending() == ["poll"]
    clock.step(timedelta(days=8))  # a step forward: nothing fires early or twice
    assert sched.run_pending() == []
    clock.advance(timedelta(seconds=60))
    assert sched.run_pending() == ["poll", "notify"]
    sched.trigger("notify")  # IDLE or a filed message: at once
    assert sched.run_pending() == ["notify"]
    assert runs == ["poll", "notify", "poll", "poll", "notify", "notify"]


def test_scheduler_threads_survive_a_failing_job_and_stop_after_the_run_in_hand(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FixedClock(T0)
    sched = Scheduler(clock, tick=0.02)
    calls: list[int] = []
    in_run = threading.Event()
    release = threading.Event()

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("IMAP went away")

    def slow() -> None:
        in_run.set()
        release.wait(5)

    sched.add("flaky", flaky, 30)
    sched.add("slow", slow, 30)
    with caplog.at_level(logging.ERROR, logger="intake.scheduler"):
        sched.start()
        try:
            assert in_run.wait(5)
            deadline = time.monotonic() + 5
            while sched.jobs["flaky"].runs < 1 and time.monotonic() < deadline:
                time.sleep(0.01)  # the failed run is over, its next one set 30 s ahead
            clock.advance(timedelta(seconds=30))  # the failed job runs again at its interval
            while len(calls) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(calls) == 2
            stopper = threading.Thread(target=sched.stop)
            stopper.start()
            stopper.join(0.2)
            assert stopper.is_alive(), "stop() must wait for the run in hand"
            release.set()
            stopper.join(5)
            assert not stopper.is_alive()
        finally:
            release.set()
            sched.stop()
    assert "job flaky failed" in caplog.text and "IMAP went away" in caplog.text
    assert sched.jobs["slow"].runs == 1  # not run again after the stop


# -- the notifier --------------------------------------------------------------------------------


def _tick_until(n: Notifier, clock: FixedClock, until: timedelta, smtp: SmtpServer) -> list[int]:
    """Tick every 2 minutes of real time for `until`; the mail delivered at each tick."""
    sent = []
    end = clock.monotonic() + until.total_seconds()
    while clock.monotonic() < end:
        clock.advance(TICK)
        before = len(smtp.received)
        n.tick()
        sent.append(len(smtp.received) - before)
    return sent


def test_eight_days_forward_holds_an_hour_then_one_overdue_notice_per_unit_ten_a_tick(
    tmp_path: Path, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FixedClock(T0)
    cfg = notify_config(
        tmp_path, smtp_server.port, notify={"receipts": False}, digest={"recipients": []}
    )
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        n = app.notifier()
        assert n.tick().reminders == 0  # before the first slot
        clock.advance(TICK)
        clock.step(timedelta(days=8))  # 11/10: past every reminder slot and the deadline
        with caplog.at_level(logging.WARNING, logger="notifier.service"):
            first = n.tick()
        assert first.jump is not None and first.jump.forward and first.held
        assert first.reminders == 0 and smtp_server.received == []
        assert "wall clock jumped forward by 8d" in caplog.text and "held for 60 min" in caplog.text
        held = _tick_until(n, clock, timedelta(seconds=JUMP_SETTLE) - TICK, smtp_server)
        assert len(held) == 29 and sum(held) == 0, "a notice went out while held"
        paced = _tick_until(n, clock, timedelta(minutes=40), smtp_server)
        assert max(paced) == JUMP_PACE and sum(paced) == 111
        assert paced[:11] == [10] * 11 and paced[11] == 1
        to = Counter(r.rcpt_tos[0] for r in smtp_server.received)
        assert len(to) == 111 and set(to.values()) == {
            1
        }  # one letter a unit, never the missed slots
        with app.sessions() as s:
            rows = dict(
                s.execute(select(OutboxMail.kind, func.count()).group_by(OutboxMail.kind)).all()
            )
        assert rows == {"overdue": 111}  # no reminder slot jumped over was sent
        # and once caught up, the normal rules: nothing more, nothing twice
        assert sum(_tick_until(n, clock, timedelta(hours=2), smtp_server)) == 0


def test_a_wrong_date_put_back_within_the_hour_sends_nothing(
    tmp_path: Path, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FixedClock(T0)
    cfg = notify_config(
        tmp_path, smtp_server.port, notify={"receipts": False}, digest={"recipients": []}
    )
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        n = app.notifier()
        n.tick()
        clock.advance(TICK)
        clock.step(timedelta(days=8))  # someone typed the wrong date ...
        assert n.tick().held
        clock.advance(timedelta(minutes=20))
        clock.step(-timedelta(days=8))  # ... and put it back twenty minutes later
        with caplog.at_level(logging.WARNING, logger="notifier.service"):
            back = n.tick()
        assert back.jump is not None and not back.jump.forward
        assert "wall clock jumped back by 8d" in caplog.text
        assert sum(_tick_until(n, clock, timedelta(hours=2), smtp_server)) == 0
        assert smtp_server.received == []


def test_a_step_back_does_not_push_a_retry_a_day_away(tmp_path: Path) -> None:
    port = free_port()  # nothing listens yet: SMTP is down
    clock = FixedClock(datetime(2021, 10, 5, 3, 0, tzinfo=UTC))
    quiet = {"reminder_days": [], "overdue": False}
    with App(notify_config(tmp_path, port, notify=quiet, digest={"recipients": []}), clock) as app:
        app.import_roster(ROSTER)
        import_mails(
            app, tmp_path, report_mail("th-kim-an@thanhoai.example", "Trường Tiểu học Kim An", 1)
        )
        n = app.notifier()
        r = n.tick()
        assert r.receipts == 1 and r.delivery.retried == 1  # next try in a minute
        gen = _run(SmtpServer("127.0.0.1", port))
        box = next(gen)
        try:
            clock.step(-timedelta(days=1))
            clock.advance(TICK)
            r = n.tick()
            assert r.jump is not None and not r.jump.forward
            assert r.receipts == 0 and r.delivery.sent == 1  # not a day later
            assert len(box.received) == 1
            assert n.tick().delivery.sent == 0  # and once only
        finally:
            gen.close()
