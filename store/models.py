"""SQLAlchemy models: units and their addresses, the mailbox ledger, messages, attachments,
submissions, heartbeats, the audit log, and the web console's accounts and sessions. Every
datetime column is stored in UTC.

The ledger has two levels:
- `ledger` is one row per place a message was seen on a server:
  UNIQUE(account, folder, uidvalidity, uid). Its `state` tracks fetching and its `server_done`
  whether the server action (MOVE or keyword) happened — always after the commit.
- `messages` is one row per distinct message (UNIQUE sha256 of the raw bytes; a second copy
  with the same Message-ID and the same body also maps to it), whatever the route it came by
  (IMAP, a UIDVALIDITY change, a local import).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- states ---------------------------------------------------------------------------------
# Each a StrEnum: a member equals its string ("filed" == MessageState.FILED), so the value is
# what the column holds; a CHECK constraint (migration 0008) refuses any other value.


class MessageState(StrEnum):
    """received → filed | unassigned | ignored | quarantined | other; received = not yet filed."""

    RECEIVED = "received"
    FILED = "filed"  # to a unit, in a campaign
    UNASSIGNED = "unassigned"  # waits for the officer (unit or campaign unclear)
    IGNORED = "ignored"  # a bounce, an auto-reply: no one's report
    QUARANTINED = "quarantined"  # failed for good, with its reason
    OTHER = "other"  # mail of no campaign


class LedgerState(StrEnum):
    PENDING = "pending"  # seen on the server, not stored yet
    STORED = "stored"  # raw bytes and the messages row committed
    QUARANTINED = "quarantined"  # could not be fetched or stored after the last attempt


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # refused for good (5xx) or out of tries


class SubmissionState(StrEnum):
    MISSING = "missing"
    INCOMPLETE = "incomplete"
    COMPLETE = "complete"


def one_of(column: str, states: type[StrEnum]) -> CheckConstraint:
    """CHECK(column IN (...)) over every member of `states`, named `ck_<table>_<column>`."""
    values = ", ".join(f"'{s.value}'" for s in states)
    return CheckConstraint(f"{column} IN ({values})", name=column)


class Unit(Base):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    aliases: Mapped[str] = mapped_column(Text, default="")  # ';'-separated
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    extended_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    addresses: Mapped[list[UnitAddress]] = relationship(
        back_populates="unit", cascade="all, delete-orphan", order_by="UnitAddress.id"
    )


class UnitAddress(Base):
    __tablename__ = "unit_addresses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)  # lower-case
    source: Mapped[str] = mapped_column(String(16))  # "roster" | "learned"
    learned_by: Mapped[str] = mapped_column(String(128), default="")
    learned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unit: Mapped[Unit] = relationship(back_populates="addresses")


class FolderState(Base):
    """How far a folder has been read in one UIDVALIDITY epoch."""

    __tablename__ = "folder_state"
    __table_args__ = (UniqueConstraint("account", "folder", "uidvalidity"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(255))
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_seen_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_mid_body", "message_id", "body_sha256"),
        Index("ix_messages_state", "state"),
        Index("ix_messages_unit", "unit_id"),
        one_of("state", MessageState),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(998), default="")
    size: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))  # "imap" | "import"
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(255), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default=MessageState.RECEIVED)
    reason: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    campaign_id: Mapped[str] = mapped_column(String(64), default="")
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="SET NULL"), nullable=True
    )
    assigned_by: Mapped[str] = mapped_column(String(128), default="")  # "auto" | officer name
    # who forwarded it, when it was filed by the sender of a message forwarded inside it
    forwarded_by: Mapped[str] = mapped_column(String(320), default="")
    candidates: Mapped[str] = mapped_column(Text, default="")  # JSON list
    # the campaign decision (intake.campaigns): campaign_id is a campaign's id, "other" (mail of
    # no campaign) or "" (undecided); who decided ("auto" | the officer), why, and the ranked
    # campaigns when it waits for the officer (JSON list)
    campaign_by: Mapped[str] = mapped_column(String(128), default="")
    campaign_reason: Mapped[str] = mapped_column(Text, default="")
    campaign_candidates: Mapped[str] = mapped_column(Text, default="")
    auth: Mapped[str] = mapped_column(Text, default="")  # JSON: spf/dkim/dmarc (store.facts)
    dmarc: Mapped[str] = mapped_column(String(16), default="")  # auth's DMARC verdict, queried
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unit: Mapped[Unit | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Attachment.id"
    )


class LedgerEntry(Base):
    __tablename__ = "ledger"
    __table_args__ = (
        UniqueConstraint("account", "folder", "uidvalidity", "uid"),
        Index("ix_ledger_work", "account", "folder", "uidvalidity", "state"),
        one_of("state", LedgerState),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(255))
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_fk: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), nullable=True, index=True
    )
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=LedgerState.PENDING)
    server_done: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message: Mapped[Message | None] = relationship()


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_fk: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"), nullable=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(16))
    fmt: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    items: Mapped[str] = mapped_column(String(128), default="")  # comma-separated: split_items
    photos: Mapped[int] = mapped_column(Integer, default=0)  # evidence photos it provides
    problem: Mapped[str] = mapped_column(Text, default="")
    unit_id: Mapped[int | None] = mapped_column(  # set when filed apart from its message
        ForeignKey("units.id", ondelete="SET NULL"), nullable=True, index=True
    )
    facts: Mapped[str] = mapped_column(Text, default="")  # JSON summary of parsed facts
    # set when one email carries several campaigns' files: the campaign this file counts in
    # ("" = its message's campaign, "other" = none)
    campaign_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    message: Mapped[Message] = relationship(back_populates="attachments")

    @property
    def item_keys(self) -> tuple[str, ...]:
        """The items this file provides ("report", "data_table", "photo", "nominations")."""
        return split_items(self.items)


def split_items(items: str) -> tuple[str, ...]:
    """`Attachment.items` as its keys, in stored order: the one place the column is split."""
    return tuple(filter(None, items.split(",")))


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("campaign_id", "unit_id"), one_of("state", SubmissionState))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=SubmissionState.MISSING)
    report: Mapped[bool] = mapped_column(Boolean, default=False)
    data_table: Mapped[bool] = mapped_column(Boolean, default=False)
    photos: Mapped[int] = mapped_column(Integer, default=0)
    nominations: Mapped[bool] = mapped_column(Boolean, default=False)
    total_classes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total_participants: Mapped[int | None] = mapped_column(Integer, nullable=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Campaign(Base):
    """A campaign the store has filed mail for (from the config; a store made before campaigns
    were data gets its one campaign from migration 0007)."""

    __tablename__ = "campaigns"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opens: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Heartbeat(Base):
    __tablename__ = "heartbeats"
    account: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")


class OutboxMail(Base):
    """An email to send, created in the same transaction as the decision to send it.

    UNIQUE(campaign_id, kind, unit_code, slot): a receipt per message, a reminder per unit and
    slot, a digest per day — a second decision for the same key is a no-op, so nothing is sent
    twice; delivery happens afterwards and is retried with backoff."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("campaign_id", "kind", "unit_code", "slot"),
        Index("ix_outbox_due", "state", "next_attempt_at"),
        one_of("state", OutboxState),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # receipt | reminder | overdue | digest
    unit_code: Mapped[str] = mapped_column(String(64), default="")  # "" for the digest
    slot: Mapped[str] = mapped_column(String(128))  # message id, slot key, or local date
    recipients: Mapped[str] = mapped_column(Text)  # comma-separated
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))  # our Message-ID
    blob_sha256: Mapped[str] = mapped_column(String(64))  # the built message in the file store
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebUser(Base):
    """An account of the officer's web console: `officer` may act, `viewer` only reads."""

    __tablename__ = "web_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # officer | viewer
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A console login: the cookie carries a random token (signed), only its sha256 is kept;
    `csrf` is the token every form of this session must send back."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- blobs in the file store ----------------------------------------------------------------
# Every column that names a blob in the file store (store.files). The orphan sweep (store.gc)
# keeps exactly what these name, so a new blob column must be listed here: tests/test_blobs.py
# fails for any column of any model whose name looks like a hash or a blob and is in neither
# list below.
BLOB_COLUMNS = (Message.sha256, Attachment.sha256, OutboxMail.blob_sha256)
# JSON text columns that name blobs under a key: the photo thumbnails in an attachment's facts.
BLOB_JSON_KEYS = ((Attachment.facts, "thumbnail_sha256"),)
# Hashes that name no file: a message's body hash (the dedupe of a second copy).
NOT_BLOBS = (Message.body_sha256, WebUser.password_hash, WebSession.token_hash)
