"""The README's Layout section cannot go stale: every package and module it names exists, and
every top-level package of the repository is named there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _layout(text: str | None = None) -> dict[str, list[str]]:
    """{package: [names after the colon]} from the code block under '## Layout'."""
    if text is None:
        text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout\n", 1)[1]
    block = section.split("```\n", 2)[1]
    packages: dict[str, str] = {}
    current = ""
    for line in block.splitlines():
        m = re.match(r"^([a-z_]+)/\s+(.*)$", line)
        if m:
            current = m.group(1)
            packages[current] = m.group(2)
        elif line.strip() and current:
            packages[current] += " " + line.strip()
    out = {}
    for package, prose in packages.items():
        listed = prose.split(":", 1)[1]
        while re.search(r"\([^()]*\)", listed):
            listed = re.sub(r"\([^()]*\)", "", listed)  # notes, nested ones too
        out[package] = [item.strip() for item in listed.split(",") if item.strip()]
    return out


def _packages() -> set[str]:
    return {p.parent.name for p in ROOT.glob("*/__init__.py")}


def _missing(layout: dict[str, list[str]]) -> list[str]:
    return [
        f"{package}/{name}"
        for package, names in layout.items()
        for name in names
        if not (
            (ROOT / package / f"{name}.py").is_file()
            or (ROOT / package / name.rstrip("/")).is_dir()
        )
    ]


def test_every_name_in_the_layout_exists() -> None:
    layout = _layout()
    assert _missing(layout) == [], "README Layout names what does not exist"
    assert all(names for names in layout.values())


def test_every_package_is_in_the_layout() -> None:
    layout = _layout()
    assert _packages() - set(layout) == set(), "a package the README Layout does not name"
    assert set(layout) - _packages() == set(), "a package the README Layout names that is not one"


def test_a_stale_layout_is_caught() -> None:
    """The reader itself: a renamed module and a note with a comma and nested parentheses."""
    stale = (
        "# x\n\n## Layout\n\n```\nstore/     the store, files: models (states (StrEnums), "
        "checked), facts,\n           ledgerr\n```\n"
    )
    layout = _layout(stale)
    assert layout == {"store": ["models", "facts", "ledgerr"]}
    assert _missing(layout) == ["store/ledgerr"]
