"""Containers on generated files: zips as Vietnamese offices and hostile senders make them,
forwarded mail (also through the parse stage), winmail.dat, and what is refused."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import tnefparse

from intake.parsestage import Limits, stage
from parsers.archive import (
    MAX_ENTRIES,
    PROTECTED,
    UNSUPPORTED,
    Budget,
    BudgetExceeded,
    decode_name,
    expand,
    read_member,
)
from parsers.facts import Unreadable
from store.files import FileStore
from tests.support import docgen_media as gen


@pytest.mark.parametrize(
    ("encoding", "flag"),
    [
        ("utf-8", True),  # Windows 10+, WinRAR, 7-Zip: UTF-8 with the language-encoding flag
        ("utf-8", False),  # Linux zip, some 7-Zip builds: UTF-8 without the flag
        ("cp1258", False),  # Vietnamese Windows "Send to compressed folder"
        ("cp437", False),  # the zip default (an English-locale archiver)
    ],
)
def test_member_names_are_decoded(encoding: str, flag: bool) -> None:
    data, names = gen.zip_names(encoding, utf8_flag=flag)
    out = expand(data, "zip")
    assert [m.name for m in out.members] == list(names)  # __MACOSX/._ junk left out quietly
    assert out.problems == ()
    assert [m.data for m in out.members] == [f"nội dung {i}".encode() * 10 for i in range(3)]
    assert out.members[0].content_type.endswith("wordprocessingml.document")


def test_unicode_path_extra_field_wins_over_the_legacy_name() -> None:
    out = expand(gen.unicode_path_zip("Báo cáo tuần lễ.docx"), "zip")
    assert [m.name for m in out.members] == ["Báo cáo tuần lễ.docx"]


def test_cp1258_reading_beats_cp437_only_when_it_reads_as_vietnamese() -> None:
    for name in ("Danh sách khen thưởng.xlsx", "Ảnh hoạt động ngày 5.jpg", "Kế hoạch số 12.doc"):
        assert decode_name(gen.encode_name(name, "cp1258"), False) == name
    for name in ("Résumé.txt", "Café façade.jpg"):
        assert decode_name(name.encode("cp437"), False) == name


def test_ratio_bomb_is_stopped_early_and_the_rest_still_comes_out() -> None:
    data = gen.ratio_bomb(20)
    tracemalloc.start()
    out = expand(data, "zip")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [m.name for m in out.members] == ["anh.jpg"]
    assert len(out.problems) == 1 and "so lieu.xlsx" in out.problems[0]
    assert "compression ratio" in out.problems[0]
    assert peak < 12 * 2**20  # streamed: stopped after a few MB, not 20 MB


def test_overlapping_entries_bomb_is_refused() -> None:
    data = gen.overlap_bomb(200)
    start = time.perf_counter()
    with pytest.raises(Unreadable, match="overlap"):
        expand(data, "zip")
    assert time.perf_counter() - start < 1.0
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # what Python 3.11 alone would do
        assert len(zf.infolist()) == 200
        assert len({i.header_offset for i in zf.infolist()}) == 1


def test_symlinks_traversal_and_absolute_names_are_refused_one_by_one() -> None:
    data, refused = gen.hostile_names_zip()
    out = expand(data, "zip")
    assert [m.name for m in out.members] == ["Ảnh 2.jpg"]
    assert len(out.problems) == len(refused)
    for name, problem in zip(refused, out.problems, strict=True):
        assert problem.startswith(f"{name}: ")
    assert "symbolic link" in out.problems[0]
    assert "outside the archive" in out.problems[1] and "absolute path" in out.problems[2]
    assert all("/" not in m.name for m in out.members)


def test_encrypted_entries() -> None:
    data, plain = gen.encrypted_zip()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # really encrypted: the password opens it
        assert zf.read("Số liệu.xlsx", pwd=b"123456") == plain
    out = expand(data, "zip")
    assert [m.name for m in out.members] == ["doc-truoc.txt"]
    assert out.problems == (f"Số liệu.xlsx: {PROTECTED}",)
    only, _ = gen.encrypted_zip(all_encrypted=True)
    with pytest.raises(Unreadable, match=PROTECTED):
        expand(only, "zip")


def test_declared_sizes_are_not_trusted() -> None:
    out = expand(gen.size_lie_zip(), "zip")  # declares 4 GB, holds 5 KB
    assert out.members[0].data == "Tổng hợp số liệu\n".encode() * 300


def test_budget_counts_the_bytes_actually_read() -> None:
    three = bytes(3 * 2**20)
    honest = gen.entry("a.bin", three)
    liar = gen.Entry(b"b.bin", honest.payload, honest.crc, 0xFFFFFFF0)  # declares 4 GB
    data = gen.raw_zip([honest, liar])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        first, second = zf.infolist()
        budget = Budget(4 * 2**20)
        assert read_member(zf, second, 10 * 2**20, budget) == three
        assert budget.left == 2**20  # charged what was read, not what was declared
        with pytest.raises(BudgetExceeded, match="archive is larger than"):
            read_member(zf, first, 10 * 2**20, budget)
        with pytest.raises(BudgetExceeded, match="file is larger than 1 MB"):
            read_member(zf, first, 2**20)


def test_damaged_entry_and_unsupported_method_are_reported_per_entry() -> None:
    good = gen.entry("Ảnh 1.jpg", b"\xff\xd8\xff" + bytes(500))
    bad = gen.entry("bao cao.docx", b"PK" + bytes(800))
    broken = gen.Entry(bad.name, bad.payload, bad.crc ^ 0xFFFF, bad.size)  # wrong CRC
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("so lieu.xlsx", b"x" * 1000, compress_type=zipfile.ZIP_BZIP2)
    bz = expand(buf.getvalue(), "zip")
    assert bz.members == () and "compression method not supported (bzip2)" in bz.problems[0]
    out = expand(gen.raw_zip([broken, good]), "zip")
    assert [m.name for m in out.members] == ["Ảnh 1.jpg"]
    assert out.problems == ("bao cao.docx: damaged entry",)


def test_entry_count_is_capped() -> None:
    out = expand(gen.many_entries_zip(MAX_ENTRIES + 5), "zip")
    assert len(out.members) == MAX_ENTRIES
    assert out.problems == (
        f"zip has {MAX_ENTRIES + 5} files; only the first {MAX_ENTRIES} were read",
    )


def test_nested_zip_is_a_member_for_the_caller_to_expand() -> None:
    outer = expand(gen.nested_zip(), "zip")
    assert [m.name for m in outer.members] == ["anh.zip"]
    inner = expand(outer.members[0].data, "zip")
    assert [m.name for m in inner.members] == ["Ảnh 3.jpg"]


@pytest.mark.parametrize(
    ("data", "fmt", "reason"),
    [
        (b"Rar!\x1a\x07\x01\x00" + bytes(40), "rar", UNSUPPORTED),
        (b"7z\xbc\xaf\x27\x1c" + bytes(40), "7z", UNSUPPORTED),
        (b"PK\x03\x04" + bytes(60), "zip", "zip file is damaged"),
        (b"%PDF-1.4", "pdf", "not a container"),
    ],
)
def test_whole_container_refusals(data: bytes, fmt: str, reason: str) -> None:
    with pytest.raises(Unreadable, match=reason):
        expand(data, fmt)


def test_forwarded_message_members_carry_the_inner_sender() -> None:
    fwd = gen.forwarded_message()
    out = expand(fwd.inner, "rfc822")
    assert [(m.name, m.data, m.sender) for m in out.members] == [
        (name, data, fwd.inner_from) for name, data in fwd.inner_files
    ]
    assert out.members[1].content_type == "image/jpeg"


def test_forwarded_message_through_the_parse_stage_counts_each_file_once(tmp_path: Path) -> None:
    """mail-parser lists a forwarded message's attachments beside it as well; the stage keeps
    only the copies from inside it, attributed to the school that wrote it."""
    fwd = gen.forwarded_message()
    files = FileStore(tmp_path)
    staged = stage(files.put(fwd.raw), str(tmp_path), Limits(parse_workers=0))
    container = [p for p in staged.parts if p.facts.kind == "email"]
    inner = [p for p in staged.parts if p.facts.kind != "email"]
    assert len(container) == 1 and container[0].parent is None
    assert [(p.filename, p.sender, p.parent) for p in inner] == [
        (name, fwd.inner_from, 0) for name, _ in fwd.inner_files
    ]
    assert {"report", "data_table"} <= inner[0].facts.items and inner[1].facts.items == {"photo"}


@pytest.mark.parametrize("long_names", [True, False], ids=["long-names", "cp1258-titles"])
def test_winmail_dat(long_names: bool) -> None:
    data, files = gen.winmail_dat(long_names=long_names)
    parsed = tnefparse.TNEF(data)  # the generated file is what tnefparse itself reads
    assert [a.data for a in parsed.attachments] == [d for _, d in files]
    out = expand(data, "tnef")
    assert [(m.name, m.data) for m in out.members] == list(files)
    assert out.problems == ()


def test_winmail_dat_hostile_property_counts_do_not_hang() -> None:
    data, files = gen.winmail_dat()
    # the first attachment's MAPI block claims 4 billion properties
    block = gen._mapi_unicode(0x3707, "x")
    hostile = struct.pack("<I", 0xFFFFFFFF) + block[4:]
    start = data.index(gen._tnef_object(2, 0x00069005, gen._mapi_unicode(0x3707, files[0][0])))
    old = gen._tnef_object(2, 0x00069005, gen._mapi_unicode(0x3707, files[0][0]))
    data = data[:start] + gen._tnef_object(2, 0x00069005, hostile) + data[start + len(old) :]
    began = time.perf_counter()
    out = expand(data, "tnef")
    assert time.perf_counter() - began < 1.0
    assert [m.data for m in out.members] == [d for _, d in files]
    assert out.problems == ("an attachment's properties in winmail.dat are damaged",)


def test_winmail_dat_cut_off_or_damaged() -> None:
    data, files = gen.winmail_dat()
    cut = expand(data[: len(data) - 5000], "tnef")  # inside the photo's data
    assert [m.name for m in cut.members] == [files[0][0]]
    assert cut.problems == (
        "winmail.dat is cut off; its last part is missing",
        f"{files[1][0]}: empty attachment",
    )
    with pytest.raises(Unreadable, match="winmail.dat is damaged"):
        expand(b"\x78\x9f\x3e", "tnef")
