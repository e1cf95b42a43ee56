"""The officer's words (issue 16 items 4 and 10): `intake status` in Vietnamese with "quá hạn"
apart from "nộp muộn" (and `overdue` in the JSON, `late` unchanged), `units extend` taking a date
as Vietnamese write it, and one order of units everywhere: kind, then name in Vietnamese
collation."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

from click.testing import CliRunner

from intake.cli import cli
from parsers.vietnamese import collation_key
from tests.support.config import ROSTER, make_config
from tests.support.docgen_media import phone_jpeg


def test_vietnamese_collation_orders_letters_then_tones() -> None:
    names = [
        "Ứng Hòa",
        "Uy Nỗ",
        "Đỗ Động",
        "Dân Hòa",
        "Bình Minh",
        "Bích Hòa",
        "Cao Viên",
        "Cao Dương",
        "Hóa",
        "Hoa",
        "Hòa",
        "Ân",
        "Ăn",
        "An",
        "Tân Ước",
        "Tam Hưng",
        "Thanh Cao",
    ]
    assert sorted(names, key=collation_key) == [
        "An",
        "Ăn",
        "Ân",
        "Bích Hòa",
        "Bình Minh",
        "Cao Dương",
        "Cao Viên",
        "Dân Hòa",
        "Đỗ Động",
        "Hoa",
        "Hòa",
        "Hóa",
        "Tam Hưng",
        "Tân Ước",
        "Thanh Cao",
        "Uy Nỗ",
        "Ứng Hòa",
    ]
    assert collation_key("Hoà") == collation_key("Hòa")  # old and new tone placement
    assert collation_key("bích hòa")[0] == collation_key("BÍCH HÒA")[0]


def _eml(tmp_path: Path) -> Path:
    m = EmailMessage()
    m["From"] = "Trường Tiểu học Kim An <th-kim-an@thanhoai.example>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = "Báo cáo Tuần lễ học tập suốt đời - TH Kim An"
    m["Message-ID"] = "<words-1@thanhoai.example>"
    m["Date"] = "Wed, 06 Oct 2021 10:00:00 +0700"
    m.set_content("Kính gửi Phòng GD&ĐT,\nTrường TH Kim An gửi ảnh.\n")
    m.add_attachment(
        phone_jpeg(1, size=(320, 240))[0], maintype="image", subtype="jpeg", filename="Ảnh 1.jpg"
    )
    p = tmp_path / "m.eml"
    p.write_bytes(bytes(m))
    return p


def test_status_says_overdue_for_units_past_the_deadline_and_sorts_by_kind_then_name(
    tmp_path: Path,
) -> None:
    cfg = make_config(tmp_path)
    base = ["--config", cfg.source]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "units", "import", str(ROSTER)]).exit_code == 0
    assert runner.invoke(cli, [*base, "import", str(_eml(tmp_path))]).exit_code == 0
    r = runner.invoke(cli, [*base, "units", "extend", "th-kim-bai", "15/10/2099"])
    assert r.exit_code == 0, r.output
    assert (
        r.output.strip() == "th-kim-bai (Trường Tiểu học Kim Bài): hạn nộp mới hết ngày 15/10/2099"
    )

    data = json.loads(runner.invoke(cli, [*base, "status", "--json"]).output)
    units = {u["code"]: u for u in data["units"]}
    # the 2021 deadline has passed: sent nothing or not enough is "overdue"; `late` as documented
    assert units["th-kim-an"]["state"] == "incomplete"
    assert units["th-kim-an"]["overdue"] is True and units["th-kim-an"]["late"] is True
    assert units["thcs-kim-bai"]["overdue"] is True
    assert units["th-kim-bai"]["overdue"] is False  # extended to 2099
    assert units["th-kim-bai"]["deadline"] == "2099-10-15T17:00:00+00:00"
    kinds = [u["kind"] for u in data["units"]]
    assert kinds == sorted(
        kinds, key=["ubnd", "htcd", "mn", "th", "thcs", "thpt", "gdnn-gdtx"].index
    )
    for kind in set(kinds):
        names = [u["name"] for u in data["units"] if u["kind"] == kind]
        assert names == sorted(names, key=collation_key), kind
    th = [u["name"] for u in data["units"] if u["kind"] == "th"]
    assert th.index("Trường Tiểu học Bích Hòa") < th.index("Trường Tiểu học Bình Minh")
    assert th.index("Trường Tiểu học Dân Hòa") < th.index("Trường Tiểu học Đỗ Động")

    r = runner.invoke(cli, [*base, "status"])
    assert r.exit_code == 0, r.output
    out = r.output
    assert "hạn nộp trước ngày 10/10/2021" in out
    assert "MÃ ĐƠN VỊ" in out and "TÌNH TRẠNG" in out and "GỬI LẦN ĐẦU" in out
    kim_an = next(line for line in out.splitlines() if line.startswith("th-kim-an "))
    assert " chưa đủ " in kim_an and " quá hạn " in kim_an
    kim_bai = next(line for line in out.splitlines() if line.startswith("th-kim-bai "))
    assert " chưa gửi " in kim_bai and " gia hạn " in kim_bai
    assert "Đơn vị được gia hạn:" in out and "hết ngày 15/10/2099" in out
    codes = [
        line.split()[0] for line in out.splitlines() if line[:3] in ("ubn", "htc", "mn-", "th-")
    ]
    assert codes.index("th-bich-hoa") < codes.index("th-binh-minh")
    for english in ("complete", "missing", "incomplete", "CODE", "Unassigned", "Quarantined"):
        assert english not in out


def test_units_extend_refuses_a_date_that_does_not_exist(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    base = ["--config", cfg.source]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "units", "import", str(ROSTER)]).exit_code == 0
    r = runner.invoke(cli, [*base, "units", "extend", "th-kim-an", "31/02/2021"])
    assert r.exit_code == 2 and "write 15/10/2021" in r.output
