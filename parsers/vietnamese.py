"""Vietnamese text realities: folding for matching, and the legacy 8-bit encodings.

`fold` is the matching key: NFD, combining marks dropped, `đ/Đ` mapped to `d/D` (NFD does not
split them), lower-cased, whitespace collapsed. Old and new tone placement (`hoà`/`hòa`) fold to
the same key because the marks are dropped.

Legacy encodings still seen in office files, read through the cp1252/latin-1 view that Word,
Excel and PDF text layers give them (a byte 0xB8 arrives as "¸"):

- TCVN3 (ABC, TCVN 5712:1993 VN3), fonts `.VnTime`, `.VnArial`…; the `…H` fonts (`.VnTimeH`)
  draw the lower-case codes as capitals, so their text is upper-cased after conversion. U+00AD
  (soft hyphen) is the letter `ư`: never strip it before converting.
- VNI-Windows, fonts `VNI-Times`, `VNI-Helve`…: a base letter followed by a mark byte
  (`caùc` = `các`).
- Windows-1258 bytes: `cp1258_decode` (Python's codec, then NFC).

No maintained PyPI package provides these tables (viparse ships some inside a RAG loader at
0.1.x), so they are written here from citable sources and tested for all 134 accented letters:
TCVN3 is glibc's `TCVN5712-1` charmap restricted to 0xA1–0xFF (the VN3 range; 0x80–0x9F stay
cp1252 punctuation, as in Unikey's TCVN3 table) and is checked against `iconv` in the tests;
VNI is Unikey's `VNI-WIN` table (vnconv `data.cpp`, Pham Kim Long), which is regular enough to
be generated from the mark bytes below.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter

log = logging.getLogger(__name__)

_D = str.maketrans({"đ": "d", "Đ": "D"})


def fold(text: str) -> str:
    """Accent-free, lower-case, single-spaced form of `text` for matching."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def fold_keep(text: str) -> str:
    """Like `fold` but one output character per input character (positions line up).

    `text` should be NFC; each character becomes its lower-cased base letter.
    """
    out = []
    for ch in text.translate(_D):
        base = unicodedata.normalize("NFD", ch)[0].lower()
        out.append(base[0] if base else ch)
    return "".join(out)


# --- the 134 accented letters ------------------------------------------------------------
_TONES = ("\u0301", "\u0300", "\u0309", "\u0303", "\u0323")  # sắc huyền hỏi ngã nặng
_BASES = "aăâeêioôơuưy"
LETTERS: tuple[str, ...] = tuple(
    unicodedata.normalize("NFC", b + t)
    for b in _BASES
    for t in ("",) + _TONES
    if b + t not in "aeiouy"
) + ("đ",)
"""The 67 lower-case Vietnamese letters with a diacritic (`ă â ê ô ơ ư đ` and every toned
vowel); with their capitals, the 134 letters legacy encodings must carry."""
ACCENTED: tuple[str, ...] = LETTERS + tuple(ch.upper() for ch in LETTERS)

# --- TCVN3 ---------------------------------------------------------------------------------
# glibc localedata/charmaps/TCVN5712-1, bytes 0xA1..0xFF (0xB0-0xB4 are combining tone marks).
_TCVN3_HIGH = (
    "ĂÂÊÔƠƯĐăâêôơưđẰ\u0300"
    "\u0309\u0303\u0301\u0323àảãáạẲằẳẵắẴẮ"
    "ẦẨẪẤỀặầẩẫấậèỂẻẽé"
    "ẹềểễếệìỉỄẾỒĩíịòỔ"
    "ỏõóọồổỗốộờởỡớợùỖ"
    "ủũúụừửữứựỳỷỹýỵỐ"
)
_TCVN3_DECODE = {chr(0xA1 + i): u for i, u in enumerate(_TCVN3_HIGH)}
# Encoding side: lower-case letters and the seven capitals VN3 has (Ă Â Ê Ô Ơ Ư Đ).
_TCVN3_ENCODE = {
    u: chr(0xA1 + i) for i, u in enumerate(_TCVN3_HIGH) if u in LETTERS or u in "ĂÂÊÔƠƯĐ"
}


def _cp1252_punctuation(ch: str) -> bool:
    """Curly quotes, dashes, "…": cp1252 bytes 0x80-0x9F, which TCVN3 and VNI leave alone."""
    try:
        return 0x80 <= ch.encode("cp1252")[0] <= 0x9F
    except UnicodeEncodeError:
        return False


def tcvn3_to_unicode(text: str, *, upper: bool = False) -> str:
    """Convert TCVN3 text (as read through cp1252/latin-1) to NFC Unicode.

    `upper=True` for runs in the `…H` fonts (`.VnTimeH`), whose glyphs are all capitals.
    """
    # cp1252 and latin-1 agree on 0xA0-0xFF, the only bytes TCVN3 (and VNI) use.
    out = "".join(_TCVN3_DECODE.get(ch, ch) for ch in text)
    out = unicodedata.normalize("NFC", out)
    return out.upper() if upper else out


def unicode_to_tcvn3(text: str) -> str:
    """Encode Unicode as TCVN3 text in its latin-1 view (for generating test documents).

    Capitals with a tone mark have no TCVN3 code: pass `text.lower()` for `.VnTimeH` runs.
    Raises `ValueError` for a character TCVN3 cannot carry.
    """
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch])
        elif ord(ch) < 0x80 or ch == "\u00a0" or _cp1252_punctuation(ch):
            out.append(ch)
        else:
            raise ValueError(f"no TCVN3 code for {ch!r}")
    return "".join(out)


# --- VNI-Windows ---------------------------------------------------------------------------
# Mark bytes after a base letter (lower case; capitals use the upper-case byte).
_VNI_TONE = dict(zip(_TONES, "ùøûõï", strict=True))  # a, e, o, u, y, ơ, ư + tone
_VNI_HAT = {"": "â", **dict(zip(_TONES, "áàåãä", strict=True))}  # â ê ô (+ tone)
_VNI_BREVE = {"": "ê", **dict(zip(_TONES, "éèúüë", strict=True))}  # ă (+ tone)
_VNI_SINGLE = {
    "đ": "ñ",
    "ơ": "ô",
    "ư": "ö",
    "í": "í",
    "ì": "ì",
    "ỉ": "æ",
    "ĩ": "ó",
    "ị": "ò",
    "ỵ": "î",
}


def _vni_pairs() -> dict[str, str]:
    """Unicode lower-case letter -> VNI-Windows sequence (latin-1 view)."""
    table = dict(_VNI_SINGLE)
    for letter in LETTERS:
        if letter in table:
            continue
        parts = unicodedata.normalize("NFD", letter)
        tone = next((c for c in parts if c in _TONES), "")
        base = unicodedata.normalize("NFC", parts.replace(tone, "")) if tone else letter
        if base in "aeouy":
            table[letter] = base + _VNI_TONE[tone]
        elif base in "âêô":
            table[letter] = unicodedata.normalize("NFD", base)[0] + _VNI_HAT[tone]
        elif base == "ă":
            table[letter] = "a" + _VNI_BREVE[tone]
        elif base in "ơư":
            table[letter] = _VNI_SINGLE[base] + _VNI_TONE[tone]
    return table


_VNI_ENCODE = {**_vni_pairs()}
_VNI_ENCODE.update({k.upper(): v.upper() for k, v in list(_VNI_ENCODE.items())})
_VNI_DECODE: dict[str, str] = {}
for _u, _v in _VNI_ENCODE.items():
    _VNI_DECODE[_v] = _u
    if len(_v) == 2:  # tolerate a mark typed in the other case; the base letter decides
        _VNI_DECODE.setdefault(_v[0] + _v[1].swapcase(), _u)
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(_VNI_DECODE, key=len, reverse=True)))


def vni_to_unicode(text: str) -> str:
    """Convert VNI-Windows text (as read through cp1252/latin-1) to NFC Unicode."""
    return unicodedata.normalize("NFC", _VNI_RE.sub(lambda m: _VNI_DECODE[m.group(0)], text))


def unicode_to_vni(text: str) -> str:
    """Encode Unicode as VNI-Windows text in its latin-1 view (for generating test documents)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in _VNI_ENCODE:
            out.append(_VNI_ENCODE[ch])
        elif ord(ch) < 0x80 or ch == "\u00a0" or _cp1252_punctuation(ch):
            out.append(ch)
        else:
            raise ValueError(f"no VNI code for {ch!r}")
    return "".join(out)


# --- fonts, detection, dispatch ------------------------------------------------------------
_VNI_FONT = re.compile(r"^vni[-_ ]", re.I)


def font_encoding(font_name: str | None) -> str | None:
    """ "tcvn3", "tcvn3-upper", "vni" or None (a Unicode font) for a font name.

    TCVN3/ABC fonts are named `.Vn…` (`.VnTime`, `.VnArial NarrowH`); a final capital `H`
    marks the capitals-only variant. VNI fonts are named `VNI-…` (`VNI-Times`, `VNI-Helve`).
    """
    name = (font_name or "").strip()
    if _VNI_FONT.match(name):
        return "vni"
    if name[:3].lower() == ".vn":
        return "tcvn3-upper" if name.endswith("H") else "tcvn3"
    return None


_SPECIFIC = re.compile(
    "[\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]"
)


def has_unicode_vietnamese(text: str) -> bool:
    """True when `text` holds letters only Unicode Vietnamese has (ư, ơ, ă, đ, ạ, ế…)."""
    return bool(_SPECIFIC.search(text))


_ONSET = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx]"
_NUCLEUS = (
    "uyê|uya|uyu|uây|uôi|ươi|ươu|oai|oao|oay|oeo|iêu|yêu|ai|ao|au|ay|âu|ây|eo|êu|ia|iê|"
    "iu|oa|oă|oe|oi|ôi|ơi|oo|ua|uâ|uê|ui|uô|uơ|ươ|uy|ưa|ưi|ưu|yê|[aăâeêioôơuưy]"
)
_SYLLABLE = re.compile(rf"^(?:{_ONSET})?(?:{_NUCLEUS})(?:ch|ng|nh|[cmnpt])?$")
_WORD_EDGE = "\"'()[]{}<>.,;:!?…“”‘’-–—/\\*"


def is_syllable(word: str) -> bool:
    """True when `word` is a well-formed Vietnamese syllable (at most one tone mark)."""
    parts = unicodedata.normalize("NFD", word.lower())
    if sum(parts.count(t) for t in _TONES) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
    return bool(_SYLLABLE.match(bare))


DETECT_SAMPLE = 200_000


def detect_legacy(text: str) -> str | None:
    """ "tcvn3", "vni" or None from character statistics, when no font name is known.

    Words holding non-ASCII characters are read as-is, as TCVN3 and as VNI; the reading that
    yields clearly more well-formed Vietnamese syllables wins. Each distinct word is judged
    once, and only the first DETECT_SAMPLE characters are looked at (enough to tell).
    """
    words = [w.strip(_WORD_EDGE) for w in text[:DETECT_SAMPLE].split()]
    counts = Counter(w for w in words if w and not w.isascii())
    if not counts:
        return None
    scores = {
        None: sum(n for w, n in counts.items() if is_syllable(w)),
        "tcvn3": sum(n for w, n in counts.items() if is_syllable(tcvn3_to_unicode(w))),
        "vni": sum(n for w, n in counts.items() if is_syllable(vni_to_unicode(w))),
    }
    total = sum(counts.values())
    best = max(("tcvn3", "vni"), key=lambda k: scores[k])
    margin = max(2, total // 5) if total > 3 else 1
    if scores[best] >= scores[None] + margin:
        log.debug("legacy encoding %s detected (%s of %s words)", best, scores[best], total)
        return best
    return None


def to_unicode(text: str, encoding: str) -> str:
    """Convert `text` read in `encoding` ("tcvn3", "tcvn3-upper", "vni", "cp1258", "unicode")."""
    if encoding == "tcvn3":
        return tcvn3_to_unicode(text)
    if encoding == "tcvn3-upper":
        return tcvn3_to_unicode(text, upper=True)
    if encoding == "vni":
        return vni_to_unicode(text)
    if encoding == "cp1258":
        return cp1258_decode(_cp1252_bytes(text))
    if encoding in ("unicode", ""):
        return unicodedata.normalize("NFC", text)
    raise ValueError(f"unknown encoding {encoding!r}")


def _cp1252_bytes(text: str) -> bytes:
    """The bytes behind text read through cp1252 (latin-1 for the five bytes it leaves out)."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            out += ch.encode("latin-1", errors="replace")
    return bytes(out)


def cp1258_decode(data: bytes) -> str:
    """Decode Windows-1258 bytes (tone marks are combining characters there), then NFC."""
    return unicodedata.normalize("NFC", data.decode("cp1258", errors="replace"))


# --- collation -------------------------------------------------------------------------------
# The Vietnamese alphabet (ă â đ ê ô ơ ư are letters of their own, after a a ă e o o u and d),
# with f j w z at their Latin places; tones are secondary, in dictionary order: none, huyền,
# hỏi, ngã, sắc, nặng (as ICU's `vi` collation orders a à ả ã á ạ).
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_RANK = {ch: i for i, ch in enumerate(_ALPHABET)}
_SHAPE = {"\u0306": "ă", "\u0302": "â", "\u031b": "ơ"}  # breve, circumflex, horn
_TONE_RANK = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def _letter(base: str, marks: str) -> str:
    """The Vietnamese letter of `base` with its shape marks (`a` + breve → `ă`)."""
    if base == "d" and "đ" in marks:
        return "đ"
    for mark in marks:
        if mark in _SHAPE:
            shaped = unicodedata.normalize("NFC", base + mark)
            if shaped in _RANK:
                return shaped
    return base


def collation_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A sort key that orders Vietnamese names as a Vietnamese reader does: letters first
    (`Bích` < `Bình`, every `D…` before `Đ…`, `U…` before `Ư…`), then the tone of each word
    (`Hoa` < `Hòa` < `Hóa`), then case. Spaces and digits sort before letters; old and new
    tone placement (`Hoà`/`Hòa`) give the same key."""
    primary: list[int] = []
    tones: list[int] = []  # one per word: old/new placement puts the mark on another vowel
    case: list[int] = []
    tone = 0
    for ch in unicodedata.normalize("NFC", text.strip()):
        low = ch.lower()
        if low == "đ":
            base, marks = "d", "đ"
        else:
            parts = unicodedata.normalize("NFD", low)
            base, marks = parts[0], parts[1:]
        letter = _letter(base, marks)
        if letter in _RANK:
            primary.append(100 + _RANK[letter])
            tone = max([tone] + [_TONE_RANK.get(m, 0) for m in marks])
            case.append(int(ch != low))
        elif ch.isspace():
            if primary and primary[-1] != 1:
                primary.append(1)  # runs of spaces count once
                tones.append(tone)
                tone = 0
        elif ch.isdigit():
            primary.append(10 + int(unicodedata.digit(ch, 0)))
        else:
            primary.append(200 + ord(ch))
    tones.append(tone)
    return tuple(primary), tuple(tones), tuple(case)
