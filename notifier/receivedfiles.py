"""What one filed message brought, as its receipt tells the unit: each file once, with every
role it plays (a .docx can be the report, the data table and the photos at once), what a zip
or a forwarded message held, why a file was refused (from the stored problem, in Vietnamese),
links to photos kept on Drive or Google Photos (which cannot be counted), and whether the
letter goes to an address that only relayed the unit's mail. A photographed document page
(an image, or one pasted into a .docx) is named "ảnh chụp văn bản": never an evidence photo.

`files_of(rows)` is pure over the stored attachment rows; `received(s, files, message)` reads
them, the message's body links and the relay from the store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.filereasons import named_problems
from notifier.render import item_label
from parsers.facts import ITEMS, PHOTO
from parsers.lift import lift
from parsers.links import extract_links, photo_service
from parsers.mime import MalformedMessage, parse_message
from parsers.text import clean_filename
from store import facts
from store.files import FileStore
from store.models import Attachment, Message, Unit, UnitAddress

log = logging.getLogger(__name__)

CONTAINERS = {"archive": "tệp nén", "email": "thư chuyển tiếp"}
PAGE_LABEL = "ảnh chụp văn bản"
_FORWARD_SUBJECT = ("fwd:", "fw:", "tl:", "chuyển tiếp:", "ct:")


@dataclass(frozen=True)
class ReceivedFile:
    """One file of the message (or of a container in it), as the unit is told about it."""

    name: str
    items: tuple[str, ...] = ()  # item keys it provides, in ITEMS order
    photos: int = 0  # evidence photos it provides
    container: str = ""  # "tệp nén" | "thư chuyển tiếp" | "" (not a container)
    members: tuple[ReceivedFile, ...] = ()  # what the container held, each once
    problems: tuple[str, ...] = ()  # why (part of) it was not read, in Vietnamese
    pages: int = 0  # photographed document pages it is (an image) or holds (a .docx)
    image: bool = False

    @property
    def description(self) -> str:
        """The rest of its line after "NAME: " in the letter."""
        if self.container:
            head = (
                f"{self.container}, gồm {len(self.members)} tệp"
                if self.members
                else (f"{self.container}, không lấy được tệp nào bên trong")
            )
            return "; ".join((head, *self.problems))
        said = self.roles + self.problems
        return "; ".join(said) if said else "chưa xác định được nội dung"

    @property
    def roles(self) -> tuple[str, ...]:
        """Its roles in Vietnamese: "Báo cáo …", "Bảng tổng hợp số liệu", "Hình ảnh minh chứng
        (3 ảnh)" for a document holding photos."""
        out = []
        for item in self.items:
            label = item_label(item)
            if item == PHOTO and self.photos > 1:
                label = f"{label} ({self.photos} ảnh)"
            out.append(label)
        if self.pages and self.image:
            out.insert(0, PAGE_LABEL)
        elif self.pages:
            out.append(f"{self.pages} {PAGE_LABEL} (không tính là ảnh minh chứng)")
        return tuple(out)


@dataclass(frozen=True)
class PhotoLink:
    url: str
    service: str  # "Google Drive", "Google Photos", …


@dataclass(frozen=True)
class Relay:
    """The letter goes to an address that forwarded the unit's mail, not to the unit's own."""

    address: str
    name: str  # the relay's display name or its unit's name ("" when unknown)


@dataclass(frozen=True)
class Received:
    files: tuple[ReceivedFile, ...] = ()
    photo_links: tuple[PhotoLink, ...] = ()
    relay: Relay | None = None


@dataclass(frozen=True)
class Row:
    """What the receipt needs of one stored attachment."""

    id: int
    parent_id: int | None
    filename: str
    kind: str
    items: str  # comma-separated item keys
    photos: int
    problem: str
    pages: int = 0  # photographed document pages (from the stored facts)


def _order(items: Iterable[str]) -> tuple[str, ...]:
    got = set(items)
    return tuple(i for i in ITEMS if i in got) + tuple(sorted(got - set(ITEMS)))


def files_of(rows: Sequence[Row]) -> tuple[ReceivedFile, ...]:
    """The message's files as a tree: top-level files in order, each container with its
    members. A file named twice in one container (the same photo attached and embedded) is
    listed once, with its roles merged."""
    children: dict[int | None, list[Row]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)

    def build(row: Row, depth: int) -> ReceivedFile:
        inner = [build(c, depth + 1) for c in children.get(row.id, ())] if depth < 8 else []
        container = CONTAINERS.get(row.kind, "")
        own: list[str] = []
        for name, said in named_problems(row.problem):
            if name and container:  # a member the container held but could not give
                inner.append(ReceivedFile(clean_filename(name), problems=(said,)))
            else:
                own.append(f"{name}: {said}" if name else said)
        items = _order(i for i in row.items.split(",") if i)
        photos = row.photos + sum(m.photos for m in inner)
        return ReceivedFile(
            name=clean_filename(row.filename),
            items=items,
            photos=photos,
            container=container,
            members=_merge(inner),
            problems=tuple(own),
            pages=row.pages,
            image=row.kind == "image",
        )

    return _merge(build(r, 0) for r in children.get(None, ()))


def _merge(files: Iterable[ReceivedFile]) -> tuple[ReceivedFile, ...]:
    out: dict[str, ReceivedFile] = {}
    for f in files:
        seen = out.get(f.name)
        if seen is None or f.container or seen.container:
            out[f.name if seen is None else f"{f.name}\0{len(out)}"] = f
            continue
        out[f.name] = ReceivedFile(
            f.name,
            _order(seen.items + f.items),
            max(seen.photos, f.photos),
            "",
            (),
            tuple(dict.fromkeys(seen.problems + f.problems)),
            max(seen.pages, f.pages),
            seen.image and f.image,
        )
    return tuple(out.values())


def body_links(raw: bytes) -> tuple[str, ...]:
    """The links in a message's own text (the body is not stored apart from the raw mail;
    large attachments are lifted out first, so this costs the text, not the files)."""
    lifted = lift(raw)
    try:
        parsed = parse_message(lifted.skeleton if lifted is not None else raw)
    except MalformedMessage:
        return ()
    return extract_links(parsed.text)


def photo_links(urls: Iterable[str]) -> tuple[PhotoLink, ...]:
    seen: dict[str, PhotoLink] = {}
    for url in urls:
        service = photo_service(url)
        if service and url not in seen:
            seen[url] = PhotoLink(url, service)
    return tuple(seen.values())


def is_forward(msg: Message, rows: Sequence[Row]) -> bool:
    """A forward: a message forwarded as an attachment, or one whose subject says so."""
    if msg.forwarded_by or any(r.parent_id is None and r.kind == "email" for r in rows):
        return True
    return (msg.subject or "").strip().lower().startswith(_FORWARD_SUBJECT)


def relay_of(s: Session, msg: Message, rows: Sequence[Row], to: str) -> Relay | None:
    """When `to` (the message's sender) forwarded the mail and is not on the roster of the unit
    it was filed to — the officer assigned a relayed mail, and `intake assign` taught the
    relay's address — the letter must say it goes to the relay, not to the unit."""
    if msg.unit_id is None or not is_forward(msg, rows):
        return None
    address = to.strip().lower()
    own = s.scalar(select(UnitAddress).where(UnitAddress.address == address))
    if own is not None and own.unit_id == msg.unit_id and own.source == "roster":
        return None
    name = msg.from_name.strip()
    if own is not None and own.unit_id != msg.unit_id:
        other = s.get(Unit, own.unit_id)
        name = other.name if other is not None else name
    return Relay(address, name)


def received(s: Session, files: FileStore, msg: Message, *, raw: bytes | None = None) -> Received:
    """What the receipt of `msg` says it brought (see the module docstring)."""
    rows = [
        Row(
            a.id,
            a.parent_id,
            a.filename,
            a.kind,
            a.items,
            a.photos,
            a.problem,
            facts.document_pages(a.facts),
        )
        for a in s.scalars(
            select(Attachment).where(Attachment.message_fk == msg.id).order_by(Attachment.id)
        )
    ]
    urls = [
        u
        for (text,) in s.execute(
            select(Attachment.facts).where(Attachment.message_fk == msg.id).order_by(Attachment.id)
        )
        for u in facts.links(text)
    ]
    try:
        urls = list(body_links(raw if raw is not None else files.get(msg.sha256))) + urls
    except OSError:
        log.warning("message %d: raw mail unreadable; its body links are not shown", msg.id)
    return Received(files_of(rows), photo_links(urls), relay_of(s, msg, rows, msg.from_addr))
