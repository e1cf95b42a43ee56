"""A campaign's own data table read from a document's grids: its rows keyed by the campaign's
columns (`[[campaigns.table.columns]]`), and the sums of the `total = true` columns. Pure: grids
in, rows out (the notifier reads the stored file, `notifier.campaigntables`).

A header row is the first row where at least two of the campaign's columns find one of their
wordings (folded: no diacritics, any case) as a whole cell, or as a phrase of two words or
more inside one; rows below it are data until the grid ends; empty rows and a totals row
("Tổng cộng", "Cộng": `parsers.table.is_totals_label`) are left out, so a unit's declared total
is never summed twice. Counts are read as every table's are (`parsers.numbers.parse_count`:
"1.200" is 1200, a fraction or a negative is no count).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.campaignconfig import TableConfig
from parsers.grid import Grid, cell_text
from parsers.numbers import parse_count
from parsers.table import is_totals_label, norm

Row = dict[str, int | str | None]


def _matches(wordings: Sequence[str], cell: str) -> bool:
    folded = norm(cell)
    if not folded:
        return False
    for w in wordings:
        fw = norm(w)
        if fw and (fw == folded or (len(fw.split()) >= 2 and f" {fw} " in f" {folded} ")):
            return True
    return False


def _header(grid: Grid, table: TableConfig) -> tuple[int, dict[str, int]] | None:
    for r, row in enumerate(grid.cells[:30]):
        where: dict[str, int] = {}
        for c in table.columns:
            for i, value in enumerate(row):
                if i not in where.values() and _matches(c.headers, cell_text(value)):
                    where[c.key] = i
                    break
        if len(where) >= min(2, len(table.columns)):
            return r, where
    return None


def read_rows(tables: Sequence[Grid], table: TableConfig) -> tuple[Row, ...]:
    """The data rows of the first grid that has the campaign's header (see the docstring)."""
    types = {c.key: c.type for c in table.columns}
    for grid in tables:
        found = _header(grid, table)
        if found is None:
            continue
        start, where = found
        rows: list[Row] = []
        for cells in grid.cells[start + 1 :]:
            values = {k: cells[i] if i < len(cells) else None for k, i in where.items()}
            texts = [cell_text(v) for v in values.values()]
            if not any(texts):
                continue
            if any(is_totals_label(norm(t)) for t in texts if t):
                continue
            row: Row = {}
            for key, value in values.items():
                row[key] = (
                    parse_count(value)[0] if types[key] == "int" else (cell_text(value) or None)
                )
            rows.append(row)
        return tuple(rows)
    return ()


def sums(rows: Sequence[Row], keys: Sequence[str]) -> dict[str, int]:
    out = dict.fromkeys(keys, 0)
    for row in rows:
        for k in keys:
            v = row.get(k)
            if isinstance(v, int):
                out[k] += v
    return out
