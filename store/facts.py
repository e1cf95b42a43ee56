"""The stored facts: the one writer and reader of the JSON the store keeps beside a row.

- `Attachment.facts`: what the parsers found in a file (parsers.facts.DocumentFacts as JSON,
  its photos' thumbnails put in the file store and named by `thumbnail_sha256`, the report's
  text cut to 20,000 characters, container members left out).
- `Attachment.items`: the item keys a file provides, comma-separated (`items_text`, and
  `store.models.split_items` to read them back).
- `Message.candidates` and `Message.campaign_candidates`: the ranked units and campaigns a
  decision weighed, as JSON lists.
- `Message.auth`: the Authentication-Results verdicts as JSON; its DMARC verdict is also the
  column `Message.dmarc`, which queries use (`auth_columns` fills both).

Readers take the stored text and never fail on an empty one.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from parsers.authres import AuthResults
from parsers.facts import DocumentFacts
from parsers.scan import PAGE_PHOTO
from store.files import FileStore

REPORT_TEXT_CHARS = 20000
_SHA256 = re.compile(r"[0-9a-f]{64}")


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
    """What `Attachment.facts` keeps of `facts`; thumbnails are put in `files`."""
    data = _jsonable(dataclasses.replace(facts, members=()))
    if facts.report is not None:
        data["report"]["text"] = facts.report.text[:REPORT_TEXT_CHARS]
    for photo, out in zip(facts.photos, data["photos"], strict=True):
        out["thumbnail_sha256"] = files.put(photo.thumbnail) if photo.thumbnail else None
    return json.dumps(data, ensure_ascii=False)


def items_text(items: Iterable[str]) -> str:
    """`Attachment.items` for these item keys (sorted, comma-separated)."""
    return ",".join(sorted(items))


def _load(text: str | None) -> dict[str, Any]:
    data = json.loads(text) if text else {}
    return data if isinstance(data, dict) else {}


def _lenient(text: str | None) -> dict[str, Any]:
    """`_load` for readers that show what they can: unreadable JSON reads as no facts."""
    try:
        return _load(text)
    except ValueError:
        return {}


def _photo_dicts(text: str | None) -> list[dict[str, Any]]:
    found = _lenient(text).get("photos")
    return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []


def photos(text: str | None) -> list[dict[str, Any]]:
    """The photos of a file's stored facts (each with sha256, evidence, thumbnail_sha256, …)."""
    return list(_load(text).get("photos") or [])


def evidence_photos(sha256: str, photo_count: int, text: str | None) -> set[str]:
    """Evidence photos an attachment provides, by content hash (the same photo attached and
    embedded in a .docx counts once); a photo file without stored photo facts is itself one."""
    found = photos(text)
    if not found:
        return {sha256} if photo_count else set()
    return {p["sha256"] for p in found if p.get("evidence", True)}


def thumbnail(text: str | None) -> str | None:
    """The file-store hash of the file's first photo thumbnail, if it has one."""
    for photo in _photo_dicts(text):
        if isinstance(photo.get("thumbnail_sha256"), str):
            return str(photo["thumbnail_sha256"])
    return None


def document_pages(text: str | None) -> int:
    """How many of the file's images are photographed document pages (parsers.scan.PAGE_PHOTO)."""
    return sum(1 for p in _photo_dicts(text) if p.get("reason") == PAGE_PHOTO)


def links(text: str | None) -> list[str]:
    """The links found in the file (photo-sharing albums, drives …), in document order."""
    found = _lenient(text).get("links")
    return [u for u in found if isinstance(u, str)] if isinstance(found, list) else []


def data_table(text: str | None) -> dict[str, Any]:
    """The data table of a file's stored facts ({} when it has none): rows, totals, source."""
    return dict(_load(text).get("data_table") or {})


def totals(text: str | None) -> tuple[int | None, int | None]:
    """(total classes, total participants) of the stored data table."""
    table = data_table(text)
    return table.get("total_classes"), table.get("total_participants")


def nominations(text: str | None) -> list[dict[str, Any]]:
    """The nomination list of a file's stored facts ([] when it has none)."""
    return list(_load(text).get("nominations") or [])


# how a sealed scan reads in the stored JSON: a cheap prefilter for queries (`sealed` decides)
SEALED_MARK = '"seal": true'


def sealed(text: str | None) -> bool:
    """Whether the file is a scan that carries a red seal (parsers.facts.Scan.seal)."""
    return (_load(text).get("scan") or {}).get("seal") is True


def named_blobs(text: str | None, key: str) -> set[str]:
    """Every file-store hash named under `key` anywhere in the stored JSON (the orphan sweep's
    view of store.models.BLOB_JSON_KEYS)."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == key and isinstance(v, str) and _SHA256.fullmatch(v):
                    yield v
                else:
                    yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)

    return set(walk(json.loads(text))) if text else set()


def unit_candidates_json(ranked: Iterable[tuple[str, float, str]]) -> str:
    """`Message.candidates`: the ranked units (code, score, why) the unit decision weighed."""
    return json.dumps(
        [{"code": code, "score": round(score, 1), "why": why} for code, score, why in ranked],
        ensure_ascii=False,
    )


def campaign_candidates_json(ranked: Iterable[tuple[str, float, str]]) -> str:
    """`Message.campaign_candidates`: the ranked campaigns (id, score, why) of the decision."""
    return json.dumps(
        [{"campaign": cid, "score": score, "why": why[:300]} for cid, score, why in ranked],
        ensure_ascii=False,
    )


def _ranked(text: str | None, key: str) -> tuple[str, ...]:
    try:
        data = json.loads(text) if text else []
    except ValueError:
        return ()
    rows = data if isinstance(data, list) else []
    return tuple(str(c[key]) for c in rows if isinstance(c, dict) and key in c)


def unit_candidates(text: str | None) -> tuple[str, ...]:
    """The unit codes of `Message.candidates`, best first."""
    return _ranked(text, "code")


def campaign_candidates(text: str | None) -> tuple[str, ...]:
    """The campaign ids of `Message.campaign_candidates`, best first."""
    return _ranked(text, "campaign")


def auth_columns(auth: AuthResults | None) -> tuple[str, str]:
    """(`Message.auth`, `Message.dmarc`) for these verdicts: the JSON and the DMARC verdict."""
    if auth is None:
        return "", ""
    return json.dumps(dataclasses.asdict(auth)), auth.dmarc[:16]


def auth_reason(text: str | None) -> str:
    """The stored verdicts as the officer reads them: 'DMARC fail, SPF pass, DKIM none'."""
    try:
        data = _load(text)
    except ValueError:
        return "DMARC fail"
    return (
        f"DMARC {data.get('dmarc') or '?'}, SPF {data.get('spf') or '?'}, "
        f"DKIM {data.get('dkim') or '?'}"
    )
