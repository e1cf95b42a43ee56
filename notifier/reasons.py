"""Reasons in the officer's language. The store keeps reasons in English (logs, the CLI and
support read them); the digest shows them in Vietnamese. Known reasons are rewritten by pattern;
an unknown one is shown as a Vietnamese lead-in with the technical detail in brackets, so nothing
is hidden and nothing reads as English prose."""

from __future__ import annotations

import re
from collections.abc import Callable

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _r(pattern: str, make: Callable[[re.Match[str]], str]) -> Rule:
    return re.compile(pattern, re.I | re.S), make


def _bytes(text: str) -> str:
    n = int(text.replace(",", ""))
    return f"{n / 2**20:.1f} MB".replace(".", ",")


_RULES: tuple[Rule, ...] = (
    # the campaign decision (intake.campaigns)
    _r(r"^campaign unclear: (.*)$", lambda m: f"chưa rõ thuộc kế hoạch nào — {_campaign_vi(m[1])}"),
    _r(r"^moved to (\S+) by (.+)$", lambda m: f"{m[2]} chuyển sang {_other_vi(m[1])}"),
    _r(
        r"^assigned to (\S+) by (.+?); campaign unclear",
        lambda m: f"{m[2]} đã ghi nhận cho đơn vị {m[1]}; chưa rõ thuộc kế hoạch nào",
    ),
    _r(
        r"^(?:the subject names another matter|'.*' is titled '.*', another matter|"
        r"no campaign is open|it names only campaigns)",
        lambda m: _campaign_vi(m[0] + m.string[m.end() :]),
    ),
    # quarantine: the parse stage and the poller
    _r(r"^parse timeout after (\d+) s", lambda m: f"đọc thư quá thời gian cho phép ({m[1]} giây)"),
    _r(r"^memory limit", lambda m: "thư cần quá nhiều bộ nhớ để đọc (có thể là tệp độc hại)"),
    _r(
        r"^parse worker died",
        lambda m: "trình đọc thư bị dừng khi đọc thư này (vượt giới hạn bộ nhớ hoặc thời gian)",
    ),
    _r(
        r"^message too large: ([\d,]+) bytes > limit ([\d,]+)",
        lambda m: (
            f"thư quá lớn ({_bytes(m[1])}, giới hạn {_bytes(m[2])}); thư vẫn còn trên máy chủ"
        ),
    ),
    _r(r"^cannot parse message", lambda m: "thư bị hỏng, không đọc được cấu trúc thư"),
    _r(
        r"^too many MIME parts: more than (\d+)",
        lambda m: f"thư có quá nhiều phần (hơn {m[1]}), có thể là thư độc hại",
    ),
    _r(
        r"^MIME nesting too deep: more than (\d+)",
        lambda m: f"thư lồng nhau quá sâu (hơn {m[1]} cấp), có thể là thư độc hại",
    ),
    _r(r"^store failed", lambda m: "chưa lưu được thư vào kho dữ liệu; sẽ thử lại"),
    _r(
        r"^the store (?:\(.*?\) )?cannot be (?:written|opened)",
        lambda m: (
            "kho dữ liệu trên máy chủ đang không ghi được (đầy ổ đĩa, chỉ đọc hoặc lỗi ổ "
            "đĩa); thư chưa bị mất, máy sẽ tự thử lại khi kho ghi được"
        ),
    ),
    _r(
        r"^the built message is missing from the file store",
        lambda m: "tệp của thư gửi đi không còn trong kho dữ liệu nên không gửi được",
    ),
    _r(
        r"server returned no body",
        lambda m: "máy chủ thư không còn trả về thư này (có thể đã bị xóa hoặc di chuyển)",
    ),
    # not from a unit
    _r(r"^bounce", lambda m: "thư báo lỗi gửi thư (thư trả về)"),
    _r(r"^delivery or read report", lambda m: "thư báo đã nhận/đã đọc tự động"),
    _r(r"^auto-submitted|^auto-reply", lambda m: "thư trả lời tự động"),
    _r(r"^precedence: |^mailing list", lambda m: "thư gửi hàng loạt (danh sách thư)"),
    _r(r"^marked as spam", lambda m: "thư rác"),
    _r(r"^sent from the office's own address", lambda m: "thư gửi từ địa chỉ của chính Phòng"),
    # identification
    _r(
        r"the attachments name different units: (.*)",
        lambda m: f"các tệp đính kèm ghi tên nhiều đơn vị khác nhau: {m[1]}",
    ),
    _r(
        r"^attachments name different units",
        lambda m: "các tệp đính kèm ghi tên nhiều đơn vị nhưng không tách được rõ ràng",
    ),
    _r(
        r"^(?:on the roster|taught by the officer), but the text names ([^:]+):",
        lambda m: f"địa chỉ gửi thuộc một đơn vị nhưng nội dung thư ghi tên {m[1]}",
    ),
    _r(
        r"^(?:on the roster|taught by the officer), but the documents are (\S+)'s",
        lambda m: f"địa chỉ gửi thuộc một đơn vị nhưng văn bản đính kèm là của {m[1]}",
    ),
    _r(
        r"^the sender and the forwarded messages are different units \(([^)]*)\)",
        lambda m: (
            f"người gửi và thư được chuyển tiếp thuộc các đơn vị khác nhau ({m[1]})"
            + (
                "; thư chuyển tiếp có kèm tệp của chính người gửi"
                if "adds files of its own" in m.string
                else ""
            )
        ),
    ),
    _r(
        r"^forwarded message from (\S+) is on the roster \(forwarded by ([^,]+),[^)]*\), "
        r"but the text names ([^:]+):",
        lambda m: (
            f"thư do {m[2]} chuyển tiếp, thư gốc gửi từ địa chỉ {m[1]} của một đơn vị, "
            f"nhưng nội dung thư ghi tên {m[3]}"
        ),
    ),
    _r(
        r"^forwarded message from (\S+) is on the roster \(forwarded by ([^,]+),[^)]*\), "
        r"but the documents are (\S+)'s",
        lambda m: (
            f"thư do {m[2]} chuyển tiếp, thư gốc gửi từ địa chỉ {m[1]} của một đơn vị, "
            f"nhưng văn bản đính kèm là của {m[3]}"
        ),
    ),
    _r(
        r"^forwarded message from (\S+) is on the roster \(forwarded by ([^,]+),",
        lambda m: f"thư do {m[2]} chuyển tiếp, thư gốc gửi từ địa chỉ {m[1]} của đơn vị",
    ),
    _r(
        r"address (?:is )?not in the roster",
        lambda m: "địa chỉ gửi không có trong danh sách đơn vị",
    ),
    _r(
        r"\(sender ([^)]*)\)$",
        lambda m: (
            "không nhận ra đơn vị gửi từ địa chỉ, tên người gửi, "
            f"tiêu đề và văn bản (người gửi {m[1]})"
        ),
    ),
    # authenticity
    _r(
        r"^DMARC (\w+), SPF (\w+|\?), DKIM (\w+|\?)",
        lambda m: f"DMARC: {m[1]}, SPF: {m[2]}, DKIM: {m[3]}",
    ),
)

_FILE_RULES: tuple[Rule, ...] = (
    _r(r"password-protected", lambda m: "tệp có mật khẩu"),
    _r(
        r"archive type not supported",
        lambda m: "loại tệp nén không hỗ trợ (hãy gửi .zip hoặc gửi trực tiếp)",
    ),
    _r(r"table on paper not read", lambda m: "bảng số liệu dạng ảnh — cần nhập tay"),
    _r(r"^photographed document page", lambda m: "ảnh chụp văn bản"),
    _r(r"OCR not available", lambda m: "bản quét chưa đọc được (máy chủ chưa cài OCR tiếng Việt)"),
    _r(r"page\(s\) not read by OCR", lambda m: "bản quét quá nhiều trang, chỉ đọc một phần"),
    _r(r"scanned, no text layer", lambda m: "bản quét (ảnh), không có chữ để đọc"),
    _r(
        r"over the message's image budget",
        lambda m: (
            "ảnh không được đọc: thư có quá nhiều ảnh lớn (vượt giới hạn điểm ảnh cho một thư)"
        ),
    ),
    _r(r"too large|bomb|too many", lambda m: "tệp quá lớn hoặc bất thường, đã từ chối đọc"),
    _r(r"damaged|not really|cannot be (?:read|parsed)", lambda m: "tệp bị hỏng hoặc sai định dạng"),
)


def _other_vi(cid: str) -> str:
    return "thư khác (không thuộc kế hoạch nào)" if cid == "other" else f"kế hoạch {cid}"


_CAMPAIGN_PHRASES = (
    (r"the subject names another matter \((.*?)\)", r"tiêu đề thư nói về việc khác (\1)"),
    (
        r"'([^']*)' is titled '([^']*)', another matter",
        r"tệp '\1' có tên văn bản '\2', là việc khác",
    ),
    (r"the email names (\S+) and (\S+) equally", r"thư nhắc đến cả \1 và \2 như nhau"),
    (
        r"the email names ([^,;]+), its files name ([^;]+)",
        r"thư nhắc đến \1 nhưng tệp đính kèm thuộc \2",
    ),
    (r"the email names ([^,;]+), but ", r"thư nhắc đến \1, nhưng "),
    (
        r"files of (.+?) in one email, and '([^']*)' says whose it is not",
        r"một thư có tệp của \1, và tệp '\2' không cho biết thuộc kế hoạch nào",
    ),
    (
        r"nothing in the email or its files names a campaign",
        "thư và tệp đính kèm không nhắc đến kế hoạch nào",
    ),
    (r"no campaign is open for it", "không kế hoạch nào đang nhận thư này"),
    (
        r"it names only campaigns not open for it",
        "thư chỉ nhắc đến kế hoạch chưa mở nhận hoặc không giao cho đơn vị này",
    ),
    (
        r"\((.+?) named but not open for this message or its unit\)",
        r"(\1 được nhắc đến nhưng chưa mở nhận hoặc không giao cho đơn vị này)",
    ),
)


def _campaign_vi(text: str) -> str:
    for pattern, repl in _CAMPAIGN_PHRASES:
        text = re.sub(pattern, repl, text)
    return text


def vi(reason: str) -> str:
    """The Vietnamese wording of a stored (English) reason."""
    text = (reason or "").strip()
    if not text:
        return ""
    for pattern, make in _RULES + _FILE_RULES:
        m = pattern.search(text)
        if m:
            return make(m)
    return f"lý do kỹ thuật ({text})"
