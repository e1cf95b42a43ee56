"""Vietnamese unit names: normalisation of free text into tokens, and unit *mentions* in it.

Owns the text side of identifying a unit; `intake.identify` owns the scoring and the decision.

Normalisation (`Vocabulary.tokens`): NFC, camel-case and separator splitting (`THCSThanhMai`,
`MN_BichHoa`, `thcs.thanhmai`), `parsers.vietnamese.fold` (diacritics, `đ`, old/new tone
placement, case), joined lower-case words split into known syllables (`thcsthanhmai`), dotted
abbreviations re-joined (`T.H.C.S`). Kind words (`KIND_PHRASES`) become one kind each: MN / Mầm
non / Mẫu giáo, TH / Tiểu học / C1, THCS / Trung học cơ sở / C2, THPT / C3, UBND / Ủy ban nhân
dân, HTCĐ / (Trung tâm) học tập cộng đồng, GDNN-GDTX. "TT" is a filler: before a kind it is
*trung tâm* (the kind word follows), before a place it is *thị trấn*. A bare "Trung tâm" before a
commune is the HTCĐ.

The district name "Thanh Oai" is never a place (it is one edit from "Thanh Mai"): the window is
consumed as the district, except where the roster has a longer place that contains it ("THPT
Thanh Oai A/B"). Fuzzy place matching (rapidfuzz OSA distance) is tried only right after a kind
word, only for places of 8+ characters, and only when the nearest place is one edit away and
every other place, the district included, is at least three edits away.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from parsers.vietnamese import fold

log = logging.getLogger(__name__)

CENTRE = "centre"  # "Trung tâm": the HTCĐ before a commune, else a filler before the kind
KIND_PHRASES: dict[tuple[str, ...], str] = {
    ("mn",): "mn",
    ("mam", "non"): "mn",
    ("mau", "giao"): "mn",
    ("mg",): "mn",
    ("th",): "th",
    ("tieu", "hoc"): "th",
    ("c1",): "th",
    ("thcs",): "thcs",
    ("trung", "hoc", "co", "so"): "thcs",
    ("c2",): "thcs",
    ("thpt",): "thpt",
    ("trung", "hoc", "pho", "thong"): "thpt",
    ("c3",): "thpt",
    ("ubnd",): "ubnd",
    ("uy", "ban", "nhan", "dan"): "ubnd",
    ("uy", "ban"): "ubnd",
    ("htcd",): "htcd",
    ("hoc", "tap", "cong", "dong"): "htcd",
    ("trung", "tam", "hoc", "tap", "cong", "dong"): "htcd",
    ("gdnn", "gdtx"): "gdnn-gdtx",
    ("gdnn",): "gdnn-gdtx",
    ("gdtx",): "gdnn-gdtx",
    ("giao", "duc", "nghe", "nghiep"): "gdnn-gdtx",
    ("giao", "duc", "thuong", "xuyen"): "gdnn-gdtx",
    ("trung", "tam"): CENTRE,
}
_MAX_PHRASE = max(len(k) for k in KIND_PHRASES)
_ABBREVIATIONS = {k[0] for k in KIND_PHRASES if len(k) == 1}
# Words that may stand between a kind word and its place ("Trường THCS xã Thanh Mai").
FILLERS = frozenset({"truong", "tr", "trg", "xa", "thi", "tran", "tt", "huyen"})
LOCALITY = frozenset({"xa", "tran", "tt"})  # a place after these is a commune / town
# Words that join several kind words that share one place ("MN, TH và THCS Thanh Mai").
CONNECTORS = frozenset({"va", "cac", "cung"})
DISTRICT: tuple[str, ...] = ("thanh", "oai")
# Words that make "… của <unit>" a reference to another document, not a title.
_REFERENCE = frozenset(
    {
        ("ke", "hoach"),
        ("cong", "van"),
        ("huong", "dan"),
        ("quyet", "dinh"),
        ("chi", "thi"),
        ("thuc", "hien"),
        ("can", "cu"),
        ("kh",),
        ("cv",),
        ("theo",),
    }
)
_ADDRESSEE = (("kinh", "gui"), ("noi", "nhan"), ("dong", "kinh", "gui"), ("gui",), ("to",), ("cc",))
_COMMON = (
    "bao cao bc baocao tuan le hoc tap suot doi htsd hoc tap so lieu danh sach ds khen thuong "
    "anh hinh minh chung ke hoach kh nam thang ngay gui file tong hop bieu mau phu luc ket qua "
    "nop ban tin xa truong huyen thi tran ha noi tiet thong ke giao vien hieu"
).split()
_AT = frozenset({"tai", "o", "khu", "ve", "den"})  # "tại / ở / về trung tâm xã …"
# First words of organisations under a commune that are not units (Hội Khuyến học, Đoàn
# Thanh niên, Trạm Y tế, Công an, Hội Phụ nữ …).
SUB_ORGS = frozenset({"hoi", "doan", "tram", "cong", "dang"})
# "Biểu / Bảng / Mẫu TH": TH is "tổng hợp" (summary), not a primary school.
_SUMMARY = frozenset({"bieu", "bang", "mau"})
SHORT_LINE = 10  # a line this short that names a unit is a label or a signature


def split_joined(text: str) -> str:
    """Separate words that were joined by case or punctuation: `THCSThanhMai` → `THCS Thanh Mai`,
    `MN_BichHoa` → `MN Bich Hoa`, `thcs.thanhmai` → `thcs thanhmai` (the syllable split of
    `thanhmai` is the vocabulary's job)."""
    text = unicodedata.normalize("NFC", text)
    out: list[str] = []
    n = len(text)
    for i, ch in enumerate(text):
        if i and ch.isupper():
            prev = text[i - 1]
            nxt = text[i + 1] if i + 1 < n else ""
            if prev.islower() or (prev.isupper() and nxt.islower()):
                out.append(" ")
        out.append(ch)
    return "".join(out)


_TOKEN = re.compile(r"c[123](?![0-9])|[^\W\d_]+|[0-9]+")
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?"
)


def is_syllable(token: str) -> bool:
    """True when `token` (folded) is shaped like one Vietnamese syllable (never split it)."""
    return _SYLLABLE.fullmatch(token) is not None


@dataclass(frozen=True)
class Mention:
    """A unit named in one line: kind words (empty: a place alone) and a place key."""

    kinds: tuple[str, ...]
    place: str  # roster place key ("thanh mai"); "" when none follows the kind words
    line: int  # index of the line in the text
    leading: bool  # nothing but fillers or numbering before it on its line
    titled: bool  # "… của <unit>" in a title, not a reference to another document
    short: bool  # the line is a label or signature (few words, not an addressee line)
    quoted: bool  # the line is quoted ("> …")
    fuzzy: bool = False  # the place was matched within one edit
    locality: bool = False  # the place follows xã / thị trấn


class Vocabulary:
    """Roster-derived tokeniser and mention finder. Build once per roster (`places` are the
    roster's place keys, e.g. "thanh mai", "thanh oai a", "nguyen du")."""

    def __init__(self, places: Iterable[str]) -> None:
        self.places: dict[tuple[str, ...], str] = {}
        for place in places:
            key = tuple(place.split())
            if key:
                self.places[key] = place
        lengths = {len(k) for k in self.places} | {len(DISTRICT)}
        self.lengths = sorted(lengths, reverse=True)
        words = {w for k in self.places for w in k} | {w for k in KIND_PHRASES for w in k}
        words |= FILLERS | CONNECTORS | set(_COMMON) | set(DISTRICT)
        self.words = frozenset(w for w in words if len(w) >= 2)
        self.fuzzy_choices = [p for p in self.places.values() if len(p) >= 8]
        self.fuzzy_all = [*self.places.values(), " ".join(DISTRICT)]
        self._tokens = lru_cache(maxsize=4096)(self._tokens_uncached)
        self._seen: dict[tuple[tuple[str, ...], bool], tuple[Mention, ...]] = {}

    # -- normalisation -------------------------------------------------------------------------

    def segment(self, token: str) -> list[str]:
        """Split a joined lower-case token into known words (fewest pieces), else keep it."""
        if token in self.words or len(token) < 5 or len(token) > 40 or is_syllable(token):
            return [token]
        n = len(token)
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for i in range(n):
            cur = best[i]
            if cur is None:
                continue
            for j in range(i + 2, min(n, i + 12) + 1):
                piece = token[i:j]
                if piece in self.words:
                    cand = [*cur, piece]
                    old = best[j]
                    if old is None or len(cand) < len(old):
                        best[j] = cand
        found = best[n]
        return found if found and len(found) > 1 else [token]

    def _tokens_uncached(self, line: str) -> tuple[str, ...]:
        raw = _TOKEN.findall(fold(split_joined(line)))
        joined: list[str] = []
        i = 0
        while i < len(raw):  # "T.H.C.S" → "thcs"
            j = i
            while j < len(raw) and len(raw[j]) == 1 and raw[j].isalpha():
                j += 1
            if j - i >= 2 and "".join(raw[i:j]) in _ABBREVIATIONS:
                joined.append("".join(raw[i:j]))
                i = j
                continue
            joined.append(raw[i])
            i += 1
        out: list[str] = []
        for tok in joined:
            out.extend(self.segment(tok) if tok.isalpha() else [tok])
        return tuple(out)

    def tokens(self, line: str) -> tuple[str, ...]:
        """The normalised tokens of one line of text."""
        return self._tokens(line)

    # -- mentions ------------------------------------------------------------------------------

    def _kind_at(self, toks: tuple[str, ...], i: int) -> tuple[str, int] | None:
        for size in range(min(_MAX_PHRASE, len(toks) - i), 0, -1):
            kind = KIND_PHRASES.get(toks[i : i + size])
            if kind is not None:
                return kind, size
        return None

    def _place_at(self, toks: tuple[str, ...], i: int, fuzzy: bool) -> tuple[str | None, int, bool]:
        """(place key | None, tokens consumed, fuzzy?). The district consumes its tokens and
        yields None; so does an unknown word (0 consumed)."""
        for size in self.lengths:
            window = toks[i : i + size]
            if len(window) < size:
                continue
            place = self.places.get(window)
            if place is not None:
                return place, size, False
            if window == DISTRICT:
                return None, size, False
        if not fuzzy:
            return None, 0, False
        for size in self.lengths:
            window = toks[i : i + size]
            if len(window) < size or not all(t.isalpha() for t in window):
                continue
            text = " ".join(window)
            near = process.extract(
                text, self.fuzzy_all, scorer=OSA.distance, score_cutoff=2, limit=2
            )
            if len(near) == 1 and near[0][1] == 1 and near[0][0] in self.fuzzy_choices:
                return near[0][0], size, True
        return None, 0, False

    def mentions(self, text: str) -> list[Mention]:
        """Every unit mention in `text`, line by line, then the parent rule (see `_parents`)."""
        found: list[Mention] = []
        firsts: dict[int, str] = {}
        for n, line in enumerate(text.splitlines()):
            toks = self.tokens(line)
            if toks:
                firsts[n] = toks[0]
                found.extend(self._mentions_in(toks, n, line.lstrip().startswith(">")))
        # "UBND XÃ X" above "HỘI KHUYẾN HỌC": the issuer is an organisation off the roster
        found = [
            replace(m, leading=False, short=False)
            if m.kinds == ("ubnd",) and firsts.get(m.line + 1) in SUB_ORGS
            else m
            for m in found
        ]
        return _parents(found)

    def _mentions_in(self, toks: tuple[str, ...], n: int, quoted: bool) -> list[Mention]:
        """`_line_mentions`, remembered per line: letterheads, greetings and signatures recur
        in every email, and each email is read twice (the whole, then per attachment)."""
        key = (toks, quoted)
        found = self._seen.get(key)
        if found is None:
            if len(self._seen) >= 8192:
                self._seen.clear()
            found = self._seen[key] = tuple(self._line_mentions(toks, 0, quoted))
        return [replace(m, line=n) for m in found] if n else list(found)

    def _line_mentions(self, toks: tuple[str, ...], n: int, quoted: bool) -> list[Mention]:
        out: list[Mention] = []
        line_pairs = set(zip(toks, toks[1:], strict=False)) | {(t,) for t in toks}
        short = (
            len(toks) <= SHORT_LINE
            and not any(toks[: len(a)] == a for a in _ADDRESSEE)
            and not _REFERENCE & line_pairs
        )
        i = 0
        while i < len(toks):
            start = i
            kinds: list[str] = []
            locality = False
            j = i
            while j < len(toks):  # a group: kind words, fillers and connectors
                hit = self._kind_at(toks, j)
                if hit == ("th", 1) and j and toks[j - 1] in _SUMMARY:
                    hit = None
                if hit is not None:
                    kinds.append(hit[0])
                    j += hit[1]
                elif kinds and (toks[j] in FILLERS or toks[j] in CONNECTORS):
                    locality = toks[j] in LOCALITY
                    j += 1
                elif not kinds and toks[j] in LOCALITY:
                    locality = True
                    j += 1
                else:
                    break
            if CENTRE in kinds and set(kinds) != {CENTRE}:
                kinds = [k for k in kinds if k != CENTRE]
            place, used, fuzzy = self._place_at(toks, j, fuzzy=bool(kinds))
            if set(kinds) == {CENTRE}:  # "tại trung tâm xã …" is a location, not the HTCĐ
                at = start > 0 and toks[start - 1] in _AT
                kinds = ["htcd"] if place is not None and not at else []
            if not kinds and place is None:
                i = max(j + used, start + 1)
                continue
            before = toks[:start]
            leading = all(t in FILLERS or t.isdigit() or len(t) == 1 for t in before)
            k = len(before)
            while k and before[k - 1] in FILLERS:
                k -= 1
            pairs = set(zip(before, before[1:], strict=False)) | {(t,) for t in before}
            titled = k > 0 and before[k - 1] == "cua" and not (_REFERENCE & pairs)
            out.append(
                Mention(
                    tuple(dict.fromkeys(kinds)),
                    place or "",
                    n,
                    leading,
                    titled,
                    short,
                    quoted,
                    fuzzy,
                    locality and not kinds and place is not None,
                )
            )
            i = max(j + used, start + 1)
        return out


def _parents(found: list[Mention]) -> list[Mention]:
    """The header of an official document names the parent authority on the line above the
    issuer ("UBND XÃ THANH MAI" / "TRUNG TÂM HTCĐ"): a leading UBND mention followed on the next
    line by leading kind words of another kind is the parent, not the sender; the issuer's kind
    words without a place take the parent's place."""
    out: list[Mention] = []
    skip: set[int] = set()
    for idx, m in enumerate(found):
        if idx in skip:
            continue
        nxt = found[idx + 1] if idx + 1 < len(found) else None
        if (
            m.kinds == ("ubnd",)
            and m.leading
            and m.place
            and nxt is not None
            and nxt.line == m.line + 1
            and nxt.leading
            and nxt.kinds
            and "ubnd" not in nxt.kinds
        ):
            if not nxt.place:
                out.append(
                    Mention(
                        nxt.kinds,
                        m.place,
                        nxt.line,
                        True,
                        nxt.titled,
                        nxt.short,
                        nxt.quoted,
                        m.fuzzy,
                        m.locality,
                    )
                )
                skip.add(idx + 1)
            continue
        out.append(m)
    return out


def unit_place(name: str, vocab: Vocabulary | None = None) -> str:
    """The place key of a roster name or alias: kind words, fillers and the district removed
    ("Trường THCS Thanh Mai" → "thanh mai"; "Trường THPT Nguyễn Du - Thanh Oai" → "nguyen du";
    "Trường THPT Thanh Oai A" → "thanh oai a"; "Trung tâm GDNN-GDTX huyện Thanh Oai" → "")."""
    toks = vocab.tokens(name) if vocab else tuple(_TOKEN.findall(fold(split_joined(name))))
    rest: list[str] = []
    i = 0
    while i < len(toks):
        size = next(
            (
                s
                for s in range(min(_MAX_PHRASE, len(toks) - i), 0, -1)
                if toks[i : i + s] in KIND_PHRASES
            ),
            0,
        )
        if size:
            i += size
        elif toks[i : i + 2] == DISTRICT and not (i + 2 < len(toks) and len(toks[i + 2]) == 1):
            i += 2
        elif toks[i] in FILLERS:
            i += 1
        else:
            rest.append(toks[i])
            i += 1
    return " ".join(rest)
