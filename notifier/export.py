"""`intake export`: the consolidated workbook and one folder per unit with the files it sent
(report, table, photos, nominations), named by their original (cleaned) names, for archiving."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from notifier.workbook import build_workbook
from parsers.text import clean_filename
from store.models import Attachment, Message, Unit
from store.queries import unit_data

if TYPE_CHECKING:
    from intake.app import App


def export_all(app: App, out: Path) -> tuple[int, int]:
    out.mkdir(parents=True, exist_ok=True)
    now = app.clock.now()
    status = app.status()
    with app.sessions() as s:
        data = unit_data(s, app.cfg.campaign.id)
        (out / f"tong-hop-{app.cfg.campaign.id}.xlsx").write_bytes(build_workbook(status, data, now=now))
        units = 0
        files = 0
        rows = s.execute(
            select(Unit.code, Unit.name, Attachment.sha256, Attachment.filename)
            .join(Message, Message.unit_id == Unit.id)
            .join(Attachment, Attachment.message_fk == Message.id)
            .where(Message.state == "filed", Message.campaign_id == app.cfg.campaign.id)
            .order_by(Unit.code, Message.received_at, Attachment.id)
        ).all()
    seen: dict[str, set[str]] = {}
    app.progress.start("exporting", len(rows))
    for code, name, sha, filename in rows:
        folder = out / clean_filename(f"{code} - {name}")
        if code not in seen:
            folder.mkdir(exist_ok=True)
            seen[code] = set()
            units += 1
        target = clean_filename(filename)
        stem, dot, ext = target.rpartition(".")
        n = 1
        while target in seen[code]:
            n += 1
            target = f"{stem} ({n}).{ext}" if dot else f"{filename} ({n})"
        seen[code].add(target)
        (folder / target).write_bytes(app.files.get(sha))
        files += 1
        app.progress.advance()
    app.progress.finish()
    return units, files
