"""Which campaign a message belongs to: one, several (each file where its own evidence points),
none ("other mail"), or unclear — then it waits for the officer with the reason and the ranked
candidates. Pure: evidence and campaigns in, a frozen `CampaignDecision` out; no store, no clock.

Evidence, strongest first: a document's title (Vietnamese official documents put the subject
under BÁO CÁO / KẾ HOẠCH / DANH SÁCH …) and a table's title and header row against each
campaign's columns; the subject; file names; the body. Text is compared folded (no diacritics,
any case, CamelCase split, "HTSĐ" = "htsd"), against each campaign's keywords (given, or derived
from its title: the title's phrase, its 2–4-word runs that are not only common office words, and
the initials of its 4-word runs).

The rule, as for units: never a wrong campaign.
- A text that names no campaign but is the subject of a document or an email and carries two or
  more words that are neither common office words, nor a unit's name, nor any campaign's
  vocabulary "names another matter" ("BÁO CÁO công tác phòng chống dịch COVID-19"): such a
  document counts nowhere, however it is formatted — a table headed like a campaign's ("Số lớp",
  "Số người") or a file name does not outweigh its title. A reporting period alone ("Báo cáo
  tháng 9", "quý III", "học kỳ I") names another matter: a periodic report may list a campaign
  among the period's work, and is not its report.
- Campaigns outside the message's window (received before `opens`) or whose `units` do not
  include the sender's unit are not candidates (late mail still belongs).
- A subject a machine wrote ("Scanned from a RICOH MP 3055", "Message from KM_C224e",
  "Attached Image": scan to email) names nothing: its device words are no other matter.
- Nothing names a campaign and nothing names another matter: with one candidate campaign the
  message is that campaign's (today's behaviour for a one-campaign mailbox); with several it
  waits for the officer.
- A document naming campaign B in an email naming only A, a document naming another matter in
  an email naming a campaign and no document of it, or two campaigns named equally: it waits.
- Documents naming different campaigns in an email naming both (or none): split, each file to
  its own; files with no evidence of their own (photos) go where the email points, else to the
  one named campaign that asks for photos, else the message waits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.campaignconfig import OTHER, CampaignConfig
from parsers.vietnamese import fold

# Words of any office email or document: they name no matter of their own.
GENERIC = frozenset(
    """
bao cao ke hoach danh sach thong tong hop so lieu ket qua to chuc cong tac gui nop ve viec vv
kinh phong gd dt gddt giao duc dao tao huyen thanh oai xa thi tran truong mn mam non th tieu
thcs thpt trung co ubnd tt htcd gdnn gdtx nhan dan uy ban tam cac cua va tai trong cho theo de
nghi khen thuong don vi hinh anh hoat dong thuc hien bieu mau bang nam thang ngay tuan hoc re
fw fwd tl tr bc sl ds kh cv qd file dinh kem ban xin duoc lai bo sung chinh sua gui lan mot hai
ba mot so noi dung va cap phu luc mau minh chung tai lieu quyet dinh chi thi huong dan thong bao
tap sinh vien lop nhom tap the ca nhan chu de ve viec dia chi email thu dien tu
tren duoi voi den tu sau truoc moi nhung nay do la co khong da se dang lan cuoi dot ky i ii iii
huong ung
""".split()
)
DOC_TITLE = re.compile(
    r"^(?:bao cao|ke hoach|danh sach|tong hop|thong ke|bang|bieu|ket qua|"
    r"de an|to trinh|cong van|quyet dinh|thong bao)\b"
)
_SUBJECT_PREFIX = re.compile(r"^(?:\s*(?:re|fw|fwd|tl|tr|v/v|vv)\s*:?\s*)+", re.I)
# A subject a scanner or copier writes by itself (scan to email), folded: what the machine did
# and, after "from", which machine it was (a model number or a maker's word); nothing of the
# matter of the mail.
MACHINE_SUBJECT = re.compile(
    r"^(?:scan(?:ned)?(?: to (?:e ?mail|mail|folder))?(?: (?:image|document|data|file|pdf)s?)?"
    r"|scan data|image data|attached (?:image|file|document)s?|(?:message|document|image)s? from)"
    r"(?: from)?(?P<device>(?: .*)?)$"
)
MACHINE_WORDS = frozenset(
    """
ricoh xerox canon hp konica minolta kyocera sharp brother epson toshiba samsung lexmark panasonic
fuji fujifilm oki olivetti develop printer scanner copier multifunction mfp mfd
""".split()
)
# weights of a keyword hit by where it is found
W_TITLE, W_HEADINGS, W_TABLE, W_SUBJECT, W_FILENAME, W_BODY = 4, 2, 3, 3, 2, 1
FOREIGN_WORDS = 2  # words left over that make a text name another matter
# a reporting period, folded: the subject of a periodic report ("Báo cáo tháng 9/2021")
PERIOD = re.compile(
    r"\b(?:thang (?:[1-9]|1[0-2])(?!\d)|quy (?:i{1,3}|iv|[1-4])\b|"
    r"hoc ky (?:i{1,2}|[12])\b|(?:6|sau|9|chin) thang (?:dau|cuoi)|tuan (?:[1-9]|[1-4]\d)(?!\d))"
)


def norm(text: str) -> str:
    """Folded words: CamelCase split, no diacritics, lower-case, punctuation as spaces."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        f" {ch}" if i and ch.isupper() and text[i - 1].islower() else ch
        for i, ch in enumerate(text)
    )  # "BaoCaoTuanLe" → "Bao Cao Tuan Le"
    words = re.sub(r"[\W_]+", " ", fold(text))
    return " ".join(re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", words).split())


def derive_keywords(title: str) -> tuple[str, ...]:
    """Keywords from a title: its phrase without years, its 2–4-word runs that are not only
    common office words, and the initials of its 4-word runs ("htsd")."""
    words = [w for w in norm(title).split() if not w.isdigit()]
    while words and words[-1] in ("nam", "hoc"):
        words.pop()
    out: list[str] = [" ".join(words)] if words else []
    for size in (4, 3, 2):
        for i in range(len(words) - size + 1):
            run = words[i : i + size]
            if all(w in GENERIC for w in run):
                continue
            out.append(" ".join(run))
            if size == 4:
                out.append("".join(w[0] for w in run))
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class CampaignSpec:
    """What the classifier knows of one campaign (built once per filing run)."""

    id: str
    title: str
    strong: tuple[str, ...]  # folded keywords of 3+ words, initials, or given by the config
    weak: tuple[str, ...]  # folded 2-word runs of the title
    vocabulary: frozenset[str]
    columns: tuple[tuple[str, ...], ...]  # per column, its folded header wordings
    seed_table: bool  # its table is the seed's (the built-in reader recognises it)
    opens: datetime | None
    units: frozenset[str]  # kinds and codes; empty = every unit
    photos: bool  # asks for photos

    @staticmethod
    def of(c: CampaignConfig) -> CampaignSpec:
        derived = derive_keywords(c.title)
        given = tuple(norm(k) for k in c.keywords)
        strong = tuple(dict.fromkeys([*given, *(k for k in derived if len(k.split()) != 2)]))
        weak = tuple(k for k in derived if len(k.split()) == 2 and k not in strong)
        vocab = {w for k in (*strong, *weak, norm(c.title), norm(c.table.title)) for w in k.split()}
        return CampaignSpec(
            id=c.id,
            title=c.title,
            strong=tuple(k for k in strong if k),
            weak=weak,
            vocabulary=frozenset(vocab),
            columns=tuple(tuple(norm(h) for h in col.headers) for col in c.table.columns),
            seed_table={"classes", "participants"} <= set(c.table.totals),
            opens=c.opens_at,
            units=frozenset(c.units),
            photos="photos" in c.required and c.min_photos > 0,
        )


@dataclass(frozen=True)
class DocEvidence:
    """One attachment: its name, its title (a report's, or a table's title row), the first rows
    of its tables or lines of its text, and the items it provides."""

    filename: str
    title: str = ""
    headings: tuple[str, ...] = ()
    items: frozenset[str] = frozenset()
    seed_table: bool = False  # the built-in reader found the seed's table in it


@dataclass(frozen=True)
class CampaignEvidence:
    subject: str
    body: str
    docs: tuple[DocEvidence, ...]
    received_at: datetime
    unit_code: str = ""  # the sender's unit, when known
    unit_kind: str = ""


@dataclass(frozen=True)
class CampaignCandidate:
    id: str
    score: float
    why: str


@dataclass(frozen=True)
class CampaignDecision:
    status: str  # "campaign" | "split" | "other" | "unclear"
    campaign: str | None  # the campaign ("campaign"), the email's own one ("split"), OTHER
    reason: str
    candidates: tuple[CampaignCandidate, ...] = ()
    # (index of the doc in the evidence, campaign id or OTHER) for each doc placed on its own
    per_attachment: tuple[tuple[int, str], ...] = field(default=())


def _hit(keys: Iterable[str], text: str, glued: str) -> str:
    for k in keys:
        if f" {k} " in f" {text} ":
            return k
        flat = k.replace(" ", "")
        if len(flat) >= 8 and flat in glued:
            return k
    return ""


def _score(spec: CampaignSpec, text: str) -> tuple[int, str]:
    """2 for a strong keyword, 1 for a weak one, 0 for none; with the keyword."""
    t = norm(text)
    glued = t.replace(" ", "")
    k = _hit(spec.strong, t, glued)
    if k:
        return 2, k
    k = _hit(spec.weak, t, glued)
    return (1, k) if k else (0, "")


def machine_subject(subject: str) -> bool:
    """The subject a scanner wrote by itself ("Scanned from a RICOH MP 3055")."""
    m = MACHINE_SUBJECT.match(norm(subject))
    if m is None:
        return False
    device = m["device"].split()
    return not device or any(w.isdigit() or w in MACHINE_WORDS for w in device)


def _leftover(text: str, known: frozenset[str]) -> list[str]:
    return list(
        dict.fromkeys(
            w
            for w in norm(text).split()
            if len(w) > 1 and not w.isdigit() and w not in GENERIC and w not in known
        )
    )


def another_matter(text: str, known: frozenset[str], need: int = FOREIGN_WORDS) -> list[str]:
    """What makes `text` (which names no campaign) name another matter: `need` or more words of
    its own, or a reporting period alone ("tháng 9", "quý III", "học kỳ I": a periodic report,
    which may list a campaign among the period's work); [] when it names none."""
    words = _leftover(text, known)
    period = PERIOD.search(norm(text))
    if period:
        return [period[0], *(w for w in words if w not in period[0].split())]
    return words if len(words) >= need else []


def table_fit(spec: CampaignSpec, doc: DocEvidence) -> float:
    """The share of the campaign's columns whose header is one of the doc's table cells."""
    if spec.seed_table and doc.seed_table:
        return 1.0
    if not spec.columns or not doc.headings:
        return 0.0
    cells = {norm(c) for line in doc.headings for c in line.split(" | ")} - {""}
    found = 0
    for wordings in spec.columns:
        if any(
            w in cells or (len(w.split()) >= 2 and any(f" {w} " in f" {c} " for c in cells))
            for w in wordings
        ):
            found += 1
    return found / len(spec.columns) if found >= 2 else 0.0


def _doc_title(doc: DocEvidence) -> str:
    if doc.title:
        return doc.title
    for line in doc.headings[:4]:
        first = line.split(" | ")[0]
        if DOC_TITLE.match(norm(first)):
            return first
    return ""


def classify(
    ev: CampaignEvidence,
    campaigns: Sequence[CampaignSpec],
    *,
    names: frozenset[str] = frozenset(),
) -> CampaignDecision:
    """The campaign decision for one message (see the module docstring). `names` are the folded
    words of the roster's unit names (a unit's name names no matter)."""
    known = names | frozenset().union(*(c.vocabulary for c in campaigns))
    eligible = [
        c
        for c in campaigns
        if (c.opens is None or ev.received_at >= c.opens)
        and (not c.units or ev.unit_code in c.units or ev.unit_kind in c.units or not ev.unit_code)
    ]
    left_out = [c for c in campaigns if c not in eligible]
    # the email's own words
    subject = _SUBJECT_PREFIX.sub("", ev.subject)
    msg: dict[str, int] = {}
    why: dict[str, list[str]] = {}
    for c in campaigns:
        s_sub, k_sub = _score(c, subject)
        s_body, k_body = _score(c, ev.body)
        msg[c.id] = W_SUBJECT * s_sub + W_BODY * s_body
        why[c.id] = ([f"subject says {k_sub!r}"] if s_sub else []) + (
            [f"body says {k_body!r}"] if s_body else []
        )
    # each document's own words
    doc_target: list[str | None] = []  # campaign id, OTHER, "?" (tie) or None (no evidence)
    doc_why: list[str] = []
    for doc in ev.docs:
        title = _doc_title(doc)
        # a title naming no campaign and another matter decides, however the file is formatted
        foreign = (
            another_matter(title, known)
            if title and not any(_score(c, title)[0] for c in campaigns)
            else []
        )
        if foreign:
            doc_target.append(OTHER)
            doc_why.append(f"{doc.filename!r} is titled {title[:120]!r}, another matter")
            continue
        scores: dict[str, int] = {}
        for c in campaigns:
            s_title, k_title = _score(c, title)
            s_head, k_head = _score(c, " ".join(doc.headings[:8]))
            s_file, k_file = _score(c, doc.filename)
            fit = table_fit(c, doc)
            total = (
                W_TITLE * s_title
                + W_HEADINGS * s_head
                + W_FILENAME * s_file
                + (W_TABLE * 2 if fit >= 0.6 else 0)
            )
            scores[c.id] = total
            if total:
                bits = [
                    f"title says {k_title!r}" if s_title else "",
                    f"its table says {k_head!r}" if s_head else "",
                    f"name says {k_file!r}" if s_file else "",
                    "its table has the campaign's columns" if fit >= 0.6 else "",
                ]
                why[c.id].append(f"{doc.filename}: " + ", ".join(b for b in bits if b))
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if ranked and ranked[0][1] > 0:
            top = ranked[0]
            tie = len(ranked) > 1 and ranked[1][1] == top[1]
            doc_target.append("?" if tie else top[0])
            doc_why.append("")
            continue
        doc_target.append(None)
        doc_why.append("")

    ok = {c.id for c in eligible}
    candidates = tuple(
        sorted(
            (
                CampaignCandidate(
                    c.id,
                    float(msg[c.id] + _doc_sum(c.id, ev, campaigns)),
                    "; ".join(why[c.id]) or "no evidence",
                )
                for c in eligible
            ),
            key=lambda x: -x.score,
        )
    )
    not_open = [c.id for c in left_out if msg[c.id] or any(t == c.id for t in doc_target)]
    if not_open:
        note = f" ({', '.join(not_open)} named but not open for this message or its unit)"
    else:
        note = ""
    # what the email and the documents point at, among the candidate campaigns
    msg_best = _best({k: v for k, v in msg.items() if k in ok})
    named = [t for t in doc_target if t in ok]
    named_set = list(dict.fromkeys(named))
    foreign_docs = [i for i, t in enumerate(doc_target) if t == OTHER]
    subject_foreign = (
        another_matter(subject, known, 1 if DOC_TITLE.match(norm(subject)) else FOREIGN_WORDS)
        if not any(msg.values()) and not machine_subject(subject)
        else []
    )

    def decided(cid: str, reason: str) -> CampaignDecision:
        others = tuple((i, OTHER) for i in foreign_docs)
        return CampaignDecision("campaign", cid, reason + note, candidates, others)

    def unclear(reason: str, ids: Iterable[str] | None = None) -> CampaignDecision:
        keep = set(ids) if ids is not None else ok
        return CampaignDecision(
            "unclear", None, reason + note, tuple(c for c in candidates if c.id in keep)
        )

    if not named_set:
        if foreign_docs and not msg_best:
            return CampaignDecision(
                "other", OTHER, "; ".join(d for d in doc_why if d) + note, candidates
            )
        if foreign_docs:
            if len(msg_best) == 1:
                return unclear(
                    f"the email names {msg_best[0]}, but " + "; ".join(d for d in doc_why if d),
                    msg_best,
                )
            return unclear("; ".join(d for d in doc_why if d), msg_best)
        if len(msg_best) == 1:
            return decided(msg_best[0], "; ".join(why[msg_best[0]]))
        if len(msg_best) > 1:
            return unclear(f"the email names {' and '.join(msg_best)} equally", msg_best)
        if not_open:
            return CampaignDecision(
                "other", OTHER, "it names only campaigns not open for it" + note, candidates
            )
        if subject_foreign:
            return CampaignDecision(
                "other",
                OTHER,
                f"the subject names another matter ({' '.join(subject_foreign[:6])})" + note,
                candidates,
            )
        if len(eligible) == 1:
            return decided(
                eligible[0].id, "the only campaign open for it; nothing names another matter"
            )
        if not eligible:
            return CampaignDecision("other", OTHER, "no campaign is open for it" + note, candidates)
        return unclear("nothing in the email or its files names a campaign")
    if len(named_set) == 1:
        cid = named_set[0]
        if msg_best and cid not in msg_best:
            return unclear(
                f"the email names {' and '.join(msg_best)}, its files name {cid}", [*msg_best, cid]
            )
        return decided(cid, "; ".join(why[cid]))
    # documents of several campaigns in one email
    if msg_best and not set(named_set) <= set(msg_best) and len(msg_best) == 1:
        return unclear(
            f"the email names {msg_best[0]}, its files name {', '.join(named_set)}", named_set
        )
    home = msg_best[0] if len(msg_best) == 1 else None
    photo_home = [c.id for c in eligible if c.id in named_set and c.photos]
    placed: list[tuple[int, str]] = []
    for i, t in enumerate(doc_target):
        if t in ok:
            placed.append((i, t))
        elif t == OTHER:
            placed.append((i, OTHER))
        elif home is not None:
            placed.append((i, home))
        elif len(photo_home) == 1 and "photo" in ev.docs[i].items:
            placed.append((i, photo_home[0]))
        elif ev.docs[i].items:
            return unclear(
                f"files of {', '.join(named_set)} in one email, and "
                f"{ev.docs[i].filename!r} says whose it is not",
                named_set,
            )
        else:
            placed.append((i, OTHER))
    first = home or named_set[0]
    return CampaignDecision(
        "split",
        first,
        f"files of {', '.join(named_set)} in one email" + note,
        candidates,
        tuple(placed),
    )


def _best(scores: dict[str, int]) -> list[str]:
    top = max(scores.values(), default=0)
    return [k for k, v in scores.items() if v == top] if top > 0 else []


def _doc_sum(cid: str, ev: CampaignEvidence, campaigns: Sequence[CampaignSpec]) -> int:
    spec = next(c for c in campaigns if c.id == cid)
    return sum(W_TITLE * _score(spec, _doc_title(d))[0] for d in ev.docs)
