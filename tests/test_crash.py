"""Crash safety of the spine: SIGKILL the poller (and its parse workers) at more than twenty
points while it ingests 300 messages from Dovecot, restart each time, and check that every
message is filed exactly once and moved on the server only after the store had it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.config import ROSTER, make_config
from tests.support.unitmail import unit_mail

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
N = 300
PROCESSED = "Processed"

# (target, when, n): each is the n-th call in that run. Fetch-phase points come first (each
# run stores some messages before it dies), filing-phase points after (filing starts once
# everything is fetched).
CRASHES = [
    ("search", "after", 1),
    ("record_uids", "after", 1),
    ("sizes", "after", 2),
    ("fetch", "before", 2),
    ("put", "before", 5),
    ("put", "after", 9),
    ("store_raw", "before", 12),
    ("store_raw", "after", 17),
    ("commit", "before", 5),  # the poller commits once per fetched batch (10 here)
    ("commit", "after", 8),
    ("mark", "before", 2),
    ("mark", "after", 2),
    ("mark_done", "before", 3),
    ("mark_done", "after", 1),
    ("fetch", "after", 4),
    ("beat", "before", 1),
    ("parsed", "before", 10),
    ("apply", "before", 7),
    ("apply", "after", 13),
    ("recompute", "before", 5),
    ("recompute", "after", 9),
    ("commit", "before", 31),
    ("commit", "after", 40),
    ("parsed", "after", 30),
]


def _mail(i: int, address: str) -> bytes:
    """Mail `i`, dated 06/10: a CSV table and a JPEG stub, both distinct by `i`."""
    return unit_mail(
        i,
        address,
        subject=f"Báo cáo Tuần lễ học tập suốt đời năm 2021 - lần gửi {i}",
        body=f"Kính gửi Phòng GD&ĐT huyện Thanh Oai,\nĐơn vị gửi báo cáo (lần {i}).\n",
        attachments=[
            (
                f"Tổng hợp số liệu {i}.csv",
                f"STT;Các hoạt động;Người\n1;Tuyên truyền;{i}\n".encode(),
                "text/csv",
            ),
            (
                f"Ảnh hoạt động {i}.jpg",
                bytes([0xFF, 0xD8, 0xFF, 0xE0]) + i.to_bytes(4, "big") * 64,
                "image/jpeg",
            ),
        ],
        tag="crash",
        date="Wed, 06 Oct 2021 09:30:00 +0700",
    )


def _addresses() -> list[str]:
    import csv

    with ROSTER.open(encoding="utf-8") as f:
        return [r["emails"].split(";")[0] for r in csv.DictReader(f)]


def _run(cfg_path: str, env: dict[str, str], *spec: str) -> subprocess.CompletedProcess[str]:
    args = (
        [sys.executable, "-m", "tests.support.crashdriver", cfg_path, *spec]
        if spec
        else [str(Path(sys.executable).with_name("intake")), "--config", cfg_path, "poll", "--once"]
    )
    return subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, start_new_session=True
    )


def test_sigkill_at_many_points_every_message_filed_exactly_once(
    tmp_path: Path, dovecot: Any
) -> None:
    addresses = _addresses()
    dovecot.append([_mail(i, addresses[i % len(addresses)]) for i in range(N)])
    cfg = make_config(
        tmp_path,
        mailbox={
            "host": "127.0.0.1",
            "port": dovecot.port,
            "security": "none",
            "username": dovecot.user,
            "password_env": "INTAKE_TEST_IMAP_PW",
            "batch_size": 10,
            "processed_folder": PROCESSED,
        },
        limits={"parse_workers": 2},
        notify={"receipts": False},
    )
    env = dict(os.environ, INTAKE_TEST_IMAP_PW=dovecot.password)
    env.pop("INTAKE_CONFIG", None)
    crashed = []
    for target, when, n in CRASHES:
        r = _run(cfg.source, env, target, when, str(n))
        assert r.returncode in (-9, 0, 1), (
            f"{target} {when} {n}: {r.returncode}\n{r.stderr[-2000:]}"
        )
        assert "Traceback" not in r.stderr, r.stderr[-3000:]
        if r.returncode == -9:
            crashed.append((target, when, n))
    assert len(crashed) >= 20, f"only {len(crashed)} crash points were reached: {crashed}"
    final = _run(cfg.source, env)
    assert final.returncode == 0, final.stderr[-3000:]

    engine = sa.create_engine(cfg.store_url)
    with engine.connect() as c:

        def one(sql: str) -> Any:
            return c.execute(sa.text(sql)).scalar()

        assert one("SELECT count(*) FROM ledger") == N
        assert one("SELECT count(*) FROM ledger WHERE message_fk IS NULL") == 0
        assert one("SELECT count(*) FROM ledger WHERE NOT server_done") == 0
        assert one("SELECT count(*) FROM messages") == N
        assert one("SELECT count(DISTINCT message_id) FROM messages") == N
        assert one("SELECT count(*) FROM messages WHERE state = 'received'") == 0
        assert one("SELECT count(*) FROM messages WHERE state = 'quarantined'") == 0
        assert (
            one("SELECT count(*) FROM messages WHERE state = 'filed'") == N
        )  # roster imported at start
        assert one("SELECT count(*) FROM attachments") == 2 * N
        per = c.execute(
            sa.text("SELECT message_fk, count(*) FROM attachments GROUP BY message_fk")
        ).all()
        assert {n for _, n in per} == {2}
    engine.dispose()
    assert dovecot.folder_count("INBOX") == 0
    assert dovecot.folder_count(PROCESSED) == N
