"""Why a file could not be read, in the words a unit's clerk reads in a receipt.

The parsers store a file's problems in English, several joined by "; " and a container's
refused members as "NAME: reason" (parsers.archive, intake.parsestage). `file_problems` splits
them and words each one in Vietnamese, with what to do where the clerk can do something (send
it without a password, as .zip, attached directly). What is not known here falls back to
`notifier.reasons.vi`, the officer's wording, so nothing reaches a letter blank.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from notifier.reasons import vi as officer_vi

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _r(pattern: str, make: Callable[[re.Match[str]], str]) -> Rule:
    return re.compile(pattern, re.I), make


_DAMAGED = "tệp bị hỏng hoặc không đúng định dạng, không mở được"

_RULES: tuple[Rule, ...] = (
    _r(
        r"password",
        lambda m: "tệp có đặt mật khẩu nên không mở được; đề nghị gửi lại tệp không đặt mật khẩu",
    ),
    _r(
        r"^archive type not supported",
        lambda m: (
            "loại tệp nén này không mở được; đề nghị nén "
            "lại thành tệp .zip hoặc đính kèm trực tiếp từng tệp"
        ),
    ),
    _r(
        r"compression method not supported",
        lambda m: (
            "tệp trong tệp nén dùng kiểu nén không "
            "hỗ trợ; đề nghị nén lại thành tệp .zip thông thường"
        ),
    ),
    _r(
        r"archive is larger than (\d+) MB uncompressed",
        lambda m: (
            f"tệp nén quá lớn khi giải nén (quá {m[1]} MB); đề nghị gửi các tệp trong nhiều "
            "thư, hoặc đính kèm trực tiếp"
        ),
    ),
    _r(
        r"file is larger than (\d+) MB uncompressed",
        lambda m: f"tệp quá lớn khi giải nén (quá {m[1]} MB); đề nghị đính kèm trực tiếp",
    ),
    _r(r"zip bomb|overlap", lambda m: "tệp nén có cấu trúc bất thường nên đã bị từ chối giải nén"),
    _r(
        r"^zip has (\d+) files; only the first (\d+)",
        lambda m: f"tệp nén có {m[1]} tệp, chỉ {m[2]} tệp đầu được đọc",
    ),
    _r(
        r"^zip has too many entries \(more than (\d+)\)",
        lambda m: f"tệp nén có quá nhiều tệp (hơn {m[1]}), không mở được",
    ),
    _r(r"^(?:zip file is damaged|damaged entry)", lambda m: "tệp nén bị hỏng, không giải nén được"),
    _r(
        r"^(?:file name too long|absolute path in archive|path leads outside|symbolic link)",
        lambda m: "tên tệp trong tệp nén không hợp lệ, tệp đã bị bỏ qua",
    ),
    _r(r"^empty (?:file|attachment)", lambda m: "tệp rỗng, không có nội dung"),
    _r(
        r"^no data table or nomination list found",
        lambda m: "không tìm thấy bảng số liệu hay danh sách đề nghị khen thưởng trong tệp",
    ),
    _r(r"^data table is empty", lambda m: "bảng số liệu chưa có dòng số liệu nào"),
    _r(
        r"^scanned, no text layer",
        lambda m: (
            "bản quét (ảnh chụp văn bản) không đọc được chữ; "
            "đề nghị gửi kèm bản Word hoặc PDF có chữ"
        ),
    ),
    _r(
        r"^OCR not available",
        lambda m: "bản quét chưa đọc được chữ; đề nghị gửi kèm bản Word hoặc PDF có chữ",
    ),
    _r(
        r"^(\d+) page\(s\) not read by OCR",
        lambda m: (
            f"{m[1]} trang bản quét chưa được đọc "
            "(vượt giới hạn); đề nghị gửi kèm bản Word hoặc PDF có chữ"
        ),
    ),
    _r(
        r"^(\d+) file\(s\) not read: more than (\d+) files",
        lambda m: (
            f"thư có quá nhiều tệp (hơn {m[2]}), {m[1]} tệp chưa được đọc; đề nghị gửi "
            "trong nhiều thư"
        ),
    ),
    _r(
        r"^(\d+) attachments; only the first (\d+)",
        lambda m: f"thư có {m[1]} tệp đính kèm, chỉ {m[2]} tệp đầu được đọc",
    ),
    _r(
        r"^(\d+) embedded image\(s\) not read", lambda m: f"{m[1]} ảnh trong văn bản không đọc được"
    ),
    _r(
        r"^image too large|over the message's image budget",
        lambda m: (
            "ảnh quá lớn, không đọc được; đề nghị gửi ảnh chụp bằng điện thoại ở kích thước "
            "thông thường"
        ),
    ),
    _r(
        r"^content does not match its \.(\w+) name",
        lambda m: f"nội dung tệp không phải tệp .{m[1]} như tên tệp ghi",
    ),
    _r(
        r"format not supported \((\w+)\)|no (?:report|table) reader for (\w+)",
        lambda m: (
            f"định dạng .{m[1] or m[2]} chưa được hỗ trợ; đề nghị gửi tệp .docx, .xlsx, "
            ".pdf hoặc ảnh .jpg"
        ),
    ),
    _r(
        r"^old Office file of an unknown kind",
        lambda m: (
            "tệp Office đời cũ không rõ loại, không mở được; đề nghị lưu lại thành .docx hoặc .xlsx"
        ),
    ),
    _r(
        r"winmail\.dat",
        lambda m: (
            "tệp winmail.dat (do Outlook tạo) bị hỏng, không đọc được; "
            "đề nghị gửi lại, đính kèm trực tiếp từng tệp"
        ),
    ),
    _r(r"^forwarded message cannot be parsed", lambda m: "thư chuyển tiếp bị hỏng, không đọc được"),
    _r(r"embedded Outlook item not read", lambda m: "mục Outlook đính kèm không đọc được"),
    _r(r"^file could not be read", lambda m: "đã xảy ra lỗi khi đọc tệp; Phòng sẽ kiểm tra lại"),
    _r(
        r"damaged|not really|cannot be (?:read|parsed|rendered)|truncated|incomplete|not a valid",
        lambda m: _DAMAGED,
    ),
)
_SEPARATOR = re.compile(r"; (?!only the first)")  # "zip has N files; only the first M …" is one
_NAMED = re.compile(r"^(?P<name>[^:;]{1,255}): (?P<reason>.+)$", re.S)


def _rule(text: str) -> str:
    for pattern, make in _RULES:
        m = pattern.search(text)
        if m:
            return make(m)
    return ""


def file_problem(text: str) -> str:
    """One stored problem in Vietnamese; a refused member's "NAME: reason" keeps the name."""
    text = text.strip()
    if not text:
        return ""
    named = _NAMED.match(text)
    if named and (said := _rule(named["reason"])):
        return f"{named['name']}: {said}"
    return _rule(text) or officer_vi(text)


def file_problems(stored: str) -> tuple[str, ...]:
    """A file's stored problems ("; "-joined), each in Vietnamese, without repeats."""
    return tuple(f"{name}: {said}" if name else said for name, said in named_problems(stored))


def named_problems(stored: str) -> tuple[tuple[str, str], ...]:
    """A file's stored problems as (member name or "", Vietnamese reason), without repeats: a
    container's refused members come with their names."""
    out: list[tuple[str, str]] = []
    for piece in _SEPARATOR.split(stored or ""):
        piece = piece.strip()
        if not piece:
            continue
        named = _NAMED.match(piece)
        said = _rule(named["reason"]) if named else ""
        pair = (named["name"].strip(), said) if named and said else ("", file_problem(piece))
        if pair not in out:
            out.append(pair)
    return tuple(out)
