"""SIGTERM with slow messages queued: `intake run` as a subprocess against Dovecot exits within
seconds (the systemd unit allows 60 s; checking the stop flag only every 16 parsed messages took
98 s), and a restart files every message exactly once."""

from __future__ import annotations

import io
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.support.daemon import Daemon, Store, daemon_config, wait_for
from tests.support.smtpserver import SmtpServer
from tests.support.unitmail import sender_of, unit_mail

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

QUIET = {"receipts": False, "reminder_days": [], "overdue": False}


def _slow_png(seed: int) -> bytes:
    """A 64 Mpx RGBA drawing: about two seconds of decoding, 3.5 MB of mail."""
    im = Image.new("RGBA", (8000, 8000), (200, 180, 160, 255))
    draw = ImageDraw.Draw(im)
    for x in range(0, 8000, 40):
        draw.line([(x, 0), (8000 - x, 8000)], fill=((x + seed) % 255, 80, 120, 255), width=3)
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def test_sigterm_with_slow_messages_queued_exits_within_seconds_and_loses_nothing(
    tmp_path: Path,
    dovecot: Any,
    smtp_server: SmtpServer,
    run_env: dict[str, str],
    daemons: list[Daemon],
) -> None:
    n = 18
    png = _slow_png(0)
    mails = [
        unit_mail(
            i,
            sender_of(i),
            subject=f"Sơ đồ hoạt động Tuần lễ HTSĐ (lần {i})",
            body="Kính gửi Phòng GD&ĐT huyện Thanh Oai, đơn vị gửi sơ đồ.",
            # the trailing byte makes each drawing distinct
            attachments=[(f"Sơ đồ {i}.png", png + bytes([i]), "image/png")],
            tag="slow",
        )
        for i in range(n)
    ]
    dovecot.append(mails)
    cfg = daemon_config(
        tmp_path,
        dovecot,
        smtp_server,
        mailbox={"poll_interval": 600},
        notify=QUIET,
        digest={"recipients": []},
        limits={"parse_workers": 1, "parse_memory_mb": 2048},
    )  # a 64 Mpx RGBA PNG fits
    store = Store(cfg)
    d1 = Daemon(cfg, run_env, tmp_path / "run1.log", "--no-idle")
    daemons.append(d1)
    wait_for("every message to be stored", lambda: store.count("messages") == n, 120, d1)
    time.sleep(3)  # the worker is parsing them now
    t0 = time.monotonic()
    assert d1.stop(signal.SIGTERM, timeout=60) == 0, d1.text()[-3000:]
    took = time.monotonic() - t0
    print(f"SIGTERM to exit: {took:.1f} s")
    first = store.done()
    assert took < 10, f"SIGTERM took {took:.1f} s with slow messages queued"
    assert first < n, "every message was filed before the stop: make the queue longer"
    assert store.count("messages", "attempts > 0") == 0  # the stop cost no message an attempt

    d2 = Daemon(cfg, run_env, tmp_path / "run2.log", "--no-idle")
    daemons.append(d2)
    wait_for("the rest to be filed", lambda: store.done() == n, 300, d2)
    assert d2.stop() == 0
    assert store.count("messages", "state IN ('received', 'quarantined')") == 0
    assert store.count("messages", "attempts > 0") == 0
    assert (
        store.scalar(
            "SELECT count(*) FROM (SELECT message_fk, count(*) AS c FROM attachments "
            "GROUP BY message_fk HAVING count(*) > 1) AS d"
        )
        == 0
    )
