"""`intake import`: one reader for message files of any name, mbox files (with or without a BOM,
mboxo or mboxrd escaping), Maildirs and folders of those. The same message read by any route has
the same bytes, so it is stored once; what is not mail is reported with the reason."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import func, select

from intake.app import App
from intake.cli import cli
from parsers.mbox import BOM, is_from_line, message_bytes, sniff, split_mbox
from parsers.mime import body_sha256
from store.db import make_engine, upgrade
from store.files import FileStore
from store.models import Message
from tests.support.config import ROSTER, make_config
from tests.support.docgen_media import phone_jpeg
from tests.support.mailgen import campaign_mailbox

OBSOLETE = (  # an obsolete `From  :` header first, and a body line that an mbox must escape
    b"From  : =?utf-8?b?VHLGsOG7nW5nIFRIQ1MgVGFtIEjGsG5n?= <thcs-tam-hung@thanhoai.example>\n"
    b"To: totrunghoc-thanhoai@thanhoai.example\n"
    b"Subject: =?utf-8?b?QsOhbyBjw6FvIHR14bqnbiBs4buFIEhUU8SQ?=\n"
    b"Date: Tue, 05 Oct 2021 08:15:00 +0700\n"
    b"Message-ID: <obsolete-from-1@thanhoai.example>\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=utf-8\n"
    b"Content-Transfer-Encoding: 8bit\n"
    b"\n"
    + "Kính gửi Phòng GD&ĐT,\n".encode()
    + b"From the school office Mon Oct  4 08:15:00 2021 we sent the report.\n"
    + "Trân trọng!\n".encode()
)
# lines that began with ">From " before any escaping: only mboxrd keeps them apart
QUOTED = OBSOLETE.replace(b"Tr", b">From a quoted reply\n>>From a reply to a reply\nTr", 1)


def _mboxrd(
    messages: list[bytes], *, bom: bool = False, newline: bytes = b"\n", rd: bool = True
) -> bytes:
    """An mbox as mail clients write them: mboxrd (every `>*From ` line gets one more `>`, as
    mutt and Gmail Takeout do) or mboxo (`rd=False`: only `From ` lines escaped, as Python's
    mailbox and Thunderbird do); `newline` b"\\r\\n" for a file written on Windows."""
    out = [BOM] if bom else []
    for n, raw in enumerate(messages):
        out.append(f"From sender{n}@example.com Mon Oct  4 08:15:0{n} 2021".encode() + newline)
        for line in raw.splitlines(keepends=True):
            escape = line.lstrip(b">").startswith(b"From ") if rd else line.startswith(b"From ")
            out.append(b">" + line if escape else line)
        out.append(newline)
    return b"".join(out)


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\n", b"\r\n")


# -- the reader (pure) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011\n",
        b"From thcs-tam-hung@thanhoai.example Mon Oct  4 08:15:00 2021\n",
        b"From 1712345678901234567@xxx Mon Oct 04 08:15:00 +0000 2021\r\n",  # Gmail Takeout
        b"From - Mon Oct 04 08:15:00 2021\n",  # Thunderbird
        b"From someone@example.com Mon, 4 Oct 2021 08:15:00 +0700\n",  # RFC 5322 date
    ],
)
def test_real_from_lines_separate_messages(line: bytes) -> None:
    assert is_from_line(line)
    assert sniff(line + b"Subject: x\n\nbody\n").kind == "mbox"


@pytest.mark.parametrize(
    "line",
    [
        b"From  : Nguyen Van A <a@example.com>\n",  # obsolete header syntax
        b"From: a@example.com\n",
        b"From here on we will report weekly\n",
        b"From the school office Mon Oct 4\n",
        b"From a@b Mon Oct  4 2021\n",  # no time
    ],
)
def test_headers_and_body_lines_are_not_separators(line: bytes) -> None:
    assert not is_from_line(line)


def test_a_message_starting_with_an_obsolete_from_header_is_one_message() -> None:
    assert sniff(OBSOLETE).kind == "message"
    assert sniff(BOM + OBSOLETE).kind == "message"


def test_mbox_split_gives_each_message_the_bytes_of_its_eml() -> None:
    lf = campaign_mailbox(ROSTER, 3, seed=7)
    messages = [*lf, OBSOLETE, QUOTED]
    assert list(split_mbox(_mboxrd(messages).splitlines(keepends=True))) == messages
    assert list(split_mbox(_mboxrd(messages, bom=True).splitlines(keepends=True))) == messages
    crlf = [_crlf(m) for m in messages]
    got = list(split_mbox(_mboxrd(crlf, bom=True, newline=b"\r\n").splitlines(keepends=True)))
    assert got == crlf
    # a message that ends in a blank line of its own keeps it; the writer's separator goes
    assert list(split_mbox(_mboxrd([OBSOLETE + b"\n", OBSOLETE]).splitlines(keepends=True))) == [
        OBSOLETE + b"\n",
        OBSOLETE,
    ]


def test_python_mailbox_writes_mboxo_and_reads_back_the_same_bytes(tmp_path: Path) -> None:
    # (not with OBSOLETE: Python's writer takes a message's leading "From  :" for a From_ line)
    body_from = OBSOLETE.replace(b"From  :", b"From:", 1)
    messages = [*campaign_mailbox(ROSTER, 2, seed=3), body_from]
    box = mailbox.mbox(str(tmp_path / "x.mbox"))
    for raw in messages:
        box.add(raw)
    box.close()
    data = (tmp_path / "x.mbox").read_bytes()
    assert b"\n>From the school office" in data  # mboxo escaping, undone by the reader
    assert list(split_mbox(data.splitlines(keepends=True))) == messages
    assert list(split_mbox(_mboxrd(messages, rd=False).splitlines(keepends=True))) == messages


def test_leading_blank_lines_and_a_dateless_envelope_line_are_not_part_of_the_message() -> None:
    # as some exports save a single message: a line of spaces first, or `From <addr>` alone
    assert sniff(b" " * 255 + b"\r\n" + _crlf(OBSOLETE)).kind == "message"
    assert message_bytes(BOM + b" " * 255 + b"\r\n\r\n" + _crlf(OBSOLETE)) == _crlf(OBSOLETE)
    bare = b"From email_test@me.nowhere\r\n" + _crlf(OBSOLETE)
    assert sniff(bare).kind == "mbox"
    assert list(split_mbox(bare.splitlines(keepends=True))) == [_crlf(OBSOLETE)]
    # later separators need their date: a dateless one inside a message is a body line
    assert list(split_mbox((bare + b"From x@y\r\n").splitlines(keepends=True))) == [
        _crlf(OBSOLETE) + b"From x@y\r\n"
    ]
    assert sniff(b"From here on we report weekly\nSubject: x\n\n").kind == "not-mail"


def test_not_mail_is_named_with_a_reason() -> None:
    assert sniff(b"").reason == "empty file"
    assert sniff(b"\n\n  \n").reason == "empty file"
    assert sniff(phone_jpeg(1)[0]).reason == "not mail: binary data"
    assert "does not start with a header line" in sniff("Ghi chú: gọi lại\n".encode()).reason
    assert "does not start with a header line" in sniff(b"code,name,kind\n").reason
    assert "no From, Date" in sniff(b"IconFile: x\nMode: 1\n\nFrom: a@b\n").reason


def test_body_hash_ignores_trailing_blank_lines_only() -> None:
    base = body_sha256(OBSOLETE)
    assert body_sha256(OBSOLETE + b"\n\n") == base
    assert body_sha256(OBSOLETE.rstrip(b"\n")) == base
    assert body_sha256(_crlf(OBSOLETE) + b"\r\n") == base
    assert body_sha256(OBSOLETE + b" \n") != base  # a line with a space is not blank
    assert body_sha256(OBSOLETE.replace(b"Tr", b"\n\nTr")) != base  # blank lines inside count


# -- through the store -----------------------------------------------------------------------


def _containers(root: Path, messages: list[bytes]) -> list[Path]:
    """The same messages as files of their own (any name), an mboxo, a BOM-prefixed mboxrd and
    a Maildir."""
    files = root / "files"
    files.mkdir(parents=True)
    names = ["01.eml", "bao cao truong THCS", "thu.txt", "forwarded.msg.bak"]
    for name, raw in zip(names, messages, strict=False):
        (files / name).write_bytes(raw)
    (root / "All mail.mbox").write_bytes(_mboxrd(messages, rd=False))
    (root / "Inbox").write_bytes(_mboxrd(messages, bom=True))
    md = mailbox.Maildir(str(root / "Maildir"))
    for raw in messages:
        md.add(raw)
    return [files, root / "All mail.mbox", root / "Inbox", root / "Maildir"]


def test_the_same_message_by_every_route_is_stored_once(app: App, tmp_path: Path) -> None:
    messages = [*campaign_mailbox(ROSTER, 2, seed=11), OBSOLETE]
    paths = _containers(tmp_path / "export", messages)
    first = app.import_paths(paths[:1])
    assert (first.seen, first.stored, first.duplicates, first.skipped) == (3, 3, 0, [])
    for path in paths[1:]:
        r = app.import_paths([path])
        assert (r.seen, r.stored, r.duplicates, r.skipped, r.errors) == (3, 0, 3, [], []), path
    with app.sessions() as s:
        rows = list(s.scalars(select(Message).order_by(Message.id)))
        assert len(rows) == 3
        # byte for byte what the files hold: found again by its sha256, not only by its body
        assert sorted(app.files.get(m.sha256) for m in rows) == sorted(messages)
        obsolete = next(m for m in rows if m.message_id == "<obsolete-from-1@thanhoai.example>")
        assert obsolete.state != "received"  # filed (or set aside with a reason), not left behind


def test_a_copy_differing_only_in_trailing_blank_lines_is_a_duplicate(
    app: App, tmp_path: Path
) -> None:
    (tmp_path / "a.eml").write_bytes(OBSOLETE)
    (tmp_path / "b.eml").write_bytes(OBSOLETE.rstrip(b"\n"))
    (tmp_path / "c.eml").write_bytes(_crlf(OBSOLETE) + b"\r\n\r\n")
    r = app.import_paths([tmp_path / "a.eml", tmp_path / "b.eml", tmp_path / "c.eml"])
    assert (r.seen, r.stored, r.duplicates) == (3, 1, 2)


def test_folder_import_reads_every_file_and_reports_what_it_skipped(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "cfg")
    messages = campaign_mailbox(ROSTER, 3, seed=5)
    export = tmp_path / "Thư xuất"
    (export / "sub").mkdir(parents=True)
    (export / "thư báo cáo").write_bytes(messages[0])  # no extension
    (export / "sub" / "message.txt").write_bytes(BOM + messages[1])
    (export / "Inbox").write_bytes(_mboxrd([messages[2], OBSOLETE]))
    (export / "anh.jpg").write_bytes(phone_jpeg(2)[0])
    (export / "ghi chú.txt").write_text("Ghi chú: gửi lại báo cáo THCS\n", encoding="utf-8")
    (export / "empty.eml").write_bytes(b"")
    (export / "Inbox.msf").write_text('// <!-- <mdb:mork:z v="1.4"/> -->\n', encoding="utf-8")
    md = mailbox.Maildir(str(export / "Maildir"))
    md.add(OBSOLETE)
    (export / "Maildir" / "tmp" / "1633311300.P1.host").write_bytes(messages[0][:500])
    (export / "elsewhere").symlink_to(tmp_path / "cfg", target_is_directory=True)
    r = CliRunner().invoke(cli, ["--config", cfg.source, "import", str(export)])
    assert r.exit_code == 0, r.output
    assert "5 message(s) read, 4 new, 1 already in the store, 6 skipped" in r.output
    skipped = sorted(line for line in r.output.splitlines() if line.startswith("skipped: "))
    assert skipped == sorted(
        [
            f"skipped: {export / 'anh.jpg'}: not mail: binary data",
            f"skipped: {export / 'ghi chú.txt'}: not mail: "
            f"it does not start with a header line (Name: value)",
            f"skipped: {export / 'empty.eml'}: empty file",
            f"skipped: {export / 'Inbox.msf'}: not mail: "
            f"it does not start with a header line (Name: value)",
            f"skipped: {export / 'Maildir' / 'tmp' / '1633311300.P1.host'}: "
            "a Maildir delivery still in progress (tmp/), not read",
            f"skipped: {export / 'elsewhere'}: a link to a folder, not followed",
        ]
    )


def test_a_file_named_on_the_command_line_is_sniffed_not_judged_by_its_name(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "cfg")
    (tmp_path / "thu.mbox").write_bytes(OBSOLETE)  # named .mbox, holds one message
    (tmp_path / "export.eml").write_bytes(_mboxrd(campaign_mailbox(ROSTER, 2, seed=9)))
    (tmp_path / "danh sach.csv").write_text("code,name,kind\n", encoding="utf-8")
    r = CliRunner().invoke(
        cli,
        [
            "--config",
            cfg.source,
            "import",
            str(tmp_path / "thu.mbox"),
            str(tmp_path / "export.eml"),
            str(tmp_path / "danh sach.csv"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "3 message(s) read, 3 new, 0 already in the store, 1 skipped" in r.output
    assert "danh sach.csv: not mail" in r.output


# -- the migration that recomputes stored body hashes ------------------------------------------


def _old_body_hash(raw: bytes) -> str:
    import hashlib

    return hashlib.sha256(raw.split(b"\n\n", 1)[1].replace(b"\r\n", b"\n")).hexdigest()


def test_migration_0004_recomputes_body_hashes_from_the_raw_files(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0003")
    files = FileStore(tmp_path / "files")
    raws = [OBSOLETE, OBSOLETE.replace(b"obsolete-from-1", b"obsolete-from-2") + b"\n\n"]
    messages = sa.Table("messages", sa.MetaData(), autoload_with=engine)
    when = sa.func.now() if engine.dialect.name == "postgresql" else sa.text("CURRENT_TIMESTAMP")
    with engine.begin() as conn:
        for i, raw in enumerate([*raws, b"Subject: raw file lost\n\nbody\n"]):
            digest = files.put(raw) if i < 2 else "f" * 64
            conn.execute(
                messages.insert().values(
                    sha256=digest,
                    body_sha256=_old_body_hash(raw),
                    message_id=f"<m{i}@x>",
                    size=len(raw),
                    source="import",
                    from_addr="",
                    from_name="",
                    subject="",
                    received_at=when,
                    state="received",
                    reason="",
                    attempts=0,
                    campaign_id="",
                    assigned_by="",
                    candidates="",
                    auth="",
                    created_at=when,
                )
            )
    with pytest.raises(RuntimeError, match="needs the file store"):
        upgrade(engine, "0004")

    def hashes() -> list[str]:
        with engine.connect() as conn:
            return list(conn.scalars(select(messages.c.body_sha256).order_by(messages.c.id)))

    upgrade(engine, "0004", files_root=files.root)
    lost = _old_body_hash(b"Subject: raw file lost\n\nbody\n")
    assert hashes() == [body_sha256(raws[0]), body_sha256(raws[1]), lost]
    assert body_sha256(raws[0]) != _old_body_hash(raws[0])
    upgrade(engine, "head", files_root=files.root)  # nothing left to do: idempotent
    from alembic import command

    from store.db import alembic_config

    command.downgrade(alembic_config(engine, files.root), "0003")
    assert hashes() == [_old_body_hash(raws[0]), _old_body_hash(raws[1]), lost]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(messages)) == 3
    engine.dispose()
