"""The CLI: every command has help with an example; commands run over a real store."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.support.config import ROSTER, make_config
from tests.support.docgen_media import phone_jpeg
from web.cli import cli  # intake.cli's group with the web console's commands


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out += _commands(cmd, (*prefix, name))
    return out


COMMANDS = _commands(cli)


def test_the_documented_commands_exist() -> None:
    for expected in [
        ("poll",),
        ("import",),
        ("status",),
        ("units", "import"),
        ("units", "list"),
        ("db", "upgrade"),
        ("demo",),
        ("reparse",),
    ]:
        assert expected in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    cmd: click.Command = cli
    for part in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[part]
    assert cmd.help and len(cmd.help.strip()) > 20
    if not isinstance(cmd, click.Group):
        assert "Example:" in cmd.help, f"{' '.join(path)} has no example"


def _eml(tmp_path: Path) -> Path:
    m = EmailMessage()
    m["From"] = "Trường Tiểu học Kim An <th-kim-an@thanhoai.example>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = "Báo cáo Tuần lễ học tập suốt đời - TH Kim An"
    m["Message-ID"] = "<cli-1@thanhoai.example>"
    m["Date"] = "Wed, 06 Oct 2021 10:00:00 +0700"
    m.set_content("Kính gửi Phòng GD&ĐT,\nTrường TH Kim An gửi báo cáo.\n")
    m.add_attachment(
        phone_jpeg(1, size=(320, 240))[0], maintype="image", subtype="jpeg", filename="Ảnh 1.jpg"
    )
    p = tmp_path / "m.eml"
    p.write_bytes(bytes(m))
    return p


def test_units_import_status_json_roundtrip(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    runner = CliRunner()
    base = ["--config", cfg.source]
    r = runner.invoke(cli, [*base, "units", "import", str(ROSTER)])
    assert r.exit_code == 0 and "111 unit(s) added" in r.output
    eml = str(_eml(tmp_path))
    r = runner.invoke(cli, [*base, "import", eml])
    assert r.exit_code == 0 and "1 new" in r.output, r.output
    r = runner.invoke(cli, [*base, "import", eml])
    assert "0 new, 1 already in the store" in r.output
    r = runner.invoke(cli, [*base, "status", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert set(data) >= {"campaign", "units", "unassigned", "quarantined"}
    assert set(data["campaign"]) >= {"id", "title", "deadline"}
    units = {u["code"]: u for u in data["units"]}
    assert len(units) == 111
    kim_an = units["th-kim-an"]
    assert set(kim_an) >= {
        "code",
        "name",
        "kind",
        "state",
        "late",
        "submitted_at",
        "messages",
        "items",
        "totals",
    }
    assert kim_an["state"] == "incomplete" and kim_an["messages"] == 1
    assert kim_an["submitted_at"].startswith("2021-10-06T03:00:00")
    assert kim_an["items"]["photos"] == 1
    assert kim_an["late"] is True  # still incomplete, and the 2021 deadline has passed
    assert units["th-kim-bai"]["state"] == "missing"
    r = runner.invoke(cli, [*base, "status"])
    assert r.exit_code == 0 and "th-kim-an" in r.output and "chưa đủ" in r.output


def test_config_error_is_a_clean_message(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("[mailbox]\nfoo = 1\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["--config", str(p), "status"])
    assert r.exit_code == 2 and "unknown key mailbox.foo" in r.output
    r = CliRunner(env={"INTAKE_CONFIG": str(p)}).invoke(cli, ["status"])
    assert r.exit_code == 2 and "bad.toml" in r.output


def test_db_upgrade(tmp_path: Path) -> None:
    from store.db import head_revision, make_engine

    head = head_revision(make_engine("sqlite://"))  # the newest file in store/migrations/versions
    cfg = make_config(tmp_path)
    r = CliRunner().invoke(cli, ["--config", cfg.source, "db", "upgrade"])
    assert r.exit_code == 0 and f"revision {head}" in r.output


def _personal(tmp_path: Path, n: int) -> Path:
    m = EmailMessage()
    m["From"] = "Lan Nguyễn <nguyenthilan1980@gmail.com>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = f"gửi báo cáo lần {n}"
    m["Message-ID"] = f"<personal-{n}@mail.gmail.com>"
    m["Date"] = f"Thu, 0{n + 6} Oct 2021 20:15:00 +0700"
    m.set_content("Em gửi báo cáo ạ.\n")
    m.add_attachment(
        phone_jpeg(100 + n, size=(320, 240))[0],
        maintype="image",
        subtype="jpeg",
        filename=f"IMG_20211007_{n}.jpg",
    )
    p = tmp_path / f"p{n}.eml"
    p.write_bytes(bytes(m))
    return p


def test_assign_teaches_the_address_and_unassign_reverts(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    runner = CliRunner()
    base = ["--config", cfg.source]
    assert runner.invoke(cli, [*base, "units", "import", str(ROSTER)]).exit_code == 0
    assert runner.invoke(cli, [*base, "import", str(_personal(tmp_path, 1))]).exit_code == 0
    data = json.loads(runner.invoke(cli, [*base, "status", "--json"]).output)
    (loose,) = data["unassigned"]
    assert loose["from"] == "nguyenthilan1980@gmail.com"
    r = runner.invoke(cli, [*base, "assign", str(loose["id"]), "thcs-thanh-mai", "--by", "co.hoa"])
    assert r.exit_code == 0 and "learned nguyenthilan1980@gmail.com" in r.output, r.output
    r = runner.invoke(cli, [*base, "units", "aliases"])
    assert "thcs-thanh-mai" in r.output and "co.hoa" in r.output
    # the next email from that address files itself
    assert runner.invoke(cli, [*base, "import", str(_personal(tmp_path, 2))]).exit_code == 0
    data = json.loads(runner.invoke(cli, [*base, "status", "--json"]).output)
    unit = {u["code"]: u for u in data["units"]}["thcs-thanh-mai"]
    assert data["unassigned"] == [] and unit["messages"] == 2 and unit["items"]["photos"] == 2
    r = runner.invoke(cli, [*base, "unassign", str(loose["id"])])
    assert r.exit_code == 0
    data = json.loads(runner.invoke(cli, [*base, "status", "--json"]).output)
    unit = {u["code"]: u for u in data["units"]}["thcs-thanh-mai"]
    assert unit["messages"] == 1 and [m["id"] for m in data["unassigned"]] == [loose["id"]]
    r = runner.invoke(cli, [*base, "assign", "999", "thcs-thanh-mai"])
    assert r.exit_code == 2 and "no message" in r.output


def test_units_extend(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    runner = CliRunner()
    base = ["--config", cfg.source]
    assert runner.invoke(cli, [*base, "units", "import", str(ROSTER)]).exit_code == 0
    r = runner.invoke(cli, [*base, "units", "extend", "th-kim-an", "2021-10-15"])
    assert r.exit_code == 0 and "hạn nộp mới hết ngày 15/10/2021" in r.output
    data = json.loads(runner.invoke(cli, [*base, "status", "--json"]).output)
    unit = {u["code"]: u for u in data["units"]}["th-kim-an"]
    assert unit["deadline"] == "2021-10-15T17:00:00+00:00"
    assert runner.invoke(cli, [*base, "units", "extend", "nope", "2021-10-15"]).exit_code == 2


def test_long_work_reports_progress_when_not_on_a_terminal(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    folder = tmp_path / "export"
    folder.mkdir()
    src = _eml(tmp_path).read_bytes()
    for i in range(25):
        (folder / f"{i:02d}.eml").write_bytes(src.replace(b"<cli-1@", f"<cli-p{i}@".encode()))
    r = CliRunner().invoke(cli, ["--config", cfg.source, "import", str(folder)])
    assert r.exit_code == 0 and "25 new" in r.output, r.output
    progress = [line for line in r.stderr.splitlines() if "intake.progress" in line]
    assert any("importing: 25 " in line and "(done)" in line for line in progress), r.stderr
    assert any("filing [" in line and "25/25" in line for line in progress), r.stderr


def test_units_list_shows_roster_and_learned_addresses(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    runner = CliRunner()
    base = ["--config", cfg.source]
    assert runner.invoke(cli, [*base, "units", "import", str(ROSTER)]).exit_code == 0
    from intake.app import App
    from intake.filing import learn_address
    from store.models import Unit

    with App(cfg) as app, app.sessions.begin() as s:
        unit = s.query(Unit).filter_by(code="th-kim-an").one()
        learn_address(s, unit, "HieuTruong.KimAn@gmail.com", "Nguyễn Thị Hoà", app.clock.now())
    r = runner.invoke(cli, [*base, "units", "list", "--json"])
    assert r.exit_code == 0, r.output
    units = {u["code"]: u for u in json.loads(r.output)}
    assert units["th-kim-an"]["name"] == "Trường Tiểu học Kim An"
    assert (
        units["th-kim-an"]["emails"][-1] == "hieutruong.kiman@gmail.com"
    )  # learned after the roster's
    assert list(units) == sorted(units)
    text = runner.invoke(cli, [*base, "units", "list"]).output
    assert text.splitlines()[-1] == f"{len(units)} unit(s)" and "hieutruong.kiman@gmail.com" in text


@pytest.mark.parametrize(
    ("typed", "local"),
    [
        ("15/10/2021", "2021-10-16T00:00:00+07:00"),  # the end of that day
        ("15/10/2021 17:00", "2021-10-15T17:00:00+07:00"),
        ("2021-10-15", "2021-10-16T00:00:00+07:00"),
        ("2021-10-15T17:00+00:00", "2021-10-15T17:00:00+00:00"),  # an offset given is kept
    ],
)
def test_a_deadline_is_read_once_whatever_way_it_is_written(typed: str, local: str) -> None:
    from zoneinfo import ZoneInfo

    from intake.clierrors import parse_deadline

    assert parse_deadline(typed).at(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat() == local
    with pytest.raises(ValueError, match="write 15/10/2021"):
        parse_deadline("30/02/2021")


def test_no_command_maps_errors_itself() -> None:
    """Errors become one line and an exit in one place (intake.clierrors.IntakeGroup): no
    command of intake/cli.py catches IntakeError or exits with a code of its own for one."""
    import ast

    import intake.cli

    tree = ast.parse(Path(intake.cli.__file__).read_text(encoding="utf-8"))
    caught = [
        ast.unparse(h.type) for h in ast.walk(tree) if isinstance(h, ast.ExceptHandler) and h.type
    ]
    assert not [c for c in caught if "IntakeError" in c or "MigrationError" in c]
    assert not [
        f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "_fail"
    ]
