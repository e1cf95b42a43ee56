"""messages.body_sha256 recomputed from the raw files: the body hash now ignores trailing blank
lines (the same message saved as .eml and exported in an mbox differs only there)

The raw files are read from the file store, which `store.db.upgrade(engine, files_root=...)`
hands over in `config.attributes["files_root"]` (the application and `intake db upgrade` do).
A store that holds messages cannot be upgraded without it. A raw file that is missing keeps its
old hash (logged): that message is then found again by its bytes only.

The hash is written out here as it stood at this revision (a later change of
`parsers.mime.body_sha256` needs a migration of its own).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 09:00:00
"""

import hashlib
import logging
import re
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("store.migrations.0004")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_BATCH = 500


def _body_hash(raw: bytes, *, ignore_trailing_blank_lines: bool) -> str:
    m = _HEAD_END.search(raw)
    body = raw[m.end():].replace(b"\r\n", b"\n") if m else b""
    if ignore_trailing_blank_lines:
        body = body.rstrip(b"\n")
    return hashlib.sha256(body).hexdigest()


def _recompute(ignore_trailing_blank_lines: bool) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, sha256, body_sha256 FROM messages ORDER BY id")).all()
    if not rows:
        return
    root = context.config.attributes.get("files_root")
    if not root:
        raise RuntimeError(
            f"migration 0004 recomputes the body hash of {len(rows)} stored message(s) from their "
            "raw files and needs the file store: run `intake db upgrade` with the config, or "
            "store.db.upgrade(engine, files_root=...)"
        )
    files = Path(root)
    log.info("recomputing the body hash of %d stored message(s) from %s", len(rows), files)
    changed: list[dict[str, object]] = []
    missing = 0
    for pk, digest, old in rows:
        path = files / digest[:2] / digest[2:4] / digest
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            missing += 1
            continue
        new = _body_hash(raw, ignore_trailing_blank_lines=ignore_trailing_blank_lines)
        if new != old:
            changed.append({"h": new, "pk": pk})
        if len(changed) >= _BATCH:
            conn.execute(sa.text("UPDATE messages SET body_sha256 = :h WHERE id = :pk"), changed)
            changed = []
    if changed:
        conn.execute(sa.text("UPDATE messages SET body_sha256 = :h WHERE id = :pk"), changed)
    if missing:
        log.warning("%d message(s) have no raw file under %s: their body hash is unchanged",
                    missing, files)


def upgrade() -> None:
    _recompute(ignore_trailing_blank_lines=True)


def downgrade() -> None:
    _recompute(ignore_trailing_blank_lines=False)
