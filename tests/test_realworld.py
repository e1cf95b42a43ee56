"""Real-world MIME messages (`tests/realworld/`, public corpora, see its SOURCES.md) through the
real parse stage, in-process (`parse_workers = 0`): none may raise or be set aside, and every
leaf part with content that is not the message body must come out as an attachment, exactly
once. The expectation is counted apart from the parser, with the stdlib `email` package alone.

Then the whole folder through `intake import` and the filer: every message accounted for once,
none left in `received`. And the shapes the corpus lacks, built here: files uuencoded in a text
body, a JPEG named only by `Content-Location`, MHTML resources, an unnamed PGP signature.
"""

from __future__ import annotations

import binascii
import email
import email.message
import email.policy
import hashlib
import logging
from collections import Counter
from collections.abc import Iterator
from email.message import Message as StdMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.clock import FixedClock
from core.errors import MessageError
from intake.app import App
from intake.importer import ImportResult
from intake.parsestage import Limits, ParseStage, Staged
from store.files import FileStore
from store.models import Message
from tests.support.config import ROSTER, make_config

CORPUS = Path(__file__).resolve().parent / "realworld"
MESSAGES = sorted(CORPUS.rglob("*.eml"))


# -- the independent count ---------------------------------------------------------------------
def _is_body(part: StdMessage) -> bool:
    """The message text: a text/plain or text/html leaf without a file name, not an attachment."""
    return (
        part.get_content_type() in ("text/plain", "text/html")
        and not part.get_filename()
        and part.get_content_disposition() != "attachment"
    )


def expected_files(raw: bytes) -> Counter[str]:
    """sha256 of every leaf with content (not only whitespace) that is not the body."""
    out: Counter[str] = Counter()
    for part in email.message_from_bytes(raw).walk():
        if part.is_multipart() or _is_body(part):
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data.strip():
            out[hashlib.sha256(data).hexdigest()] += 1
    return out


# -- the stage -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FileStore, ParseStage]]:
    root = tmp_path_factory.mktemp("realworld-files")
    st = ParseStage(str(root), Limits(parse_workers=0))
    try:
        yield FileStore(root), st
    finally:
        st.close()


def staged(stage: tuple[FileStore, ParseStage], raw: bytes) -> Staged:
    files, st = stage
    result = st.run_many([files.put(raw)])[0]
    assert not isinstance(result, MessageError), f"set aside: {result}"
    return result


def test_the_corpus_is_the_documented_one() -> None:
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    assert 100 <= len(MESSAGES) <= 160
    assert sum(p.stat().st_size for p in MESSAGES) < 5 * 2**20
    for path in MESSAGES:
        assert f"| `{path.name}` |" in sources, f"{path.name} has no source in SOURCES.md"


@pytest.mark.parametrize("path", MESSAGES, ids=[str(p.relative_to(CORPUS)) for p in MESSAGES])
def test_realworld_message_keeps_every_leaf_with_content(
    path: Path, stage: tuple[FileStore, ParseStage], caplog: pytest.LogCaptureFixture
) -> None:
    raw = path.read_bytes()
    caplog.set_level(logging.INFO)
    result = staged(stage, raw)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    expected = expected_files(raw)
    kept = Counter(p.sha256 for p in result.parts)  # forwarded messages' files included
    lost = expected - kept
    assert not lost, f"{sum(lost.values())} of {sum(expected.values())} files lost"
    top = Counter(p.sha256 for p in result.parts if p.parent is None)
    doubled = {sha: n for sha, n in top.items() if sha in expected and n > expected[sha]}
    assert not doubled, "a part was reported twice"


def test_parts_without_a_file_name_are_named_from_content_location_or_their_type(
    stage: tuple[FileStore, ParseStage],
) -> None:
    located = staged(
        stage, (CORPUS / "mikel-mail" / "missing_content_disposition.eml").read_bytes()
    )
    assert [(p.filename, p.content_type) for p in located.parts] == [("somefile.jpg", "image/jpg")]
    unnamed = staged(stage, (CORPUS / "mail-parser" / "mail_test_14.eml").read_bytes())
    assert [(p.filename, p.size) for p in unnamed.parts] == [("tep-dinh-kem.png", 8)]
    torture = staged(stage, (CORPUS / "flanker" / "torture.eml").read_bytes())
    names = Counter(p.filename for p in torture.parts)
    assert names["tep-dinh-kem.gif"] >= 3 and names["tep-dinh-kem.au"] >= 3, names


# -- shapes the corpus lacks ---------------------------------------------------------------------
def _uu(data: bytes, name: str, *, strip_spaces: bool = True) -> str:
    lines = [
        binascii.b2a_uu(data[i : i + 45]).decode("ascii").rstrip("\n")
        for i in range(0, len(data), 45)
    ]
    if strip_spaces:  # mail servers eat trailing spaces; the decoder must not care
        lines = [line.rstrip(" ") for line in lines]
    return "\n".join([f"begin 644 {name}", *lines, "`", "end"])


def _message(body: str, *, subtype: str = "plain") -> bytes:
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = "Trường THCS Bích Hòa <thcs.bichhoa@thanhoai.edu.vn>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = "Báo cáo Tuần lễ HTSĐ 2021"
    m["Message-ID"] = f"<{hashlib.sha1(body.encode()).hexdigest()[:16]}@thanhoai.edu.vn>"
    m.set_content(body, subtype=subtype, cte="7bit" if body.isascii() else None)
    return bytes(m)


def test_files_uuencoded_in_the_text_body_become_attachments(
    stage: tuple[FileStore, ParseStage],
) -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
    table = bytes(reversed(range(256))) * 12
    damaged = _uu(table, "so lieu.xls").splitlines()
    damaged[5] = "M" + "#" * 80  # one line longer than it says: read as far as it goes
    damaged[9] = "this line is not uuencode at all"
    body = "\n".join(
        [
            "Kinh gui Phong GD&DT,",
            "",
            "Truong gui bao cao va so lieu dinh kem.",
            "",
            _uu(pdf, "bao cao tuan le.pdf"),
            "",
            *damaged,
            "",
            "Tran trong.",
        ]
    )
    result = staged(stage, _message(body))
    parts = {p.filename: p for p in result.parts}
    assert set(parts) == {"bao cao tuan le.pdf", "so lieu.xls"}
    assert parts["bao cao tuan le.pdf"].sha256 == hashlib.sha256(pdf).hexdigest()
    assert parts["bao cao tuan le.pdf"].content_type == "application/pdf"
    assert 0 < parts["so lieu.xls"].size < len(table)  # the damaged line cost its 45 bytes
    assert parts["so lieu.xls"].size >= len(table) - 45
    assert "begin 644" not in result.parsed.text and "Tran trong." in result.parsed.text


def test_a_stray_begin_line_in_prose_stays_text(stage: tuple[FileStore, ParseStage]) -> None:
    body = "Ke hoach:\nbegin 644 nhiem vu moi\nbat dau tu thu hai.\nend of plan\n"
    result = staged(stage, _message(body))
    assert result.parts == ()
    assert "begin 644 nhiem vu moi" in result.parsed.text


def test_mhtml_resources_and_an_unnamed_signature_are_kept(
    stage: tuple[FileStore, ParseStage],
) -> None:
    """A page saved as MHTML (resources named by Content-Location, one by a bare URL path) in
    a PGP/MIME-signed message whose signature part has no name."""
    css = b"body { font-family: 'Times New Roman'; }\n"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    sig = b"-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n-----END PGP SIGNATURE-----\n"
    related = email.message.EmailMessage()
    related.set_content("<html><body><img src='logo.png'>Báo cáo</body></html>", subtype="html")
    related.make_related()
    related.add_related(css, maintype="text", subtype="css")
    related.add_related(png, maintype="image", subtype="png")
    resources = list(related.iter_parts())[1:]
    resources[0]["Content-Location"] = "https://truong.example/static/kieu%20chu.css"
    resources[1]["Content-Location"] = "file:///C:/Users/vanthu/Pictures/logo"
    top = email.message.EmailMessage()
    top["From"] = "thcs.bichhoa@thanhoai.edu.vn"
    top["Subject"] = "Báo cáo (MHTML)"
    top.make_mixed()
    top.attach(related)
    signature = email.message.EmailMessage()
    signature.set_content(sig, maintype="application", subtype="pgp-signature", disposition=None)
    del signature["Content-Disposition"]
    top.attach(signature)
    raw = top.as_bytes(policy=email.policy.SMTP)
    result = staged(stage, raw)
    names = {p.filename: p.sha256 for p in result.parts}
    assert names == {
        "kieu chu.css": hashlib.sha256(css).hexdigest(),
        "logo.png": hashlib.sha256(png).hexdigest(),
        "tep-dinh-kem.asc": hashlib.sha256(sig).hexdigest(),
    }
    assert Counter(names.values()) == expected_files(raw)


# -- the folder through `intake import` ----------------------------------------------------------
def _has_sender(raw: bytes) -> bool:
    """A message with a From header (after any leading blank line or mbox From_ line)."""
    return email.message_from_bytes(raw.lstrip()).get("From") is not None


def _import(tmp_path: Path, clock: FixedClock) -> tuple[App, ImportResult, list[str]]:
    app = App(make_config(tmp_path, limits={"parse_workers": 0}), clock)
    app.import_roster(ROSTER)
    result = app.import_paths([CORPUS])
    skipped = [s.label for s in result.skipped if s.label.endswith(".eml")]
    return app, result, skipped


def test_importing_the_corpus_accounts_for_every_message_once(
    tmp_path: Path, clock: FixedClock
) -> None:
    """Each file is imported or skipped with a reason, never both, never silently; what is
    imported is filed or set aside for a person, never left in `received`; a second import
    adds nothing."""
    app, result, skipped = _import(tmp_path, clock)
    with app:
        assert result.errors == []
        assert len(set(skipped)) == len(skipped)
        assert result.seen + len(skipped) == len(MESSAGES)
        assert result.stored + result.duplicates == result.seen
        with app.sessions() as s:
            states = Counter(s.scalars(sa.select(Message.state)))
        assert sum(states.values()) == result.stored
        assert states["received"] == 0 and states["quarantined"] == 0, states
        again = app.import_paths([CORPUS])
        assert (again.seen, again.stored, again.duplicates) == (result.seen, 0, result.seen)


def test_importing_the_corpus_skips_no_file_with_a_sender(
    tmp_path: Path, clock: FixedClock
) -> None:
    """Only files without any sender (parser fixtures made of MIME headers alone) may be
    skipped; real mail is imported whatever its first line."""
    app, _, skipped = _import(tmp_path, clock)
    with app:
        refused = [label for label in skipped if _has_sender(Path(label).read_bytes())]
        assert refused == [], "real mail skipped"
