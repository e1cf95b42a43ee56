"""Who sent it: the `UnitMatcher` boundary. Evidence in, a decision out; pure, no I/O.

Evidence, strongest first: the sender's roster address or an address the officer taught
(`learned`), then the text: the header block and title of the attached documents, the "Đơn vị
tổ chức" cells of data tables, the subject, the sender's display name, attachment file names,
the body's first lines and signature, the address's local part. Text is read by
`parsers.unitnames` (Vietnamese folding, joined words, abbreviations, "Thanh Oai" removed).

A text mention counts for a unit only when it names the unit's kind *and* place ("THCS Thanh
Mai"); a place alone ("Thanh Mai") only shows candidates, so a THCS email is never filed to the
TH of the same commune. A mention is *primary* when it stands as a label (subject, display name,
file name, address), leads a line or a short line, or follows "của" in a title; mentions inside
sentences ("thực hiện kế hoạch của UBND xã …") are incidental and weigh little.

Decision contract (`Decision.status`):
- "ignored": not a unit — the office's own address (unless it forwards a unit's message),
  bounces, auto-replies, mailing lists, spam. The caller must pass the `IDENTITY_HEADERS`.
- "assigned": `unit` is set. Without a known address exactly one unit has primary mentions,
  scoring at least `THRESHOLD`, with every incidental rival at most `MARGIN` of it. With a known
  address, that unit, unless the text names another unit and not it, or the documents name
  another unit more strongly than it. A roster unit forwarding, as an attachment and with no
  files of its own (`Evidence.own_files` empty), mail whose senders are all one other unit's
  roster address is that other unit's (same text and document checks, the forwarder's own name
  not counted against it). `forwarded_by` is the outer sender whenever the unit was found by a
  forwarded message's sender rather than by the sender's own address.
- "split": the attachments clearly name two or more different units (a commune office sending
  for its schools, a forward of several units' mail); `unit` is None and `per_attachment` holds
  (filename, unit code) for every attachment whose own evidence names one unit. Attachments not
  listed (photos without a telling name) belong to no unit; the caller leaves them to the officer.
- "unassigned": anything else; `candidates` ranks the units seen and `reason` shows the evidence.
`Candidate.score`: 200 for a known address, 100 × the weighted text score (`WEIGHTS`), 5 for a
unit whose place alone was named. Learned addresses for codes not on the roster are dropped.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from parsers.unitnames import Mention, Vocabulary, unit_place
from parsers.vietnamese import fold

log = logging.getLogger(__name__)

# Headers (lower-case names) the caller must pass in `Evidence.headers`, topmost first.
IDENTITY_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "x-spam-flag",
    "content-type",
    "x-failed-recipients",
)
THRESHOLD = 0.6  # the least score that files a message on text alone
MARGIN = 0.5  # an incidental rival may reach at most this share of the winner's score
INCIDENTAL = 0.3  # weight of a mention inside a sentence
FUZZY = 0.8  # weight of a place matched within one edit
WEIGHTS = {
    "doc": 1.0,
    "org": 0.9,
    "subject": 0.8,
    "name": 0.8,
    "file": 0.7,
    "body": 0.6,
    "local": 0.6,
}
LABELS = {
    "subject": "subject",
    "name": "display name",
    "file": "file name",
    "body": "body",
    "local": "address",
    "doc": "document",
    "org": "Đơn vị tổ chức",
}
DOCUMENTARY = ("doc", "org", "file")
COMMUNE_KINDS = frozenset({"ubnd", "htcd", "mn", "th", "thcs"})
_BOUNCERS = ("mailer-daemon@", "postmaster@")
_AUTO_SUBJECTS = (
    "tra loi tu dong",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "out of office",
    "out of the office",
)
_EXT = re.compile(r"\.[A-Za-z0-9]{1,5}$")


@dataclass(frozen=True)
class RosterUnit:
    code: str
    name: str
    kind: str
    emails: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttachmentEvidence:
    """What one attachment says about its unit (strings cleaned, NFC)."""

    filename: str
    doc_headers: tuple[str, ...] = ()  # header block / title lines of this document
    organizers: tuple[str, ...] = ()  # "Đơn vị tổ chức" cells of this document's data table


@dataclass(frozen=True)
class Evidence:
    """Everything a message says about who sent it (all strings already cleaned, NFC)."""

    from_addr: str
    from_name: str = ""
    subject: str = ""
    body_head: str = ""  # the first lines and the signature of the body text
    filenames: tuple[str, ...] = ()
    doc_headers: tuple[str, ...] = ()  # first lines / title of each readable document
    organizers: tuple[str, ...] = ()  # "Đơn vị tổ chức" cells of data tables
    headers: tuple[tuple[str, str], ...] = ()  # (name, value) for IDENTITY_HEADERS, topmost first
    inner_from: tuple[str, ...] = ()  # senders of forwarded (message/rfc822) parts
    # files the sender attached itself, outside forwarded messages; None: not known (caution)
    own_files: tuple[str, ...] | None = None
    attachments: tuple[AttachmentEvidence, ...] = ()  # per attachment, for "split" decisions


@dataclass(frozen=True)
class Candidate:
    code: str
    score: float
    why: str


class DecisionStatus(StrEnum):
    """What the matcher decided for a message (not stored: filing turns it into a MessageState)."""

    ASSIGNED = "assigned"  # one unit
    UNASSIGNED = "unassigned"  # unsure: the officer decides
    IGNORED = "ignored"  # a bounce, an auto-reply, the office's own mail
    SPLIT = "split"  # several units' documents in one email: filed per attachment


@dataclass(frozen=True)
class Decision:
    status: DecisionStatus
    unit: str | None = None  # unit code when assigned
    reason: str = ""
    candidates: tuple[Candidate, ...] = ()
    # per attachment (filename → unit code) when one email carries several units' documents
    per_attachment: tuple[tuple[str, str], ...] = field(default=())
    forwarded_by: str = ""  # the outer sender, when `unit` was found by a forwarded sender


def _snippet(line: str) -> str:
    line = " ".join(line.split())
    return line if len(line) <= 100 else f"{line[:40]} … {line[-55:]}"


def ignore_reason(ev: Evidence) -> str | None:
    """Why the message is not from a unit at all (bounce, auto-reply, list, spam), or None."""
    addr = ev.from_addr.strip().lower()
    if addr.startswith(_BOUNCERS):
        return f"bounce from {addr}"
    for name, value in ev.headers:
        key, val = name.strip().lower(), value.strip().lower()
        if key == "content-type" and val.startswith("multipart/report"):
            return "delivery or read report (multipart/report)"
        if key == "x-failed-recipients":
            return "bounce (X-Failed-Recipients)"
        if key == "auto-submitted" and val and val != "no":
            return f"auto-submitted: {val}"
        if key in ("x-autoreply", "x-autorespond"):
            return f"auto-reply ({name})"
        if key == "precedence" and val in ("bulk", "junk", "list"):
            return f"precedence: {val}"
        if key in ("list-id", "list-unsubscribe"):
            return f"mailing list ({name})"
        if key == "x-spam-flag" and val == "yes":
            return "marked as spam (X-Spam-Flag)"
    subject = fold(ev.subject)
    while subject.startswith(("re:", "tl:", "fw:", "fwd:")):
        subject = subject.split(":", 1)[1].strip()
    if subject.startswith(_AUTO_SUBJECTS):
        return f"auto-reply subject {ev.subject[:60]!r}"
    return None


@dataclass
class Tally:
    """Scores of units over the sources of one message (or one attachment)."""

    score: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    primary: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    why: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    places: dict[str, str] = field(default_factory=dict)  # place-only mentions: place → snippet
    localities: set[str] = field(default_factory=set)  # "xã X" in the subject or display name

    def doc_score(self, code: str, scores: dict[tuple[str, str], float]) -> float:
        return sum(scores.get((src, code), 0.0) for src in DOCUMENTARY)


def _without(t: Tally, best: dict[tuple[str, str], float], source: str) -> Tally:
    """`t` as if `source` had said nothing."""
    out = Tally(places=t.places, localities=t.localities)
    for (src, code), value in best.items():
        if src != source:
            out.score[code] += value
    for code, srcs in t.primary.items():
        if srcs - {source}:
            out.primary[code] = srcs - {source}
    for code, whys in t.why.items():
        out.why[code] = [w for w in whys if not w.startswith(LABELS[source])]
    return out


class UnitMatcher:
    """Decide the unit of a message from its evidence.

    `learned` maps lower-case addresses taught by the officer (`intake assign`) to unit codes;
    `office` holds the office's own addresses, which are never units. All roster work (place
    keys, vocabulary) is done here once; `identify` only reads.
    """

    def __init__(
        self,
        units: list[RosterUnit],
        learned: dict[str, str] | None = None,
        office: tuple[str, ...] = (),
    ) -> None:
        self.units = {u.code: u for u in units}
        self.by_address: dict[str, str] = {}
        self.learned: set[str] = set()
        for unit in units:
            for addr in unit.emails:
                self.by_address[addr.strip().lower()] = unit.code
        for addr, code in (learned or {}).items():
            key = addr.strip().lower()
            if key not in self.by_address and code in self.units:
                self.by_address[key] = code
                self.learned.add(key)
        self.office = {a.strip().lower() for a in office}
        names = [(u, n) for u in units for n in (u.name, *u.aliases)]
        vocab = Vocabulary(())  # kind words and common syllables only: splits "TTGDNN"
        self.keys: dict[tuple[str, str], set[str]] = defaultdict(set)
        for unit, name in names:
            self.keys[(unit.kind, unit_place(name, vocab))].add(unit.code)
        self.vocab = Vocabulary(place for _, place in self.keys if place)
        self.place_of = {u.code: unit_place(u.name, self.vocab) for u in units}
        self.by_place: dict[str, set[str]] = defaultdict(set)
        for (_, place), codes in self.keys.items():
            if place:
                self.by_place[place] |= codes

    # -- evidence → scores ---------------------------------------------------------------------

    def _resolve(self, m: Mention) -> list[str]:
        out: list[str] = []
        for kind in m.kinds:
            codes = self.keys.get((kind, m.place), set())
            if len(codes) == 1:
                out.extend(codes)
        return out

    def _sources(self, ev: Evidence | AttachmentEvidence) -> list[tuple[str, str]]:
        if isinstance(ev, AttachmentEvidence):
            docs = ["\n".join(ev.doc_headers)]
            return [("file", _EXT.sub("", ev.filename)), *(("doc", d) for d in docs)]
        out = [("subject", ev.subject), ("name", ev.from_name), ("body", ev.body_head)]
        addr = ev.from_addr.strip().lower()
        if addr not in self.by_address and "@" in addr:
            out.append(("local", addr.split("@", 1)[0]))
        names = [*ev.filenames, *(a.filename for a in ev.attachments)]
        out += [("file", _EXT.sub("", n)) for n in dict.fromkeys(names)]
        out.append(("doc", "\n".join(ev.doc_headers)))
        out += [("doc", "\n".join(a.doc_headers)) for a in ev.attachments]
        return out

    def tally(
        self, ev: Evidence | AttachmentEvidence
    ) -> tuple[Tally, dict[tuple[str, str], float]]:
        """Score every unit named in `ev`; the second value is the best score per (source, unit)."""
        t = Tally()
        best: dict[tuple[str, str], float] = {}
        for src, text in self._sources(ev):
            if not text.strip():
                continue
            lines = text.splitlines()
            label = src not in ("body", "doc")
            for m in self.vocab.mentions(text):
                snippet = _snippet(lines[m.line] if m.line < len(lines) else text)
                primary = not m.quoted and (label or m.leading or m.titled or m.short)
                if not m.kinds:
                    if primary and m.place:
                        t.places.setdefault(m.place, f"{LABELS[src]} “{snippet}”")
                        if m.locality and src in ("subject", "name"):
                            t.localities.add(m.place)
                    continue
                factor = (1.0 if primary else INCIDENTAL) * (FUZZY if m.fuzzy else 1.0)
                for code in self._resolve(m):
                    self._credit(t, best, src, code, factor, primary, f"{LABELS[src]} “{snippet}”")
        organizers = [*(ev.organizers or ())]
        if isinstance(ev, Evidence):
            organizers += [c for a in ev.attachments for c in a.organizers]
        self._organizers(t, best, organizers)
        return t, best

    def _credit(
        self,
        t: Tally,
        best: dict[tuple[str, str], float],
        src: str,
        code: str,
        factor: float,
        primary: bool,
        why: str,
    ) -> None:
        value = WEIGHTS[src] * factor
        old = best.get((src, code), 0.0)
        if value > old:
            t.score[code] += value - old
            best[(src, code)] = value
        if primary:
            t.primary[code].add(src)
        if why not in t.why[code] and len(t.why[code]) < 3:
            t.why[code].append(why)

    def _organizers(self, t: Tally, best: dict[tuple[str, str], float], cells: list[str]) -> None:
        """The unit named by at least two thirds of the naming cells is primary; others are
        incidental. A cell with kind words only ("Trường THCS") takes the table's one place."""
        per_cell = [[m for m in self.vocab.mentions(c) if m.kinds and m.leading] for c in cells]
        places = {m.place for ms in per_cell for m in ms if m.place}
        counts: dict[str, int] = defaultdict(int)
        naming = 0
        for ms in per_cell:
            codes: set[str] = set()
            for m in ms:
                if not m.place and len(places) == 1:
                    m = Mention(m.kinds, next(iter(places)), 0, True, False, True, False)
                codes.update(self._resolve(m))
            naming += bool(codes)
            for code in codes:
                counts[code] += 1
        for code, n in counts.items():
            primary = 3 * n >= 2 * naming
            self._credit(
                t,
                best,
                "org",
                code,
                1.0 if primary else INCIDENTAL,
                primary,
                f"Đơn vị tổ chức ({n}/{naming} ô)",
            )

    # -- scores → decision ---------------------------------------------------------------------

    def _choice(self, t: Tally) -> tuple[str | None, str]:
        """The one unit the text names clearly, or None and why not."""
        named = sorted(t.primary, key=lambda c: -t.score[c])
        if not named:
            return None, "no unit is named clearly"
        if len(named) > 1:
            return None, "the text names several units: " + ", ".join(named[:4])
        code = named[0]
        if t.score[code] < THRESHOLD:
            return None, f"the evidence for {code} is weak"
        rival = max((s for c, s in t.score.items() if c != code), default=0.0)
        if rival > MARGIN * t.score[code]:
            return None, f"{code} is not clearly ahead of the other units mentioned"
        if (
            self.units[code].kind in COMMUNE_KINDS
            and t.localities
            and self.place_of[code] not in t.localities
        ):
            return None, f"the subject or display name names another commune than {code}"
        return code, "; ".join(t.why[code])

    def _candidates(self, t: Tally, extra: dict[str, tuple[float, str]]) -> tuple[Candidate, ...]:
        found: dict[str, Candidate] = {}
        for code, (score, why) in extra.items():
            found[code] = Candidate(code, score, why)
        for code in sorted(t.score, key=lambda c: -t.score[c]):
            if code not in found:
                found[code] = Candidate(code, round(100 * t.score[code], 1), "; ".join(t.why[code]))
        for place, why in t.places.items():
            for code in sorted(self.by_place.get(place, ())):
                if code not in found:
                    found[code] = Candidate(code, 5.0, f"{why} (place only, kind unknown)")
        return tuple(sorted(found.values(), key=lambda c: -c.score)[:8])

    def _split(self, ev: Evidence) -> tuple[dict[str, str], list[str]]:
        """Per attachment: filename → unit where its own evidence names one unit; and the names
        of attachments whose evidence names several."""
        named: dict[str, str] = {}
        contested: list[str] = []
        for att in ev.attachments:
            t, _ = self.tally(att)
            code, _why = self._choice(t)
            if code is not None:
                named[att.filename] = code
            elif len(t.primary) > 1:
                contested.append(att.filename)
        return named, contested

    def _relayed(self, ev: Evidence, addr: str) -> tuple[str, str] | None:
        """(unit, its address) when a roster unit forwards, as an attachment and adding no files
        of its own, mail whose every sender is the roster address of one other unit."""
        if not ev.inner_from or ev.own_files is None or ev.own_files:
            return None
        sender = self.by_address.get(addr)
        if sender is None or addr in self.learned or addr in self.office:
            return None
        inner = sorted({a.strip().lower() for a in ev.inner_from})
        if any(a not in self.by_address or a in self.learned for a in inner):
            return None
        codes = {self.by_address[a] for a in inner}
        if len(codes) != 1 or sender in codes:
            return None
        return codes.pop(), inner[0]

    def _by_address(
        self,
        code: str,
        how: str,
        t: Tally,
        best: dict[tuple[str, str], float],
        why: str,
        cands: tuple[Candidate, ...],
        *,
        forwarded_by: str = "",
        besides: str | None = None,
    ) -> Decision:
        """`code`, found by an address, unless the text names only other units or the documents
        are another unit's; `besides` (a forwarder naming itself) does not count against it."""
        others = sorted(c for c in t.primary if c not in (code, besides))
        if others and code not in t.primary:
            return Decision(
                DecisionStatus.UNASSIGNED,
                reason=f"{how}, but the text names {', '.join(others)}: {why}",
                candidates=cands,
            )
        rival = max(others, key=lambda c: t.doc_score(c, best), default=None)
        if rival is not None and t.doc_score(rival, best) > t.doc_score(code, best):
            return Decision(
                DecisionStatus.UNASSIGNED,
                reason=f"{how}, but the documents are {rival}'s: " + "; ".join(t.why[rival]),
                candidates=cands,
            )
        return Decision(
            DecisionStatus.ASSIGNED,
            unit=code,
            reason=how,
            candidates=cands,
            forwarded_by=forwarded_by,
        )

    def identify(self, ev: Evidence) -> Decision:
        addr = ev.from_addr.strip().lower()
        why_ignored = ignore_reason(ev)
        if why_ignored is not None:
            return Decision(DecisionStatus.IGNORED, reason=why_ignored)
        if addr in self.office and not ev.inner_from:
            return Decision(DecisionStatus.IGNORED, reason="sent from the office's own address")
        by_addr: dict[str, str] = {}
        sender_code: str | None = None
        if addr in self.by_address and addr not in self.office:
            how = "taught by the officer" if addr in self.learned else "on the roster"
            sender_code = self.by_address[addr]
            by_addr[sender_code] = f"sender address {addr} is {how}"
        for inner in ev.inner_from:
            code = self.by_address.get(inner.strip().lower())
            if code is not None:
                by_addr.setdefault(code, f"forwarded message from {inner.strip().lower()}")

        def forwarder(code: str) -> str:  # who forwarded it, when `code` came from inside
            return addr if code in by_addr and code != sender_code else ""

        t, best = self.tally(ev)
        extra = {c: (200.0, w) for c, w in by_addr.items()}
        cands = self._candidates(t, extra)

        named, contested = self._split(ev)
        if len(set(named.values())) >= 2:
            if contested:
                return Decision(
                    DecisionStatus.UNASSIGNED,
                    reason="attachments name different units and "
                    f"{', '.join(contested)} names several",
                    candidates=cands,
                )
            pairs = tuple(named.items())
            listing = ", ".join(f"{f} → {c}" for f, c in pairs)
            return Decision(
                DecisionStatus.SPLIT,
                reason=f"the attachments name different units: {listing}",
                candidates=cands,
                per_attachment=pairs,
            )

        if by_addr:  # the display name belongs to the address: only the rest of the text counts
            t = _without(t, best, "name")
        choice, why = self._choice(t)
        relayed = self._relayed(ev, addr)
        if relayed is not None and sender_code is not None:
            code, inner = relayed
            how = (
                f"forwarded message from {inner} is on the roster (forwarded by {addr}, "
                f"{sender_code}, with no files of its own)"
            )
            return self._by_address(
                code, how, t, best, why, cands, forwarded_by=addr, besides=sender_code
            )
        if len(by_addr) == 1:
            code, how = next(iter(by_addr.items()))
            return self._by_address(code, how, t, best, why, cands, forwarded_by=forwarder(code))
        if len(by_addr) > 1:
            if choice in by_addr:
                return Decision(
                    DecisionStatus.ASSIGNED,
                    unit=choice,
                    reason=f"{by_addr[choice]}; {why}",
                    candidates=cands,
                    forwarded_by=forwarder(choice),
                )
            own = (
                f"; the forward adds files of its own: {', '.join(ev.own_files[:5])}"
                if ev.own_files
                else ""
            )
            return Decision(
                DecisionStatus.UNASSIGNED,
                reason="the sender and the forwarded messages are "
                f"different units ({', '.join(by_addr)}); {why}{own}",
                candidates=cands,
            )
        if choice is not None:
            return Decision(DecisionStatus.ASSIGNED, unit=choice, reason=why, candidates=cands)
        return Decision(
            DecisionStatus.UNASSIGNED,
            reason=f"{why} (sender {addr or 'unknown'})",
            candidates=cands,
        )
