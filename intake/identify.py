"""Who sent it: the `UnitMatcher` boundary. Evidence in, a decision out; pure, no I/O.

This first version files only on an exact roster (or learned) address; everything else is left
unassigned for the officer. Issue 4 grows the text evidence behind the same seam.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RosterUnit:
    code: str
    name: str
    kind: str
    emails: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


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
    headers: tuple[tuple[str, str], ...] = ()  # selected raw headers (Auto-Submitted, ...)
    inner_from: tuple[str, ...] = ()  # senders of forwarded (message/rfc822) parts


@dataclass(frozen=True)
class Candidate:
    code: str
    score: float
    why: str


@dataclass(frozen=True)
class Decision:
    status: str  # "assigned" | "unassigned" | "ignored"
    unit: str | None = None  # unit code when assigned
    reason: str = ""
    candidates: tuple[Candidate, ...] = ()
    # per attachment (filename → unit code) when one email carries several units' documents
    per_attachment: tuple[tuple[str, str], ...] = field(default=())


class UnitMatcher:
    """Decide the unit of a message from its evidence.

    `learned` maps lower-case addresses taught by the officer (`intake assign`) to unit codes;
    `office` holds the office's own addresses, which are never units.
    """

    def __init__(
        self,
        units: list[RosterUnit],
        learned: dict[str, str] | None = None,
        office: tuple[str, ...] = (),
    ) -> None:
        self.units = {u.code: u for u in units}
        self.by_address: dict[str, str] = {}
        for unit in units:
            for addr in unit.emails:
                self.by_address[addr.strip().lower()] = unit.code
        for addr, code in (learned or {}).items():
            self.by_address.setdefault(addr.strip().lower(), code)
        self.office = {a.strip().lower() for a in office}

    def identify(self, ev: Evidence) -> Decision:
        addr = ev.from_addr.strip().lower()
        if addr in self.office:
            return Decision("ignored", reason="sent from the office's own address")
        code = self.by_address.get(addr)
        if code is not None:
            return Decision("assigned", unit=code, reason=f"sender address {addr} is on the roster")
        return Decision("unassigned", reason=f"sender address {addr or '(none)'} is not on the roster")
