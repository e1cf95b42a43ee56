"""Filing: a stored raw message → parsed parts, attachments in the file store, the unit
decision, the unit's submission recomputed. One transaction per message; a failure is counted
on the message and retried with backoff, then quarantined with its reason."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from intake.clock import Clock
from intake.config import CampaignConfig
from intake.errors import MessageError
from intake.identify import AttachmentEvidence, Decision, Evidence, RosterUnit, UnitMatcher
from intake.parsestage import Limits, ParseStage, Staged, StagedPart
from intake.progress import NullProgress, Progress
from parsers import authres
from parsers.facts import DocumentFacts
from parsers.mime import ParsedMessage
from store import ledger
from store.files import FileStore
from store.models import Attachment, Message, Unit, UnitAddress
from store.submissions import Requirements, recompute

log = logging.getLogger(__name__)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list | frozenset | set):
        items = [_jsonable(v) for v in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return None  # blobs (thumbnails) go to the file store, not into JSON
    return value


def facts_json(facts: DocumentFacts, files: FileStore) -> str:
    data = _jsonable(dataclasses.replace(facts, members=()))
    if facts.report is not None:
        data["report"]["text"] = facts.report.text[:20000]
    for photo, out in zip(facts.photos, data["photos"], strict=True):
        out["thumbnail_sha256"] = files.put(photo.thumbnail) if photo.thumbnail else None
    return json.dumps(data, ensure_ascii=False)


def requirements(campaign: CampaignConfig) -> Requirements:
    return Requirements(tuple(campaign.required), campaign.min_photos)


def load_matcher(s: Session, office: Iterable[str]) -> UnitMatcher:
    units = list(s.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)))
    roster = [
        RosterUnit(
            code=u.code,
            name=u.name,
            kind=u.kind,
            emails=tuple(a.address for a in u.addresses if a.source == "roster"),
            aliases=tuple(x for x in u.aliases.split(";") if x),
        )
        for u in units
    ]
    learned = {
        a.address: a.unit.code for u in units for a in u.addresses if a.source == "learned"
    }
    return UnitMatcher(roster, learned=learned, office=tuple(office))


def _doc_lines(facts: DocumentFacts) -> list[str]:
    if facts.report is None:
        return []
    lines = [facts.report.title] if facts.report.title else []
    return lines + [ln.strip() for ln in facts.report.text.splitlines()[:12] if ln.strip()]


def evidence(parsed: ParsedMessage, parts: list[StagedPart]) -> Evidence:
    lines = [ln.strip() for ln in parsed.text.splitlines() if ln.strip()]
    head = "\n".join(lines[:15] + lines[-10:])
    per_doc = []
    for p in parts:
        organizers = tuple(
            r.organizer for r in (p.facts.data_table.rows if p.facts.data_table else ()) if r.organizer
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
        attachments=tuple(per_doc),
    )


class Filer:
    """Processes messages in state "received" (and reprocesses on `reparse`): the parse stage
    (worker processes) turns each into staged parts, then one transaction per message records
    the attachments, the unit decision and the unit's recomputed submission."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        files: FileStore,
        clock: Clock,
        campaign: CampaignConfig,
        office: Iterable[str] = (),
        max_attempts: int = 5,
        authserv_id: str = "",
        stage: ParseStage | None = None,
    ) -> None:
        self.sessions = sessions
        self.files = files
        self.clock = clock
        self.campaign = campaign
        self.office = tuple(office)
        self.max_attempts = max_attempts
        self.authserv_id = authserv_id
        self.stage = stage or ParseStage(str(files.root), Limits(parse_workers=0))
        self.req = requirements(campaign)
        self.stop_requested = False
        self.progress: Progress = NullProgress()

    def due(self) -> list[int]:
        now = self.clock.now()
        with self.sessions() as s:
            return list(
                s.scalars(
                    select(Message.id)
                    .where(
                        Message.state == "received",
                        or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
                    )
                    .order_by(Message.received_at, Message.id)
                )
            )

    def process_pending(self) -> int:
        """File every message that is due; return how many were handled."""
        return self.process_many(self.due())

    def process_many(self, pks: list[int]) -> int:
        if not pks:
            return 0  # an idle poll must not pay for building the matcher
        with self.sessions() as s:
            matcher = load_matcher(s, self.office)
            shas = {pk: sha for pk, sha in s.execute(select(Message.id, Message.sha256).where(Message.id.in_(pks)))}
        done = 0
        pks = [pk for pk in pks if pk in shas]
        self.progress.start("filing", len(pks))
        results = self.stage.stream([shas[pk] for pk in pks])  # workers parse ahead
        try:
            for pk, staged in zip(pks, results, strict=True):
                self.apply(pk, staged, matcher)
                done += 1
                self.progress.advance()
                if self.stop_requested:
                    break
        finally:
            results.close()
        self.progress.finish()
        return done

    def process(self, pk: int) -> None:
        self.process_many([pk])

    def apply(self, pk: int, staged: Staged | MessageError, matcher: UnitMatcher) -> None:
        if isinstance(staged, MessageError):
            self._fail(pk, str(staged))
            return
        try:
            with self.sessions.begin() as s, self.files.batch():  # thumbnails durable, then commit
                self._file(s, pk, matcher, staged)
        except SQLAlchemyError:
            raise  # the store itself is failing: not this message's fault; retry next tick
        except Exception as e:  # the per-message boundary: set it aside, go on
            log.exception("filing message %d failed", pk)
            self._fail(pk, f"{type(e).__name__}: {e}")

    def _fail(self, pk: int, reason: str) -> None:
        now = self.clock.now()
        with self.sessions.begin() as s:
            msg = s.get(Message, pk)
            if msg is None:
                return
            msg.attempts += 1
            msg.reason = reason[:2000]
            if msg.attempts >= self.max_attempts:
                msg.state = "quarantined"
                msg.next_attempt_at = None
                log.error("message %d quarantined after %d attempts: %s", pk, msg.attempts, reason)
            else:
                msg.next_attempt_at = now + ledger.backoff(msg.attempts)
                log.warning("message %d failed (attempt %d): %s", pk, msg.attempts, reason)

    def _file(self, s: Session, pk: int, matcher: UnitMatcher, staged: Staged) -> None:
        now = self.clock.now()
        # Claim the message with a conditional UPDATE: it takes the row lock (PostgreSQL) or
        # the write lock (SQLite) and re-reads the state under it, so when another daemon
        # sharing the store filed it while it was being parsed here, this is a no-op.
        claim = s.execute(
            update(Message).where(Message.id == pk, Message.state == "received").values(processed_at=now)
        )
        if getattr(claim, "rowcount", 0) != 1:
            return
        msg = s.get(Message, pk, populate_existing=True)
        if msg is None:
            return
        parsed = staged.parsed
        old_unit = msg.unit_id
        old_split = {a.unit_id for a in msg.attachments if a.unit_id is not None}
        msg.attachments.clear()
        s.flush()
        msg.from_addr = parsed.from_addr or msg.from_addr
        msg.from_name = parsed.from_name[:255]
        msg.subject = parsed.subject
        msg.message_id = parsed.message_id or msg.message_id
        msg.sent_at = parsed.date
        auth = authres.read(parsed.headers, self.authserv_id)
        msg.auth = json.dumps(dataclasses.asdict(auth)) if auth is not None else ""
        rows: list[Attachment] = []
        for part in staged.parts:
            facts = part.facts
            att = Attachment(
                message=msg,
                parent_id=rows[part.parent].id if part.parent is not None else None,
                sha256=part.sha256,
                filename=facts.filename[:255],
                content_type=part.content_type[:255],
                kind=facts.kind,
                fmt=facts.fmt[:16],
                size=part.size,
                items=",".join(sorted(facts.items)),
                photos=sum(1 for p in facts.photos if p.evidence) or (1 if "photo" in facts.items else 0),
                problem=facts.problem[:2000],
                facts=facts_json(facts, self.files),
            )
            s.add(att)
            s.flush()
            rows.append(att)
        if msg.assigned_by and msg.assigned_by != "auto" and msg.unit_id is not None:
            decision = Decision("assigned", unit=None, reason=msg.reason)  # the officer's hand
            unit_id: int | None = msg.unit_id
        else:
            decision = matcher.identify(evidence(parsed, list(staged.parts)))
            unit_id = None
            if decision.unit is not None:
                unit_id = s.scalar(select(Unit.id).where(Unit.code == decision.unit))
            msg.assigned_by = "auto" if unit_id is not None else ""
            msg.reason = decision.reason[:2000]
            msg.candidates = json.dumps(
                [{"code": c.code, "score": round(c.score, 1), "why": c.why} for c in decision.candidates],
                ensure_ascii=False,
            )
        split_units: set[int] = set()
        if decision.status == "split":
            # several units' documents in one email: each attachment is filed on its own
            codes = dict(decision.per_attachment)
            ids = {c: s.scalar(select(Unit.id).where(Unit.code == c)) for c in set(codes.values())}
            for att in rows:
                target = ids.get(codes.get(att.filename, ""))
                if target is not None:
                    att.unit_id = target
                    split_units.add(target)
        msg.state = {"assigned": "filed", "ignored": "ignored"}.get(decision.status, "unassigned")
        if decision.status == "split" and split_units:
            msg.state = "filed"
        elif msg.state == "filed" and unit_id is None:
            msg.state = "unassigned"
        msg.unit_id = unit_id if msg.state == "filed" else None
        msg.campaign_id = self.campaign.id
        msg.processed_at = now
        msg.next_attempt_at = None
        s.flush()
        for uid in ({old_unit, msg.unit_id} | split_units | old_split) - {None}:
            assert uid is not None
            recompute(s, self.campaign.id, uid, self.req, now)

    def reparse(self, pks: Iterable[int]) -> int:
        """Rerun the current parsers over stored raw mail (keeps the officer's assignments)."""
        ids = list(pks)
        with self.sessions.begin() as s:
            for msg in s.scalars(select(Message).where(Message.id.in_(ids))):
                msg.attempts = 0
                msg.next_attempt_at = None
                msg.state = "received"  # filed again below; a crash leaves it due, not lost
        return self.process_many(ids)


def learn_address(s: Session, unit: Unit, address: str, by: str, now: datetime) -> bool:
    """Teach `address` to `unit` (the officer's assignment); False when it was known already."""
    address = address.strip().lower()
    if not address:
        return False
    existing = s.scalar(select(UnitAddress).where(UnitAddress.address == address))
    if existing is not None:
        return False
    s.add(UnitAddress(unit=unit, address=address, source="learned", learned_by=by, learned_at=now))
    return True
