"""`intake export`: names fit in 255 bytes of UTF-8 with their extension, every unit gets its
own folder (slashes in names, codes that clean to the same text), and one file that cannot be
written is a line in the result and the output, not the end of the export."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.clock import FixedClock
from intake.app import App
from intake.cli import cli
from intake.export import export_all
from store.safefs import NAME_MAX, fit_name
from tests.support.config import make_config
from tests.support.docgen_media import phone_jpeg
from tests.support.unitmail import unit_mail

# Two units whose codes differ only in "/" vs "-" (they clean to the same folder name), and a
# name with a slash in it.
ROSTER = """code,name,kind,emails,aliases
th/kim-an,Trường Tiểu học Kim An/Kim Bài,th,th-a@thanhoai.example,
th-kim-an,Trường Tiểu học Kim An/Kim Bài,th,th-b@thanhoai.example,
thcs-thanh-mai,Trường THCS Thanh Mai,thcs,thcs-thanh-mai@thanhoai.example,
"""

# 237 characters: the old 180-character cut still left 272 bytes of UTF-8 ("File name too
# long"); the NFD spelling (Apple Mail) is longer still
LONG = "Ảnh hoạt động hưởng ứng Tuần lễ học tập suốt đời ở trường " * 4


def _mail(n: int, sender: str, names: list[str]) -> bytes:
    """Mail `n` from `sender` dated 06/10: a small phone photo under each of `names`."""
    return unit_mail(
        n,
        sender,
        subject="Báo cáo Tuần lễ học tập suốt đời",
        body="Kính gửi Phòng GD&ĐT,\nTrường gửi ảnh minh chứng.\n",
        attachments=[
            (name, phone_jpeg(100 * n + i, size=(64, 48))[0], "image/jpeg")
            for i, name in enumerate(names)
        ],
        tag="export",
        date="Wed, 06 Oct 2021 10:00:00 +0700",
    )


@pytest.fixture
def filed(tmp_path: Path, db_url: str, clock: FixedClock) -> Iterator[App]:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    app = App(
        make_config(tmp_path, db_url, units={"roster": str(roster)}, limits={"parse_workers": 0}),
        clock,
    )
    app.import_roster(roster)
    mails = [
        _mail(1, "th-a@thanhoai.example", ["Ảnh 1.jpg"]),
        _mail(2, "th-b@thanhoai.example", ["Ảnh 1.jpg"]),
        _mail(
            3,
            "thcs-thanh-mai@thanhoai.example",
            [LONG + "1.jpg", unicodedata.normalize("NFD", LONG) + "2.jpg", "ảnh.jpg", "ẢNH.jpg"],
        ),
    ]
    folder = tmp_path / "mail"
    folder.mkdir()
    for i, raw in enumerate(mails):
        (folder / f"{i}.eml").write_bytes(raw)
    assert app.import_paths([folder]).stored == 3
    try:
        yield app
    finally:
        app.close()


def test_fit_name_bounds_bytes_keeps_the_extension_and_whole_letters() -> None:
    name = "Tổng hợp số liệu " * 40 + ".xlsx"
    fitted = fit_name(name)
    assert len(fitted.encode()) <= NAME_MAX and fitted.endswith(".xlsx")
    assert fitted == unicodedata.normalize("NFC", fitted)
    nfd = unicodedata.normalize("NFD", "Ảnh hoạt động " * 40) + ".jpg"
    cut = fit_name(nfd, suffix=" (2)")
    assert len(cut.encode()) <= NAME_MAX and cut.endswith(" (2).jpg")
    # never a base letter without its marks: the cut text is a prefix of whole clusters
    stem = cut[: -len(" (2).jpg")]
    assert not unicodedata.combining(nfd[len(stem)]) and nfd.startswith(stem)
    assert fit_name("short.pdf") == "short.pdf"


def test_export_gives_every_unit_its_own_folder_and_names_that_fit(
    filed: App, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    r = export_all(filed, out)
    assert r.failures == [] and r.units == 3 and r.files == 6
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == 3  # the two Kim An units do not share one
    assert {f.casefold() for f in folders} == {f.casefold() for f in set(folders)}
    assert all("/" not in f for f in folders)
    assert any(f.startswith("th-kim-an - ") and "Kim An-Kim Bài" in f for f in folders)
    mai = out / next(f for f in folders if f.startswith("thcs-thanh-mai"))
    names = sorted(p.name for p in mai.iterdir())
    assert len(names) == 4
    assert all(len(os.fsencode(n)) <= NAME_MAX and n.endswith(".jpg") for n in names)
    # case-insensitive twins stay apart (the archive goes onto USB sticks)
    assert len({n.casefold() for n in names}) == 4
    assert (out / r.workbook).is_file()
    again = export_all(filed, out)  # a second export over the first replaces, adds nothing
    assert again.failures == [] and sorted(p.name for p in mai.iterdir()) == names


def test_a_file_that_cannot_be_written_is_reported_and_the_rest_exported(
    filed: App, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from store.models import Attachment

    with filed.sessions() as s:
        sha = s.scalars(select(Attachment.sha256).where(Attachment.filename == "ảnh.jpg")).one()
    filed.files.path(sha).unlink()  # its stored copy is gone
    r = export_all(filed, tmp_path / "export")
    assert r.files == 5 and len(r.failures) == 1
    assert "ảnh.jpg" in r.failures[0] and "cannot be read" in r.failures[0]
    cfg = filed.cfg.source
    res = CliRunner().invoke(cli, ["--config", cfg, "export", "--out", str(tmp_path / "again")])
    assert res.exit_code == 1, res.output
    assert "5 file(s), 1 not written" in res.stdout
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("error: ") and "ảnh.jpg" in line


def test_links_planted_in_the_export_folder_are_refused_and_nothing_outside_is_written(
    filed: App, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.xlsx"
    victim.write_bytes(b"not yours")
    out = tmp_path / "export"
    out.mkdir()
    (out / "tong-hop-tuan-le-htsd-2021.xlsx").symlink_to(victim)
    (out / "th-kim-an - Trường Tiểu học Kim An-Kim Bài").symlink_to(
        outside, target_is_directory=True
    )
    mai = out / "thcs-thanh-mai - Trường THCS Thanh Mai"
    mai.mkdir()
    (mai / "ảnh.jpg").symlink_to(outside / "photo.jpg")  # dangling: a write would create it
    res = CliRunner().invoke(cli, ["--config", filed.cfg.source, "export", "--out", str(out)])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 3 and all(
        line.startswith("error: ") and "symbolic link" in line for line in lines
    )
    assert sorted(p.name for p in outside.iterdir()) == ["victim.xlsx"]
    assert victim.read_bytes() == b"not yours"
    assert (mai / "ảnh.jpg").is_symlink()  # left alone, not replaced either
    assert len([p for p in mai.iterdir() if not p.is_symlink()]) == 3  # the other files came
