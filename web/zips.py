"""Zips of the units' files, streamed: Python's zipfile writes into a sink that the response
drains as it goes, file by file and 64 KiB at a time, so neither the zip nor a whole file is
ever held in memory (zipfile writes data descriptors when the sink cannot seek; ZIP64 on).

What goes in: every stored file of the unit's messages (and files filed apart to it), under
`<unit code>/<received date>-thu-<message number>/<file name>`; a container (a zip, a
forwarded message) whose contents were stored is left out for its contents. File names are the
sender's, made safe as `intake export` makes them (`store.safefs.safe_name`: no folders, no
`..`, none of the characters Windows refuses) and unique within their folder as Windows
compares them (`UniqueNames`), so the zip opens the same on the officer's Windows PC."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from parsers.text import clean_filename
from store.files import FileStore
from store.models import Attachment, Message, Unit
from store.safefs import UniqueNames, safe_name

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Entry:
    path: str  # inside the zip
    sha256: str
    when: datetime


class _Sink:
    """A write-only stream for zipfile; `take()` hands over what was written since."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._pos = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


def entries(s: Session, unit_ids: Iterable[int], tz: ZoneInfo) -> list[Entry]:
    """The files of these units, in unit, time and message order."""
    wanted = list(unit_ids)
    if not wanted:
        return []
    codes = {i: c for i, c in s.execute(select(Unit.id, Unit.code).where(Unit.id.in_(wanted)))}
    rows = s.execute(
        select(
            Attachment.id,
            Attachment.parent_id,
            Attachment.filename,
            Attachment.sha256,
            Attachment.unit_id,
            Message.id,
            Message.unit_id,
            Message.received_at,
        )
        .join(Message, Message.id == Attachment.message_fk)
        .where(or_(Message.unit_id.in_(wanted), Attachment.unit_id.in_(wanted)))
        .order_by(Message.received_at, Message.id, Attachment.id)
    ).all()
    parents = {r[1] for r in rows if r[1] is not None}
    out: list[Entry] = []
    folders: dict[str, UniqueNames] = {}
    for aid, _, filename, sha, apart, mid, munit, received in rows:
        owner = apart if apart is not None else munit
        if aid in parents or owner not in codes:
            continue
        folder = f"{codes[owner]}/{received.astimezone(tz):%Y-%m-%d}-thu-{mid}"
        name = safe_name(clean_filename(filename, default="tep")) or "tep"
        out.append(
            Entry(f"{folder}/{folders.setdefault(folder, UniqueNames()).take(name)}", sha, received)
        )
    return out


def stream(files: FileStore, items: list[Entry], tz: ZoneInfo) -> Iterator[bytes]:
    """The zip of `items`, in pieces; a file missing from the store is named in `THIEU-TEP.txt`
    at the end instead of breaking the download half-way."""
    sink = _Sink()
    missing: list[str] = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:  # type: ignore[call-overload]
        for item in items:
            try:
                f = files.path(item.sha256).open("rb")
            except FileNotFoundError:
                missing.append(item.path)
                continue
            local = item.when.astimezone(tz)
            info = zipfile.ZipInfo(
                item.path,
                date_time=(
                    max(local.year, 1980),
                    local.month,
                    local.day,
                    local.hour,
                    local.minute,
                    local.second,
                ),
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            with f, zf.open(info, "w", force_zip64=True) as out:
                while block := f.read(CHUNK):
                    out.write(block)
                    if piece := sink.take():
                        yield piece
            if piece := sink.take():
                yield piece
        if missing:
            zf.writestr(
                "THIEU-TEP.txt",
                "Không đọc được các tệp sau trong kho lưu trữ:\n" + "\n".join(missing) + "\n",
            )
    yield sink.take()
