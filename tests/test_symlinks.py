"""Planted symbolic links: the start-up orphan sweep walks the file store without following
them (it once deleted files outside the store through one), and `intake digest --out` refuses
to write through one. Nothing outside is written or deleted; the refusal is one line."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from intake.cli import cli
from store.files import FileStore
from tests.support.config import ROOT, make_config

HEX = "0123456789abcdef"


def _outside(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A folder outside the store shaped like a store's `ab/` level, holding three files whose
    names look like blobs no row refers to."""
    outside = tmp_path / "outside"
    victims = [outside / "cd" / (HEX[i] * 64) for i in range(3)]
    for v in victims:
        v.parent.mkdir(parents=True, exist_ok=True)
        v.write_bytes(b"someone else's file")
    return outside, victims


def test_the_sweep_follows_no_link_out_of_the_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fs = FileStore(tmp_path / "files")
    keep = fs.put(b"referenced")
    orphan = fs.path(fs.put(b"orphan"))
    outside, victims = _outside(tmp_path)
    (fs.root / "ab").symlink_to(outside, target_is_directory=True)  # a folder link
    lone = tmp_path / "lone"
    lone.write_bytes(b"also not ours")
    planted = fs.path("ef" * 32)
    planted.parent.mkdir(parents=True)
    planted.symlink_to(lone)  # a blob-shaped file link
    with caplog.at_level(logging.WARNING, logger="store.files"):
        removed = fs.sweep(keep={keep})
    assert removed == 1 and not orphan.exists() and fs.exists(keep)
    assert all(v.read_bytes() == b"someone else's file" for v in victims)
    assert lone.read_bytes() == b"also not ours" and planted.is_symlink()
    refusals = [r.getMessage() for r in caplog.records if "symbolic link" in r.getMessage()]
    assert len(refusals) == 2 and all("\n" not in m for m in refusals)


def test_the_startup_sweep_through_the_store_deletes_nothing_outside(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from store.db import open_store
    from store.gc import sweep_orphans

    engine, sessions = open_store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    fs = FileStore(tmp_path / "files")
    outside, victims = _outside(tmp_path)
    (fs.root / "ab").symlink_to(outside, target_is_directory=True)
    later = datetime(2100, 1, 1, tzinfo=UTC)  # every file is old enough to go
    assert sweep_orphans(sessions, fs, later) == 0
    assert all(v.exists() for v in victims)
    engine.dispose()


def _digest_args(tmp_path: Path, out: Path) -> list[str]:
    cfg = make_config(tmp_path)
    return ["--config", cfg.source, "digest", "--out", str(out), "--at", "2021-10-05T09:00"]


@pytest.mark.parametrize("planted", ["html", "xlsx"])
def test_digest_out_refuses_a_link_and_writes_nothing(tmp_path: Path, planted: str) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"not yours")
    out = tmp_path / "digest.html"
    out.with_suffix(f".{planted}").symlink_to(victim)
    r = CliRunner().invoke(cli, _digest_args(tmp_path, out))
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: cannot write the digest") and "symbolic link" in line
    assert victim.read_bytes() == b"not yours"
    assert not (out.with_suffix(".xlsx").exists() and not out.with_suffix(".xlsx").is_symlink())
    assert out.is_symlink() or not out.exists()


def test_digest_out_writes_both_files_when_no_link_is_there(tmp_path: Path) -> None:
    out = tmp_path / "digest.html"
    r = CliRunner().invoke(cli, _digest_args(tmp_path, out))
    assert r.exit_code == 0, r.output
    assert "<html" in out.read_text(encoding="utf-8").lower()
    assert out.with_suffix(".xlsx").read_bytes().startswith(b"PK")


def test_digest_refusal_reaches_a_terminal_as_one_line(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"not yours")
    out = tmp_path / "digest.html"
    out.symlink_to(victim)
    p = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "intake"), *_digest_args(tmp_path, out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr
    (line,) = p.stderr.strip().splitlines()
    assert "symbolic link" in line and victim.read_bytes() == b"not yours"
