"""Every message of the hostile corpus (`tests/hostile/corpus.py`) through the real pipeline:
import → store → the parse stage in worker processes (2 workers, 512 MB address space, 20 s
timeout) → filing, on one store and one worker pool for the whole module.

For each message: nothing escapes, it takes a bounded time, it ends quarantined or filed with the
expected reason, nothing is written outside the store (the working directory of the workers is
an empty directory that must stay empty; the temp tree holds only the store's own files), every
stored string is NFC with no surrogates, NULs, BiDi or other control characters, and the next
ordinary unit email is still filed under its unit."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import io
import json
import os
import random
import re
import resource
import time
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from core.clock import FixedClock
from intake import demo_mail
from intake.app import App
from notifier.smtp import FakeMailer
from store.models import Attachment, Message, Unit
from tests.hostile.corpus import ABSOLUTE_TARGET, FORMULAS, Case, corpus, formula_table
from tests.support.config import ROSTER, make_config

CASES = corpus()
PER_MESSAGE_SECONDS = 10.0  # far below the 20 s parse timeout: no case may lean on it
PARENT_GROWTH_MB = 200
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_HEX = re.compile(r"^[0-9a-f]{64}$")
_ESCAPED = re.compile(r"\\(?:ud[89a-f][0-9a-f]{2}|x[89a-f][0-9a-f])")  # undecoded 8-bit bytes


@dataclass
class World:
    app: App
    root: Path  # the whole temp tree of this module
    inbox: Path  # where the test writes the .eml files it imports
    cwd: Path  # the workers' working directory
    units: list[demo_mail.RosterUnit]
    sent: int = 0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    cwd, inbox = root / "cwd", root / "inbox"
    cwd.mkdir()
    inbox.mkdir()
    cfg = make_config(
        root / "app",
        limits={
            "parse_workers": 2,
            "parse_memory_mb": 512,
            "parse_timeout": 20,
            "parse_cpu_seconds": 15,
        },
        mailbox={"max_attempts": 1},  # a failure quarantines at once (no retry backoff)
    )
    old = os.getcwd()
    os.chdir(cwd)  # the workers start here (multiprocessing carries the parent's cwd)
    app = App(cfg, FixedClock(datetime(2021, 10, 5, 2, 0, tzinfo=UTC)))
    try:
        app.import_roster(ROSTER)
        yield World(app, root, inbox, cwd, demo_mail.read_units(ROSTER))
    finally:
        app.close()
        os.chdir(old)


def feed(w: World, raw: bytes) -> str:
    """Import `raw` like an officer's exported .eml (stored, then filed); its sha256."""
    w.sent += 1
    path = w.inbox / f"{w.sent:03d}.eml"
    path.write_bytes(raw)
    result = w.app.import_paths([path])
    assert result.errors == [], result.errors
    return hashlib.sha256(raw).hexdigest()


def ordinary(w: World, n: int) -> tuple[bytes, str]:
    """A unit's plain report email (the table as .xlsx, Gmail's RFC 2231 file name)."""
    unit = w.units[(7 * n + 3) % len(w.units)]
    rng = random.Random(n)
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = f"{unit.name} <{unit.email}>"
    m["To"] = demo_mail.OFFICE
    m["Subject"] = f"Báo cáo số liệu Tuần lễ học tập suốt đời 2021 - {unit.name}"
    m["Date"] = format_datetime(datetime(2021, 10, 5, 1, n % 60, tzinfo=UTC))
    m["Message-ID"] = f"<ordinary-{n}@thanhoai.example>"
    m.set_content(f"Kính gửi Phòng GD&ĐT,\n{unit.name} gửi bảng tổng hợp số liệu (lần {n}).\n")
    m.add_attachment(
        demo_mail.make_table(unit, demo_mail._rows(rng), rng),
        maintype="application",
        subtype=demo_mail.XLSX.split("/")[1],
        filename=f"Tổng hợp số liệu {unit.name}.xlsx",
    )
    return bytes(m), unit.code


def assert_clean(value: str | None, what: str, *, multiline: bool = False) -> None:
    if not value:
        return
    assert unicodedata.is_normalized("NFC", value), what
    bad = [
        ch
        for ch in value
        if 0xD800 <= ord(ch) <= 0xDFFF
        or ch in _BIDI
        or ch in "\x00\u2028\u2029"
        or (unicodedata.category(ch) == "Cc" and not (multiline and ch in "\n\t"))
    ]
    assert not bad, (what, bad[:5], value[:200])
    assert not _ESCAPED.search(value), (what, "escaped bytes", value[:200])


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def assert_stored_clean(msg: Message, atts: list[Attachment]) -> None:
    for col in ("from_addr", "from_name", "subject", "message_id"):
        assert_clean(getattr(msg, col), f"messages.{col}")
    assert_clean(msg.reason, "messages.reason", multiline=True)
    for s in _strings(json.loads(msg.candidates or "[]")):
        assert_clean(s, "messages.candidates", multiline=True)
    for a in atts:
        for col in ("filename", "content_type", "kind", "fmt", "items"):
            assert_clean(getattr(a, col), f"attachments.{col}")
        assert_clean(a.problem, "attachments.problem", multiline=True)
        for s in _strings(json.loads(a.facts or "{}")):
            assert_clean(s, "attachments.facts", multiline=True)
        assert len(a.filename) <= 180 and "/" not in a.filename and "\\" not in a.filename


def snapshot(w: World) -> set[str]:
    """Every file in the module's temp tree outside the store's own layout and the inbox."""
    files = w.app.files.root
    out = set()
    for p in w.root.rglob("*"):
        if p.is_dir() or w.inbox in p.parents or p.name.startswith("intake.sqlite3"):
            continue
        if files in p.parents:
            rel = p.relative_to(files).parts
            if (
                len(rel) == 3
                and _HEX.match(rel[2])
                and rel[0] == rel[2][:2]
                and rel[1] == rel[2][2:4]
            ):
                continue
        out.add(str(p.relative_to(w.root)))
    return out


def _message(w: World, sha: str) -> tuple[Message, list[Attachment], str | None]:
    with w.app.sessions() as s:
        msg = s.scalar(select(Message).where(Message.sha256 == sha))
        assert msg is not None, "the message was not stored"
        atts = list(
            s.scalars(
                select(Attachment).where(Attachment.message_fk == msg.id).order_by(Attachment.id)
            )
        )
        unit = s.scalar(select(Unit.code).where(Unit.id == msg.unit_id)) if msg.unit_id else None
        s.expunge_all()
    return msg, atts, unit


def _matches(name: str, expected: str) -> bool:
    return name.startswith(expected[:-1]) if expected.endswith("*") else name == expected


@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}-{c.name}" for c in CASES])
def test_hostile_message_is_contained(world: World, case: Case) -> None:
    w = world
    before = snapshot(w)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    twin = feed(w, case.twin) if case.twin else None

    start = time.perf_counter()
    sha = feed(w, case.raw)
    elapsed = time.perf_counter() - start
    assert elapsed < PER_MESSAGE_SECONDS, f"{case.name} took {elapsed:.1f} s"

    msg, atts, unit = _message(w, sha)
    problems = [a.problem for a in atts if a.problem]
    if case.outcome == "quarantined":
        assert msg.state == "quarantined", (msg.state, msg.reason)
        assert case.reason in msg.reason, msg.reason
        assert atts == []
    else:
        assert msg.state == "filed", (msg.state, msg.reason)
        assert unit == case.unit, msg.reason
        if case.outcome == "rejected":
            assert any(case.reason in p for p in problems), problems
        else:
            assert problems == [], problems
    top = [a for a in atts if a.parent_id is None]
    if case.files >= 0:
        assert len(top) == case.files, [a.filename for a in top]
    if case.filename:
        assert any(_matches(a.filename, case.filename) for a in top), [a.filename for a in top]
    if case.subject:
        assert msg.subject.startswith(case.subject), msg.subject[:100]
    assert_stored_clean(msg, atts)
    if twin is not None:  # same Message-ID, different message: both kept and filed
        other, _, _ = _message(w, twin)
        assert other.id != msg.id and other.message_id == msg.message_id != ""
        assert other.state == "filed"

    # the next ordinary email still goes through
    raw, code = ordinary(w, w.sent)
    nxt, nxt_atts, nxt_unit = _message(w, feed(w, raw))
    assert (nxt.state, nxt_unit) == ("filed", code), nxt.reason
    assert [a.items for a in nxt_atts] == ["data_table"] and not nxt_atts[0].problem

    # nothing written outside the store; the parent stayed small
    assert snapshot(w) == before
    assert list(w.cwd.iterdir()) == []
    assert not Path(ABSOLUTE_TARGET).exists()
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert growth_mb < PARENT_GROWTH_MB


RECEIPT_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "auto-submitted",
    "x-auto-response-suppress",
    "x-intake-kind",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}


def test_hostile_subjects_reused_in_receipts_add_no_header(world: World) -> None:
    """Subjects that decoded to CR/LF, U+2028/2029/NEL or controls are quoted in each receipt's
    text: every receipt has only our headers and goes to the sender alone."""
    w = world
    risky = [
        c
        for c in CASES
        if c.name
        in (
            "crlf-in-encoded-subject",
            "controls-in-encoded-subject",
            "line-separators-in-encoded-subject",
        )
    ]
    ids = {}
    for case in risky:
        msg, _, _ = _message(w, feed(w, case.raw))
        assert msg.state == "filed", msg.reason
        ids[msg.message_id] = msg.subject
    mailer = FakeMailer()
    notifier = w.app.notifier(mailer)
    notifier.queue_receipts(w.app.clock.now())
    notifier.deliver()
    assert mailer.sent
    seen = set()
    for sent in mailer.sent:
        raw = sent.as_bytes(policy=email.policy.SMTP)
        head = raw.split(b"\r\n\r\n", 1)[0]
        names = {
            line.split(b":", 1)[0].decode().lower()
            for line in head.split(b"\r\n")
            if line and line[:1] not in b" \t"
        }
        assert names <= RECEIPT_HEADERS, names - RECEIPT_HEADERS
        out = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
        assert out["Bcc"] is None and out["Cc"] is None
        assert len(out["To"].addresses) == 1 and out["To"].addresses[0].domain == "thanhoai.example"
        reply_to = str(out["In-Reply-To"] or "")
        if reply_to in ids:
            seen.add(reply_to)
            body = out.get_body(("plain",))
            assert body is not None and ids[reply_to] in " ".join(body.get_content().split())
    assert seen == set(ids)


def test_formula_text_from_a_unit_stays_text_in_the_export(world: World) -> None:
    """A unit's table whose cells read as formulas (=HYPERLINK, +1, -1+2, @SUM, full-width ＝,
    DDE) is filed, and the digest's consolidated workbook holds them as text cells."""
    w = world
    unit = next(u for u in w.units if u.code == "thcs-cu-khe")
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = f"{unit.name} <{unit.email}>"
    m["To"] = demo_mail.OFFICE
    m["Subject"] = f"Tổng hợp số liệu - {unit.name}"
    m["Date"] = format_datetime(datetime(2021, 10, 5, 1, 30, tzinfo=UTC))
    m["Message-ID"] = "<formulas-1@thanhoai.example>"
    m.set_content("Kính gửi Phòng GD&ĐT, trường gửi bảng số liệu.")
    m.add_attachment(
        formula_table(unit),
        maintype="application",
        subtype=demo_mail.XLSX.split("/")[1],
        filename="Tổng hợp số liệu.xlsx",
    )
    msg, atts, code = _message(w, feed(w, bytes(m)))
    assert (msg.state, code, [a.items for a in atts]) == ("filed", unit.code, ["data_table"])

    _, blob = w.app.notifier(FakeMailer()).build_digest(w.app.clock.now())
    wb = openpyxl.load_workbook(io.BytesIO(blob))
    texts = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.add(cell.value)
    assert set(FORMULAS) <= texts
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name)
                assert b"<f>" not in xml and b"<f " not in xml


def test_corpus_covers_the_issue() -> None:
    groups = {c.group for c in CASES}
    assert len(CASES) >= 30 and groups == {"mime", "filename", "office", "archive", "image"}
    assert {c.outcome for c in CASES} == {"quarantined", "rejected", "clean"}
    assert len({hashlib.sha256(c.raw).hexdigest() for c in CASES}) == len(CASES)
