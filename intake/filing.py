"""Filing: a stored raw message → parsed parts, attachments in the file store, the unit
decision, the unit's submission recomputed. CHUNK messages per transaction (one per message
when one of them fails); a failure is counted on the message and retried with backoff, then
quarantined with its reason (at once when the message is malformed, or when its parse was
killed for time or memory while it ran alone). A failure of our own store (store.faults) is not
a message's: it ends the run with `StoreFault` and charges no one. The stop flag is looked at
after every parsed message (and while waiting for one), so SIGTERM is answered in seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from core.config import CampaignConfig
from core.errors import MessageError, StoreFault
from intake.campaignfiling import Campaigns, place
from intake.identify import Decision, DecisionStatus, RosterUnit
from intake.matching import MatcherSpec
from intake.parsestage import Limits, ParseStage, Staged
from intake.progress import NullProgress, Progress
from parsers import authres
from parsers.mime import ParsedMessage
from store import campaigns as campaign_store
from store import facts, faults, ledger
from store.files import FileStore
from store.models import Attachment, Message, MessageState, Unit, UnitAddress
from store.submissions import Requirements, recompute

log = logging.getLogger(__name__)

CHUNK = 16  # messages filed per transaction


class _MessageFailed(Exception):
    """Filing message `pk` failed for a reason of its own (the cause is chained)."""

    def __init__(self, pk: int) -> None:
        super().__init__(pk)
        self.pk = pk


def roster_spec(s: Session, office: Iterable[str]) -> MatcherSpec:
    units = list(s.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)))
    roster = tuple(
        RosterUnit(
            code=u.code,
            name=u.name,
            kind=u.kind,
            emails=tuple(a.address for a in u.addresses if a.source == "roster"),
            aliases=tuple(x for x in u.aliases.split(";") if x),
        )
        for u in units
    )
    learned = tuple(
        sorted(
            (a.address, a.unit.code) for u in units for a in u.addresses if a.source == "learned"
        )
    )
    return MatcherSpec(roster, learned, tuple(office))


def requirements(campaign: CampaignConfig) -> Requirements:
    return Requirements(tuple(campaign.required), campaign.min_photos)


class Filer:
    """Processes messages in state "received" (and reprocesses on `reparse`): the parse stage
    (worker processes) turns each into staged parts and decides its unit, then a transaction
    per chunk records the attachments and the decisions, and recomputes the submissions of
    the units touched."""

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
        campaigns: Iterable[CampaignConfig] = (),
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
        self.campaigns = tuple(campaigns) or (campaign,)  # every campaign of the mailbox
        self.reqs = {c.id: requirements(c) for c in self.campaigns}
        self._camps = Campaigns.of(self.campaigns)
        self._kinds: dict[str, str] = {}  # unit code → kind, read once per run
        self.stop_requested = False
        self.progress: Progress = NullProgress()
        self._unit_ids: dict[str, int] = {}  # unit code → id, read once per run

    def due(self) -> list[int]:
        now = self.clock.now()
        with self.sessions() as s:
            return list(
                s.scalars(
                    select(Message.id)
                    .where(
                        Message.state == MessageState.RECEIVED,
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
        try:
            return self._process_many(pks)
        except (SQLAlchemyError, OSError) as e:
            if not faults.fault(e):
                raise
            raise StoreFault(f"the store cannot be written: {faults.describe(e)}") from e

    def _process_many(self, pks: list[int]) -> int:
        with self.sessions() as s:
            spec = roster_spec(s, self.office)
            self._unit_ids = {code: uid for code, uid in s.execute(select(Unit.code, Unit.id))}
            self._kinds = {u.code: u.kind for u in spec.units}
            self._camps = Campaigns.of(self.campaigns, [u.name for u in spec.units])
        with self.sessions.begin() as s:
            campaign_store.register(
                s,
                ((c.id, c.title, c.deadline_at, c.opens_at) for c in self.campaigns),
                self.clock.now(),
            )
        with self.sessions() as s:
            shas = {
                pk: sha
                for pk, sha in s.execute(
                    select(Message.id, Message.sha256).where(Message.id.in_(pks))
                )
            }
        done = 0
        pks = [pk for pk in pks if pk in shas]
        self.progress.start("filing", len(pks))
        # the workers parse ahead while results are filed here, CHUNK messages per transaction;
        # a stop request files what is parsed already and ends the run (the stream ends early)
        results = self.stage.stream(
            [shas[pk] for pk in pks], ahead=2 * CHUNK, spec=spec, stop=lambda: self.stop_requested
        )
        chunk: list[tuple[int, Staged | MessageError]] = []

        def flush() -> None:
            nonlocal chunk, done
            if chunk:
                self.apply_chunk(chunk)
                done += len(chunk)
                self.progress.advance(len(chunk))
                chunk = []

        try:
            for pair in zip(pks, results, strict=False):  # shorter after a stop
                chunk.append(pair)
                if len(chunk) >= CHUNK or self.stop_requested:
                    flush()
                if self.stop_requested:
                    break
            flush()
        except StoreFault:
            flush()  # the files of what was parsed are in place: file those, then stop
            raise
        finally:
            results.close()
        self.progress.finish()
        return done

    def process(self, pk: int) -> None:
        self.process_many([pk])

    def apply_chunk(self, chunk: list[tuple[int, Staged | MessageError]]) -> None:
        """File staged messages in one transaction and recompute the submissions of the units
        they touched once, before the commit. A crash before the commit leaves all of them
        due, as if not begun (their files are content-addressed: putting them again is
        harmless). When one message fails, the chunk is rolled back and its messages are filed
        one per transaction, so the failure costs only that message."""
        if len(chunk) > 1:
            try:
                self._apply_all(chunk)
                return
            except SQLAlchemyError:
                raise  # the store itself is failing: not a message's fault; retry next tick
            except _MessageFailed as e:
                log.info(
                    "message %d failed in a chunk of %d; filing them one by one", e.pk, len(chunk)
                )
        for one in chunk:
            try:
                self._apply_all([one])
            except _MessageFailed as e:  # the per-message boundary: set it aside, go on
                log.error("filing message %d failed", e.pk, exc_info=e.__cause__)
                with self.sessions.begin() as s:
                    self._fail(s, e.pk, f"{type(e.__cause__).__name__}: {e.__cause__}")

    def _apply_all(self, chunk: list[tuple[int, Staged | MessageError]]) -> None:
        touched: set[int] = set()
        with self.sessions.begin() as s, self.files.batch():  # thumbnails durable, then commit
            for pk, staged in chunk:
                self.apply(s, pk, staged, touched)
            now = self.clock.now()
            recompute_units(s, self.campaigns, touched, now)

    def apply(self, s: Session, pk: int, staged: Staged | MessageError, touched: set[int]) -> None:
        """File one staged message in the transaction `s` (a parse failure is charged to it);
        raises `_MessageFailed` when filing it fails for a reason of its own."""
        if isinstance(staged, MessageError):
            self._fail(s, pk, str(staged), permanent=staged.permanent)
            return
        try:
            touched |= self._file(s, pk, staged)
        except SQLAlchemyError:
            raise
        except OSError as e:
            if faults.fault(e):
                raise  # our store, not this message
            raise _MessageFailed(pk) from e
        except Exception as e:
            raise _MessageFailed(pk) from e

    def _fail(self, s: Session, pk: int, reason: str, permanent: bool = False) -> None:
        now = self.clock.now()
        msg = s.get(Message, pk)
        if msg is None:
            return
        msg.attempts += 1
        msg.reason = reason[:2000]
        if permanent:
            msg.state = MessageState.QUARANTINED
            msg.next_attempt_at = None
            log.error("message %d quarantined: %s", pk, reason)
        elif msg.attempts >= self.max_attempts:
            msg.state = MessageState.QUARANTINED
            msg.next_attempt_at = None
            log.error("message %d quarantined after %d attempts: %s", pk, msg.attempts, reason)
        else:
            msg.next_attempt_at = now + ledger.backoff(msg.attempts)
            log.warning("message %d failed (attempt %d): %s", pk, msg.attempts, reason)

    def _file(self, s: Session, pk: int, staged: Staged) -> set[int]:
        """File one message; returns the units whose submission must be recomputed."""
        now = self.clock.now()
        # Claim the message with a conditional UPDATE: it takes the row lock (PostgreSQL) or
        # the write lock (SQLite) and re-reads the state under it, so when another daemon
        # sharing the store filed it while it was being parsed here, this is a no-op.
        claim = s.execute(
            update(Message)
            .where(Message.id == pk, Message.state == MessageState.RECEIVED)
            .values(processed_at=now)
        )
        if getattr(claim, "rowcount", 0) != 1:
            return set()
        msg = s.get(Message, pk, populate_existing=True)
        if msg is None:
            return set()
        old_units = {msg.unit_id} | {a.unit_id for a in msg.attachments}
        self._headers(msg, staged.parsed)
        rows = self._attachments(s, msg, staged)
        decision, unit_id = self._decide(msg, staged)
        split_units = self._split(decision, rows)
        if decision.status == DecisionStatus.SPLIT and split_units:
            msg.state = MessageState.FILED
        elif decision.status == DecisionStatus.ASSIGNED and unit_id is not None:
            msg.state = MessageState.FILED
        elif decision.status == DecisionStatus.IGNORED:
            msg.state = MessageState.IGNORED
        else:
            msg.state = MessageState.UNASSIGNED
        msg.unit_id = unit_id if msg.state == MessageState.FILED else None
        code = decision.unit or next((c for c, i in self._unit_ids.items() if i == msg.unit_id), "")
        place(
            msg, rows, staged, self._camps, code if msg.unit_id else "", self._kinds.get(code, "")
        )
        msg.processed_at = now
        msg.next_attempt_at = None
        s.flush()
        return {uid for uid in (old_units | {msg.unit_id} | split_units) if uid is not None}

    def _headers(self, msg: Message, parsed: ParsedMessage) -> None:
        """What the message's headers say: sender, subject, date, authentication results."""
        msg.from_addr = parsed.from_addr or msg.from_addr
        msg.from_name = parsed.from_name[:255]
        msg.subject = parsed.subject
        msg.message_id = parsed.message_id or msg.message_id
        msg.sent_at = parsed.date
        msg.auth, msg.dmarc = facts.auth_columns(authres.read(parsed.headers, self.authserv_id))

    def _attachments(self, s: Session, msg: Message, staged: Staged) -> list[Attachment]:
        """The staged parts as the message's attachment rows (a reparse replaces the old rows)."""
        if msg.attachments:  # a reparse: the old rows go before the new ones come
            msg.attachments.clear()
            s.flush()
        rows: list[Attachment] = []
        parents = {p.parent for p in staged.parts if p.parent is not None}
        for index, part in enumerate(staged.parts):
            found = part.facts
            att = Attachment(
                message=msg,
                parent_id=rows[part.parent].id if part.parent is not None else None,
                sha256=part.sha256,
                filename=found.filename[:255],
                content_type=part.content_type[:255],
                kind=found.kind,
                fmt=found.fmt[:16],
                size=part.size,
                items=facts.items_text(found.items),
                photos=sum(1 for p in found.photos if p.evidence)
                or (1 if "photo" in found.items else 0),
                problem=found.problem[:2000],
                facts=part.facts_json,
            )
            s.add(att)
            if index in parents:
                s.flush()  # its id is the parent_id of parts to come
            rows.append(att)
        return rows

    def _decide(self, msg: Message, staged: Staged) -> tuple[Decision, int | None]:
        """The unit decision: the officer's assignment stands; otherwise the one the parse
        workers made (intake.matching), recorded on the message with its reason and candidates."""
        if msg.assigned_by and msg.assigned_by != "auto" and msg.unit_id is not None:
            return Decision(DecisionStatus.ASSIGNED, unit=None, reason=msg.reason), msg.unit_id
        decision = staged.decision
        if decision is None:
            raise ValueError("staged without a unit decision (the parse stage was given no roster)")
        unit_id = self._unit_ids.get(decision.unit) if decision.unit is not None else None
        msg.assigned_by = "auto" if unit_id is not None else ""
        msg.forwarded_by = decision.forwarded_by[:320] if unit_id is not None else ""
        msg.reason = decision.reason[:2000]
        msg.candidates = facts.unit_candidates_json(
            (c.code, c.score, c.why) for c in decision.candidates
        )
        return decision, unit_id

    def _split(self, decision: Decision, rows: list[Attachment]) -> set[int]:
        """Several units' documents in one email: each attachment is filed on its own unit;
        returns those units."""
        if decision.status != DecisionStatus.SPLIT:
            return set()
        codes = dict(decision.per_attachment)
        ids = {c: self._unit_ids.get(c) for c in set(codes.values())}
        units: set[int] = set()
        for att in rows:
            target = ids.get(codes.get(att.filename, ""))
            if target is not None:
                att.unit_id = target
                units.add(target)
        return units

    def reparse(self, pks: Iterable[int]) -> int:
        """Rerun the current parsers over stored raw mail (keeps the officer's assignments)."""
        ids = list(pks)
        with self.sessions.begin() as s:
            for msg in s.scalars(select(Message).where(Message.id.in_(ids))):
                msg.attempts = 0
                msg.next_attempt_at = None
                msg.state = (
                    MessageState.RECEIVED
                )  # filed again below; a crash leaves it due, not lost
        return self.process_many(ids)


def recompute_units(
    s: Session, campaigns: Iterable[CampaignConfig], units: Iterable[int], now: datetime
) -> None:
    """Recompute the submissions of `units` in every campaign that asks them to submit."""
    ids = sorted(set(units))
    if not ids:
        return
    kinds = {
        uid: (code, kind)
        for uid, code, kind in s.execute(
            select(Unit.id, Unit.code, Unit.kind).where(Unit.id.in_(ids))
        )
    }
    for c in campaigns:
        req = requirements(c)
        for uid in ids:
            code, kind = kinds.get(uid, ("", ""))
            if c.submits(code, kind):
                recompute(s, c.id, uid, req, now)


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
