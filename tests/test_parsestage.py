"""intake/parsestage.py: a stored message → its parts staged in the file store with their facts,
in worker processes or in-process alike; what cannot be parsed comes back as a MessageError
(permanent or to be retried), never as an exception out of the stream. The kill paths (time,
memory, a dead worker) are in test_parse_limits.py."""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from core.errors import MessageError
from intake.app import App
from intake.filing import roster_spec
from intake.parsestage import Limits, ParseStage, Staged
from store.files import FileStore
from tests.support.config import ROSTER
from tests.support.mailgen import campaign_mailbox
from tests.support.unitmail import nested_mail


@pytest.fixture(params=[0, 1], ids=["inline", "worker"])
def workers(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def files(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


@pytest.fixture
def stage(files: FileStore, workers: int) -> Iterator[ParseStage]:
    st = ParseStage(str(files.root), Limits(parse_workers=workers))
    try:
        yield st
    finally:
        st.close()


def _unit_mail(seed: int) -> bytes:
    return next(r for r in campaign_mailbox(ROSTER, 5, seed=seed) if b"Auto-Submitted" not in r)


def _zipped(raw: bytes) -> bytes:
    """The same email with its attachments sent as one zip, as units do to save clicks."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in msg.iter_attachments():
            z.writestr(str(part.get_filename()), part.get_payload(decode=True))
    out = EmailMessage()
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        out[name] = str(msg[name])
    out.set_content("Kính gửi Phòng, đơn vị gửi hồ sơ nén.\n")
    out.add_attachment(
        buf.getvalue(), maintype="application", subtype="zip", filename="Ho so tuan le.zip"
    )
    return out.as_bytes()


def _summary(staged: Staged) -> list[tuple[str, str, str, int | None]]:
    return [(p.filename, p.sha256, p.facts.kind, p.parent) for p in staged.parts]


def test_each_part_is_staged_with_its_bytes_in_the_file_store(
    files: FileStore, stage: ParseStage
) -> None:
    raw = _unit_mail(51)
    staged = stage.run(files.put(raw))
    assert staged.parts and staged.problems == ()
    sent = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(sent, EmailMessage)
    names = [str(p.get_filename()) for p in sent.iter_attachments()]
    assert [p.filename for p in staged.parts] == names
    for part in staged.parts:
        data = files.get(part.sha256)
        assert hashlib.sha256(data).hexdigest() == part.sha256 and len(data) == part.size
        assert part.facts_json  # what the store keeps of the facts
    assert all(p.data == b"" for p in staged.parsed.parts)  # the bytes are in the file store


def test_workers_stage_a_message_exactly_as_in_process(files: FileStore, tmp_path: Path) -> None:
    raw = _zipped(_unit_mail(52))
    sha = files.put(raw)
    got = []
    for n in (0, 1):
        st = ParseStage(str(files.root), Limits(parse_workers=n))
        try:
            got.append(st.run(sha))
        finally:
            st.close()
    inline, worker = got
    assert _summary(inline) == _summary(worker)
    assert [p.facts_json for p in inline.parts] == [p.facts_json for p in worker.parts]


def test_a_zips_members_are_staged_under_it(files: FileStore, stage: ParseStage) -> None:
    raw = _unit_mail(53)
    staged = stage.run(files.put(_zipped(raw)))
    top, *members = staged.parts
    assert top.facts.kind == "archive" and top.parent is None
    assert members and all(m.parent == 0 for m in members)
    plain = stage.run(files.put(raw))
    assert sorted(m.sha256 for m in members) == sorted(p.sha256 for p in plain.parts)


def test_the_unit_is_decided_beside_the_parse_when_the_roster_is_given(
    app: App, workers: int
) -> None:
    raw = _unit_mail(54)
    sha = app.files.put(raw)
    with app.sessions() as s:
        spec = roster_spec(s, ())
    st = ParseStage(str(app.files.root), Limits(parse_workers=workers))
    try:
        (staged,) = list(st.stream([sha], spec=spec))
        (bare,) = list(st.stream([sha]))
    finally:
        st.close()
    assert isinstance(staged, Staged) and isinstance(bare, Staged)
    assert bare.decision is None
    assert staged.decision is not None and staged.decision.unit
    sender = email.message_from_bytes(raw, policy=email.policy.default)["From"].addresses[0]
    assert sender.addr_spec.lower() in {
        e for u in spec.units if u.code == staged.decision.unit for e in u.emails
    }


def test_a_malformed_message_is_a_permanent_error(files: FileStore, workers: int) -> None:
    nested = nested_mail(6, "th-kim-an@thanhoai.example", "Báo cáo", "<nested@thanhoai.example>")
    sha = files.put(nested)
    st = ParseStage(str(files.root), Limits(parse_workers=workers, max_mime_depth=3))
    try:
        (result,) = st.run_many([sha])
    finally:
        st.close()
    assert isinstance(result, MessageError) and result.permanent
    assert "MIME nesting too deep" in str(result)


def test_a_raw_file_that_cannot_be_read_is_an_error_to_retry(
    files: FileStore, stage: ParseStage
) -> None:
    sha = files.put(_unit_mail(55))
    files.path(sha).unlink()
    (result,) = stage.run_many([sha])
    assert isinstance(result, MessageError) and not result.permanent
    assert "FileNotFoundError" in str(result)
    with pytest.raises(MessageError):
        stage.run(sha)


def test_a_stop_request_ends_the_stream_with_what_was_staged(
    files: FileStore, stage: ParseStage
) -> None:
    shas = [files.put(_unit_mail(60 + i)) for i in range(4)]
    seen: list[Staged | MessageError] = []
    stream = stage.stream(shas, stop=lambda: len(seen) >= 1)
    for result in stream:
        seen.append(result)
    assert len(seen) < len(shas)
    assert all(isinstance(r, Staged) for r in seen)
    assert len(stage.run_many(shas)) == len(shas)  # the stage still works after a stop
