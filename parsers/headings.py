"""A table's headings: the first non-empty rows of each sheet or table (its title and header
rows), cells joined by " | ". They are what tells one campaign's table from another's
(`intake.campaigns` compares them with each campaign's columns), kept on `DocumentFacts`."""

from __future__ import annotations

from collections.abc import Sequence

from parsers.grid import Grid, cell_text

HEADING_ROWS = 6  # rows kept of each table
HEADING_TABLES = 8  # tables looked at
HEADING_CHARS = 300


def headings(tables: Sequence[Grid] | None) -> tuple[str, ...]:
    out: list[str] = []
    for grid in (tables or ())[:HEADING_TABLES]:
        kept = 0
        for row in grid.cells:
            texts = list(dict.fromkeys(t for t in (cell_text(v) for v in row) if t))
            if not texts:
                continue
            out.append(" | ".join(texts)[:HEADING_CHARS])
            kept += 1
            if kept >= HEADING_ROWS:
                break
    return tuple(out)
