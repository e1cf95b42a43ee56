"""`intake export`: the consolidated workbook and one folder per unit with the files it sent
(report, table, photos, nominations), named by their original (cleaned) names, for archiving.

Per campaign: the workbook has each campaign's sheets, its data in the columns of the
campaign's own table (`[[campaigns.table.columns]]`, `total = true` columns summed;
`notifier.workbook.build_campaigns_workbook`). With one campaign the unit folders sit at the top
of `--out`, as always; with several, each campaign has a folder (named by its id) holding its
unit folders, and a file counts where it was filed (a file placed apart goes to its own
campaign). Other mail is not exported.

Names are made to fit: at most 255 bytes of UTF-8 (`store.safefs.fit_name`, extension kept),
no `/`, `\\` or characters Windows refuses, and unique per folder and across unit folders even
when two cleaned names only differ in case (the archive is often copied to a USB stick). Each
unit's folder starts with its code, so two units never share one. Nothing below `--out` is
followed through a symbolic link (`store.safefs.SafeDir`). A file that cannot be written is a
line in `ExportResult.failures` and the export goes on; only a full or read-only disk, or an
output folder that cannot be opened, stops it (`ExportError`).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from core.errors import IntakeError
from intake.campaignstatus import status_for
from notifier.service import campaign_book
from notifier.workbook import build_campaigns_workbook
from parsers.text import clean_filename
from store.models import Attachment, Message, MessageState, Unit
from store.safefs import LinkRefused, SafeDir, UniqueNames, safe_name
from store.submissions import in_campaign

if TYPE_CHECKING:
    from intake.app import App

_FATAL = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


class ExportError(IntakeError):
    """The export cannot go on: the output folder cannot be opened, or the disk is full or
    read-only."""


@dataclass
class ExportResult:
    out: Path
    workbook: str = ""
    units: int = 0
    files: int = 0
    failures: list[str] = field(default_factory=list)  # "<path under out>: <reason>", one each


def _why(e: OSError) -> str:
    if isinstance(e, LinkRefused):
        return "is a symbolic link; not followed, nothing written"
    return e.strerror or str(e)


def _stop(out: Path, e: OSError) -> ExportError:
    return ExportError(
        f"export to {out} stopped: {e.strerror or e}; free space or choose another --out"
    )


def export_all(app: App, out: Path) -> ExportResult:
    result = ExportResult(out)
    try:
        root = SafeDir.open(out, create=True)
    except OSError as e:
        raise ExportError(
            f"cannot write the export to {out}: {e.strerror or e}; "
            f"give --out a folder you can write to"
        ) from e
    with root:
        _export(app, root, result)
    return result


def _export(app: App, root: SafeDir, result: ExportResult) -> None:
    now = app.clock.now()
    campaigns = app.cfg.campaigns
    files: list[tuple[str, list[Any]]] = []
    with app.sessions() as s:
        books = [campaign_book(s, app.files, c, status_for(s, c, now)) for c in campaigns]
        workbook = build_campaigns_workbook(books, now=now)
        for c in campaigns:
            owner = func.coalesce(Attachment.unit_id, Message.unit_id)
            files.append(
                (
                    c.id,
                    list(
                        s.execute(
                            select(
                                Unit.id,
                                Unit.code,
                                Unit.name,
                                Attachment.sha256,
                                Attachment.filename,
                            )
                            .select_from(Message)
                            .join(Attachment, Attachment.message_fk == Message.id)
                            .join(Unit, Unit.id == owner)
                            .where(Message.state == MessageState.FILED, in_campaign(c.id))
                            .order_by(Unit.code, Unit.id, Message.received_at, Attachment.id)
                        ).all()
                    ),
                )
            )
    folders = UniqueNames()
    tag = campaigns[0].id if len(campaigns) == 1 else "cac-ke-hoach"
    result.workbook = folders.take(safe_name(f"tong-hop-{tag}") + ".xlsx")
    try:
        root.write(result.workbook, workbook)
    except OSError as e:
        if e.errno in _FATAL and not isinstance(e, LinkRefused):
            raise _stop(result.out, e) from e
        result.failures.append(f"{result.workbook}: {_why(e)}")
    if len(files) == 1:
        _unit_folders(app, root, "", folders, files[0][1], result)
        return
    for cid, rows in files:
        name = folders.take(safe_name(cid) or "ke-hoach")
        try:
            sub = root.subdir(name)
        except OSError as e:
            if e.errno in _FATAL and not isinstance(e, LinkRefused):
                raise _stop(result.out, e) from e
            result.failures.append(f"{name}/: {_why(e)}")
            continue
        with sub:
            _unit_folders(app, sub, f"{name}/", UniqueNames(), rows, result)


def _unit_folders(
    app: App, root: SafeDir, where: str, folders: UniqueNames, rows: list[Any], result: ExportResult
) -> None:
    """One folder per unit under `root` (`where` is its path under --out, for the failures)."""
    app.progress.start("exporting", len(rows))
    current: tuple[int, SafeDir | None, str, UniqueNames] | None = None
    try:
        for unit_id, code, name, sha, filename in rows:
            if current is None or current[0] != unit_id:
                if current is not None and current[1] is not None:
                    current[1].close()
                folder_name = folders.take(safe_name(f"{code} - {name}") or "don-vi")
                try:
                    folder: SafeDir | None = root.subdir(folder_name)
                    result.units += 1
                except OSError as e:
                    if e.errno in _FATAL and not isinstance(e, LinkRefused):
                        raise _stop(result.out, e) from e
                    folder = None
                    result.failures.append(f"{where}{folder_name}/: {_why(e)}")
                current = (unit_id, folder, folder_name, UniqueNames())
            _, folder, folder_name, names = current
            app.progress.advance()
            if folder is None:
                continue  # the folder's one line says why
            target = names.take(
                safe_name(clean_filename(filename, default="tep-dinh-kem")) or "tep-dinh-kem"
            )
            try:
                blob = app.files.get(sha)
            except OSError as e:
                result.failures.append(
                    f"{where}{folder_name}/{target}: its stored copy {sha[:12]}… "
                    f"cannot be read ({e.strerror or e})"
                )
                continue
            try:
                folder.write(target, blob)
            except OSError as e:
                if e.errno in _FATAL and not isinstance(e, LinkRefused):
                    raise _stop(result.out, e) from e
                result.failures.append(f"{where}{folder_name}/{target}: {_why(e)}")
                continue
            result.files += 1
    finally:
        if current is not None and current[1] is not None:
            current[1].close()
        app.progress.finish()
