"""The unit matcher where it runs: a snapshot of the roster (`MatcherSpec`, read from the
store once per filing run) is sent with each message to the parse workers, which build the
`UnitMatcher` once per snapshot and decide the unit there, beside the parsing; the filer only
records the decision (or overrides it with the officer's assignment). No database code here:
the workers do not import it (the snapshot is read by `intake.filing.roster_spec`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from intake.identify import AttachmentEvidence, Evidence, RosterUnit, UnitMatcher
from parsers.facts import DocumentFacts
from parsers.mime import ParsedMessage


class PartView(Protocol):
    """What the matcher reads of a parsed part (`intake.parsestage.StagedPart` is one)."""

    @property
    def filename(self) -> str: ...
    @property
    def facts(self) -> DocumentFacts: ...
    @property
    def parent(self) -> int | None: ...
    @property
    def sender(self) -> str: ...


@dataclass(frozen=True)
class MatcherSpec:
    """What a `UnitMatcher` is built from: the active units, the learned addresses and the
    office's own addresses (hashable, picklable)."""

    units: tuple[RosterUnit, ...]
    learned: tuple[tuple[str, str], ...] = ()
    office: tuple[str, ...] = ()


_built: dict[MatcherSpec, UnitMatcher] = {}


def matcher_for(spec: MatcherSpec) -> UnitMatcher:
    """The matcher of `spec`, built once per process (the last two snapshots are kept)."""
    found = _built.get(spec)
    if found is None:
        found = UnitMatcher(list(spec.units), learned=dict(spec.learned), office=spec.office)
        while len(_built) >= 2:
            del _built[next(iter(_built))]
        _built[spec] = found
    return found


def _doc_lines(facts: DocumentFacts) -> list[str]:
    if facts.report is None:
        return []
    lines = [facts.report.title] if facts.report.title else []
    return lines + [ln.strip() for ln in facts.report.text.splitlines()[:12] if ln.strip()]


def evidence(parsed: ParsedMessage, parts: Sequence[PartView]) -> Evidence:
    lines = [ln.strip() for ln in parsed.text.splitlines() if ln.strip()]
    head = "\n".join(lines[:15] + lines[-10:])
    per_doc = []
    for p in parts:
        organizers = tuple(
            r.organizer
            for r in (p.facts.data_table.rows if p.facts.data_table else ())
            if r.organizer
        )
        per_doc.append(AttachmentEvidence(p.facts.filename, tuple(_doc_lines(p.facts)), organizers))
    return Evidence(
        from_addr=parsed.from_addr,
        from_name=parsed.from_name,
        subject=parsed.subject,
        body_head=head,
        filenames=tuple(p.facts.filename for p in parts),
        doc_headers=tuple(h for a in per_doc for h in a.doc_headers),
        organizers=tuple(o for a in per_doc for o in a.organizers),
        headers=parsed.headers,
        inner_from=tuple(dict.fromkeys(p.sender for p in parts if p.sender)),
        # what the sender attached itself: top-level parts other than forwarded messages (a
        # forwarded message's own attachments come out of it with a parent)
        own_files=tuple(p.filename for p in parts if p.parent is None and p.facts.kind != "email"),
        attachments=tuple(per_doc),
    )
