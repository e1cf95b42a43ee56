"""Rosters as offices really save them: Excel's "CSV" on Vietnamese Windows (Windows-1258, tone
marks as combining characters), "Unicode Text" (UTF-16 with a BOM, tab-separated), UTF-16
without a BOM, UTF-8 with a BOM, TCVN3 text, .xlsx and .xls — each imports the same units as
the UTF-8 original. Damaged workbooks are one ConfigError naming the file and what to do."""

from __future__ import annotations

import codecs
import io
import unicodedata
from pathlib import Path

import openpyxl
import pytest
import xlwt

from core.errors import ConfigError
from intake.roster import read_roster
from parsers.vietnamese import unicode_to_tcvn3
from tests.support.config import ROSTER

TEXT = ROSTER.read_text(encoding="utf-8-sig")
EXPECTED = read_roster(ROSTER)
_TONES = "\u0300\u0301\u0303\u0309\u0323"


def cp1258(text: str) -> bytes:
    """Text as Windows writes it in code page 1258: letters it has precomposed (â, ơ, ư, đ…)
    stay so, tone marks follow as combining characters."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
            out += (base + "".join(c for c in parts if c in _TONES)).encode("cp1258")
    return bytes(out)


def _xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in TEXT.splitlines():
        ws.append(_split(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xls() -> bytes:
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Danh sách")
    for r, row in enumerate(TEXT.splitlines()):
        for c, value in enumerate(_split(row)):
            ws.write(r, c, value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _split(line: str) -> list[str]:
    import csv

    return next(csv.reader([line]))


SAVED_AS = {
    "cp1258.csv": lambda: cp1258(TEXT),
    "unicode-text.txt": lambda: codecs.BOM_UTF16_LE + TEXT.replace(",", "\t").encode("utf-16-le"),
    "utf16-no-bom.csv": lambda: TEXT.encode("utf-16-be"),
    "utf8-bom.csv": lambda: codecs.BOM_UTF8 + TEXT.encode("utf-8"),
    "tcvn3.csv": lambda: unicode_to_tcvn3(TEXT).encode("cp1252"),
    "don-vi.xlsx": _xlsx,
    "don-vi.xls": _xls,
    "xlsx-named.csv": _xlsx,  # told by content, not by name
}


@pytest.mark.parametrize("name", SAVED_AS)
def test_a_roster_saved_any_common_way_imports_the_same_units(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(SAVED_AS[name]())
    rows = read_roster(p)
    assert rows == EXPECTED
    assert any(r.name == "Trường THCS Thanh Mai" for r in rows)


def test_a_semicolon_separated_roster_imports(tmp_path: Path) -> None:
    p = tmp_path / "chấm-phẩy.csv"
    p.write_bytes(
        cp1258(
            "code;name;kind;emails;aliases\nth-kim-an;Trường Tiểu học Kim An;th;"
            '"a@thanhoai.example;b@thanhoai.example";TH Kim An\n'
        )
    )
    (row,) = read_roster(p)
    assert row.name == "Trường Tiểu học Kim An" and row.emails == (
        "a@thanhoai.example",
        "b@thanhoai.example",
    )


@pytest.mark.parametrize(
    "name,data,words",
    [
        ("hong.xlsx", b"PK\x03\x04" + b"\x00" * 300, "cannot read this xlsx workbook"),
        (
            "hong.xls",
            bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 600,
            "cannot read this xls workbook",
        ),
        ("cut.xlsx", None, "cannot read this xlsx workbook"),
        ("binary.csv", b"\x81\x8d\x8f" * 50, "not UTF-8, UTF-16 or Windows-1258 text"),
    ],
)
def test_a_damaged_roster_is_one_clear_error(
    tmp_path: Path, name: str, data: bytes | None, words: str
) -> None:
    p = tmp_path / name
    p.write_bytes(data if data is not None else _xlsx()[:2000])
    with pytest.raises(ConfigError) as e:
        read_roster(p)
    msg = str(e.value)
    assert msg.startswith(str(p)) and words in msg and "\n" not in msg
    assert "save it" in msg  # what to do
