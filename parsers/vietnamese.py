"""Vietnamese text realities: folding for matching, and (later) legacy encodings.

`fold` is the matching key: NFD, combining marks dropped, `đ/Đ` mapped to `d/D` (NFD does not
split them), lower-cased, whitespace collapsed. Old and new tone placement (`hoà`/`hòa`) fold to
the same key because the marks are dropped.
"""

from __future__ import annotations

import unicodedata

_D = str.maketrans({"đ": "d", "Đ": "D"})


def fold(text: str) -> str:
    """Accent-free, lower-case, single-spaced form of `text` for matching."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
