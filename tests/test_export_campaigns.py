"""`intake export` with two campaigns (issue 15 item 5): a folder per campaign holding its unit
folders, each file where it was filed (one email's files split between the campaigns), other
mail nowhere, and the workbook with each campaign's own table columns summed."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl

from intake.export import export_all
from tests.support.campaignmail import (
    UNITS,
    both_mail,
    campaigns_app,
    covid_mail,
    stats_mail,
    week_mail,
    write_mails,
)

HN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_export_gives_each_campaign_its_folders_and_its_own_table(
    tmp_path: Path, db_url: str
) -> None:
    with campaigns_app(tmp_path / "store", db_url) as app:
        app.clock.set(datetime(2021, 10, 12, 8, 0, tzinfo=HN))  # type: ignore[attr-defined]
        app.import_paths(
            [
                write_mails(
                    tmp_path,
                    "mail",
                    [
                        week_mail("thcs-bich-hoa", 1),
                        stats_mail("thcs-cao-duong", 10),
                        both_mail("thcs-thanh-mai", 20),
                        covid_mail("th-bich-hoa", 21),
                    ],
                )
            ]
        )
        result = export_all(app, tmp_path / "out")
    out = tmp_path / "out"
    assert result.failures == []
    assert sorted(p.name for p in out.iterdir()) == [
        "thong-ke-dau-nam-2021",
        "tong-hop-cac-ke-hoach.xlsx",
        "tuan-le-htsd-2021",
    ]

    def files(campaign: str, code: str) -> set[str]:
        (folder,) = [p for p in (out / campaign).iterdir() if p.name.startswith(f"{code} - ")]
        return {p.name for p in folder.iterdir()}

    assert {p.name.split(" - ")[0] for p in (out / "tuan-le-htsd-2021").iterdir()} == {
        "thcs-bich-hoa",
        "thcs-thanh-mai",
    }
    assert {p.name.split(" - ")[0] for p in (out / "thong-ke-dau-nam-2021").iterdir()} == {
        "thcs-cao-duong",
        "thcs-thanh-mai",
    }
    # one email, two campaigns: the statistics table in its campaign only, the week's files in
    # the week
    name = UNITS["thcs-thanh-mai"].name
    assert files("thong-ke-dau-nam-2021", "thcs-thanh-mai") == {"Thong ke dau nam 2021-2022.xlsx"}
    week = files("tuan-le-htsd-2021", "thcs-thanh-mai")
    assert f"Tổng hợp số liệu {name}.xlsx" in week and "Thong ke dau nam 2021-2022.xlsx" not in week
    # other mail is exported nowhere
    assert not any("th-bich-hoa - " in str(p) for p in out.rglob("*"))
    wb = openpyxl.load_workbook(
        io.BytesIO((out / "tong-hop-cac-ke-hoach.xlsx").read_bytes()), read_only=True
    )
    stats = [r for r in wb.worksheets[2].iter_rows(values_only=True) if any(r)]
    assert stats[-1][1:] == (
        "TỔNG CỘNG",
        None,
        18,
        738,
        42,
    )  # 2 schools × (9 classes, 369 pupils, 21 teachers)
    units = {r[1] for r in stats if len(r) > 1 and r[1] and str(r[0] or "").isdigit()}
    assert units == {UNITS["thcs-cao-duong"].name, name}
