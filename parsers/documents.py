"""One attachment's bytes → `DocumentFacts`: sniff the type, then ask the readers that fit.

This is the dispatcher; the readers live in their own modules. A reader that fails yields a
`problem` on the facts, never an exception: the rest of the message is still filed.
"""

from __future__ import annotations

import logging

from parsers.facts import PHOTO, DocumentFacts, Unreadable
from parsers.sniff import sniff

log = logging.getLogger(__name__)


def read_document(data: bytes, filename: str, content_type: str = "") -> DocumentFacts:
    kind, fmt = sniff(data, filename, content_type)
    try:
        if kind == "image":
            return DocumentFacts(filename=filename, kind=kind, fmt=fmt, items=frozenset({PHOTO}))
        return DocumentFacts(filename=filename, kind=kind, fmt=fmt)
    except Unreadable as e:
        return DocumentFacts(filename=filename, kind=kind, fmt=fmt, problem=str(e))
