"""What a file name suggests an attachment is: the dispatcher's second opinion.

Content decides first (`parsers.documents`); these hints only settle what the content leaves
open (a scanned PDF, a short document without a title). Units name files in Vietnamese with or
without diacritics, in any case, glued in CamelCase or joined by `_`/`-`/`.`, and abbreviate:
"BC" (báo cáo), "TH số liệu" (tổng hợp), "DS khen" (danh sách khen thưởng), "CV" (công văn),
"KH" (kế hoạch), "IMG_…" (a phone photo). "TH" alone is not a hint: it is also "tiểu học".
"""

from __future__ import annotations

import re
import unicodedata

from parsers.facts import DATA_TABLE, DIRECTIVE, NOMINATIONS, PHOTO, REPORT
from parsers.vietnamese import fold

# Phrases looked for in the folded, space-separated name (with spaces, or glued together).
_PHRASES: tuple[tuple[str, str], ...] = (
    ("bao cao", REPORT),
    ("tong hop", DATA_TABLE),
    ("so lieu", DATA_TABLE),
    ("bieu mau", DATA_TABLE),
    ("bang thong ke", DATA_TABLE),
    ("thong ke", DATA_TABLE),
    ("danh sach", NOMINATIONS),
    ("khen thuong", NOMINATIONS),
    ("de nghi khen", NOMINATIONS),
    ("to trinh", NOMINATIONS),
    ("cong van", DIRECTIVE),
    ("ke hoach", DIRECTIVE),
    ("quyet dinh", DIRECTIVE),
    ("hinh anh", PHOTO),
    ("anh hoat dong", PHOTO),
)
# Abbreviations and words that count only as a whole token.
_TOKENS: dict[str, str] = {
    "bc": REPORT,
    "baocao": REPORT,
    "sl": DATA_TABLE,
    "solieu": DATA_TABLE,
    "tonghop": DATA_TABLE,
    "ds": NOMINATIONS,
    "dsk": NOMINATIONS,
    "khen": NOMINATIONS,
    "ttr": NOMINATIONS,
    "cv": DIRECTIVE,
    "kh": DIRECTIVE,
    "qd": DIRECTIVE,
    "kehoach": DIRECTIVE,
    "congvan": DIRECTIVE,
    "anh": PHOTO,
    "hinh": PHOTO,
    "img": PHOTO,
    "dsc": PHOTO,
    "dscn": PHOTO,
    "pxl": PHOTO,
    "photo": PHOTO,
    "image": PHOTO,
    "hinhanh": PHOTO,
}
# Phone and messenger file names: IMG_20211005_081512, PXL_…, DSC01234, z2834567890123_…
# (Zalo), received_… (Messenger), Screenshot_…
_CAMERA = re.compile(r"^(?:img|pxl|dsc|dscn|mvimg|z\d{8,}|received|screenshot|anh)[_\- ]?\d", re.I)
_IMAGE_EXT = ("jpg", "jpeg", "png", "heic", "heif", "webp")


def _split_camel(text: str) -> str:
    """ "BaoCaoTuanLe" → "Bao Cao Tuan Le", "BCTuanLe" → "BC Tuan Le", "KH01" → "KH 01"."""
    out: list[str] = []
    for i, ch in enumerate(text):
        prev = text[i - 1] if i else ""
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if prev and (
            (prev.islower() and ch.isupper())
            or (prev.isupper() and ch.isupper() and nxt.islower())
            or (prev.isalpha() and ch.isdigit())
            or (prev.isdigit() and ch.isalpha())
        ):
            out.append(" ")
        out.append(ch)
    return "".join(out)


def _words(filename: str) -> str:
    """The stem of `filename` folded to lower-case ASCII words."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = _split_camel(unicodedata.normalize("NFC", stem))
    return " ".join(re.sub(r"[\W_]+", " ", fold(stem)).split())


def hint_items(filename: str) -> frozenset[str]:
    """Items (see `parsers.facts.ITEMS`) the name of a file suggests; empty when it says nothing."""
    words = _words(filename)
    if not words:
        return frozenset()
    found: set[str] = set()
    glued = words.replace(" ", "")
    for phrase, item in _PHRASES:
        if re.search(rf"\b{phrase}\b", words) or (
            len(phrase) >= 7 and phrase.replace(" ", "") in glued
        ):
            found.add(item)
    tokens = words.split()
    for i, token in enumerate(tokens):
        if token == "anh" and i and tokens[i - 1] == "tieng":
            continue  # "Tiếng Anh" (English) is a school subject, not a photo
        if token in _TOKENS:
            found.add(_TOKENS[token])
    if _CAMERA.match(filename.replace("\\", "/").rsplit("/", 1)[-1]):
        found.add(PHOTO)
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in _IMAGE_EXT:
        found.add(PHOTO)
    return frozenset(found)
