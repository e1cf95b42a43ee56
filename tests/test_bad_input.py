"""Bad input never shows a traceback: every command, fed a bad value, exits 2 with one line on
stderr naming the input (and what to do). Config numbers outside their range are refused at
start with the range. Checked through click's runner and, for a few, a real subprocess."""

from __future__ import annotations

import dataclasses
import subprocess
import typing
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from core import config as config_mod
from core.errors import ConfigError
from tests.support.config import ROOT, ROSTER, make_config
from web.cli import cli  # intake.cli's group with the web console's commands

INTAKE = str(ROOT / ".venv" / "bin" / "intake")


# -- the config: one table of ranges ---------------------------------------------------------


def _numeric_keys() -> list[str]:
    keys = []
    for name, cls in config_mod.SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if hints[f.name] in (int, float, list[int], list[float]):
                keys.append(f"{name}.{f.name}")
    return keys


def test_every_numeric_config_key_has_a_range() -> None:
    assert sorted(_numeric_keys()) == sorted(config_mod.RANGES)


def _toml(key: str, value: float) -> str:
    section, name = key.split(".")
    text = f"[{int(value)}]" if key == "notify.reminder_days" else str(int(value))
    return f"[{section}]\n{name} = {text}\n"


@pytest.mark.parametrize("key", sorted(config_mod.RANGES))
def test_config_numbers_outside_their_range_are_refused_naming_the_range(key: str) -> None:
    low, high, _ = config_mod.RANGES[key]
    for value in (low, high):
        config_mod.parse(_toml(key, value))  # the bounds themselves are allowed
    for value in (low - 1, high + 1):
        with pytest.raises(ConfigError) as e:
            config_mod.parse(_toml(key, value), source="c.toml")
        msg = str(e.value)
        assert msg.startswith(
            f"c.toml: {key} = {int(value)} is out of range: allowed {low:,} to {high:,}"
        )


def test_the_issue_values_are_refused() -> None:
    for text, words in [
        ("[limits]\nmax_message_bytes = 0\n", "limits.max_message_bytes = 0"),
        ("[limits]\nparse_memory_mb = 1\n", "allowed 256 to 65,536 MiB"),
    ]:
        with pytest.raises(ConfigError, match=words):
            config_mod.parse(text)


def test_a_missing_templates_folder_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"notify\.templates: folder .*nope does not exist"):
        make_config(tmp_path, notify={"templates": "nope"})
    (tmp_path / "mine").mkdir()
    assert make_config(tmp_path, notify={"templates": "mine"}).notify.templates == "mine"


# -- the command line ---------------------------------------------------------------------------


def _leaves(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    out: list[tuple[tuple[str, ...], click.Command]] = []
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out += _leaves(cmd, (*prefix, name))
        else:
            out.append(((*prefix, name), cmd))
    return out


LEAVES = _leaves(cli)
NO_CONFIG = {("demo",), ("doctor",)}  # demo makes its own; doctor reports a bad one as a check


# commands that need more than their required parameters (checked before the config is read)
EXTRA: dict[tuple[str, ...], list[str]] = {
    ("reparse",): ["--all"],
    ("digest",): ["--send"],
    ("units", "extend"): ["th-kim-an", "2021-10-15"],
    ("users", "add"): ["co.hoa", "--role", "officer"],
    ("requeue",): ["--quarantined"],
}


def _required(cmd: click.Command, tmp_path: Path, path: tuple[str, ...]) -> list[str]:
    """Just enough arguments for `cmd` to get as far as loading the config."""
    if path in EXTRA:
        return EXTRA[path]
    args: list[str] = []
    for p in cmd.params:
        if not p.required:
            continue
        if isinstance(p, click.Option):
            args += [p.opts[0]] if p.is_flag else [p.opts[0], str(tmp_path / "out")]
        else:
            args.append(str(ROSTER) if isinstance(p.type, click.Path) else "1")
    return args


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize(
    "path,cmd", [pytest.param(p, c, id=" ".join(p)) for p, c in LEAVES if p not in NO_CONFIG]
)
def test_every_command_refuses_a_config_value_out_of_range_in_one_line(
    tmp_path: Path, path: tuple[str, ...], cmd: click.Command
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nparse_memory_mb = 1\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["--config", str(bad), *path, *_required(cmd, tmp_path, path)])
    assert r.exit_code == 2, r.output
    line = _one_error_line(r.stderr)
    assert "bad.toml" in line and "limits.parse_memory_mb" in line and "256" in line


def _file_in_the_way(tmp_path: Path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    return blocker


def _damaged_xlsx(tmp_path: Path) -> Path:
    p = tmp_path / "don-vi.xlsx"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    return p


def _damaged_xls(tmp_path: Path) -> Path:
    p = tmp_path / "don-vi.xls"
    p.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 600)
    return p


UNREACHABLE = "postgresql+psycopg://intake:hunter2@127.0.0.1:9/intake"

# (case, config sections, argv after --config, text the line must hold)
Case = tuple[str, dict[str, dict[str, object]], Callable[[Path], list[str]], str]
CASES: list[Case] = [
    (
        "poll: unreachable store",
        {"store": {"url": UNREACHABLE}},
        lambda t: ["poll", "--once"],
        "127.0.0.1:9",
    ),
    (
        "import: bad store URL",
        {"store": {"url": "nonsense"}},
        lambda t: ["import", str(t)],
        "'nonsense'",
    ),
    ("status: bad --state", {}, lambda t: ["status", "--state", "late"], "'late'"),
    ("reparse: not a number", {}, lambda t: ["reparse", "abc"], "'abc'"),
    (
        "units import: damaged xlsx",
        {},
        lambda t: ["units", "import", str(_damaged_xlsx(t))],
        "don-vi.xlsx",
    ),
    (
        "units import: damaged xls",
        {},
        lambda t: ["units", "import", str(_damaged_xls(t))],
        "don-vi.xls",
    ),
    (
        "units list: unreachable store",
        {"store": {"url": UNREACHABLE}},
        lambda t: ["units", "list"],
        "127.0.0.1:9",
    ),
    (
        "units aliases: unknown driver",
        {"store": {"url": "mysql://a@b/c"}},
        lambda t: ["units", "aliases"],
        "mysql://a@b/c",
    ),
    (
        "units extend: bad date",
        {},
        lambda t: ["units", "extend", "th-kim-an", "2021-02-30"],
        "'2021-02-30'",
    ),
    ("assign: no such message", {}, lambda t: ["assign", "999", "th-kim-an"], "'999'"),
    ("unassign: no such message", {}, lambda t: ["unassign", "999"], "'999'"),
    ("requeue: no such message", {}, lambda t: ["requeue", "999"], "'999'"),
    (
        "outbox retry: unreachable store",
        {"store": {"url": UNREACHABLE}},
        lambda t: ["outbox", "retry"],
        "127.0.0.1:9",
    ),
    ("move: no such campaign", {}, lambda t: ["move", "1", "thi-dua-2021"], "'thi-dua-2021'"),
    (
        "db upgrade: bad store URL",
        {"store": {"url": "sqlite//x"}},
        lambda t: ["db", "upgrade"],
        "'sqlite//x'",
    ),
    (
        "db migrate-to: bad URL",
        {},
        lambda t: ["db", "migrate-to", "postgres:/oops:x@"],
        "postgres:/oops",
    ),
    ("db migrate-to: unreachable", {}, lambda t: ["db", "migrate-to", UNREACHABLE], "127.0.0.1:9"),
    (
        "run: memory cap too small",
        {"limits": {"parse_memory_mb": 1}},
        lambda t: ["run"],
        "limits.parse_memory_mb",
    ),
    (
        "remind: bad --at",
        {},
        lambda t: ["remind", "--dry-run", "--at", "2021-13-45"],
        "'2021-13-45'",
    ),
    (
        "digest: bad --at",
        {},
        lambda t: ["digest", "--out", str(t / "d.html"), "--at", "hôm qua"],
        "'hôm qua'",
    ),
    (
        "digest: unwritable --out",
        {},
        lambda t: ["digest", "--out", str(_file_in_the_way(t) / "d.html")],
        "a-file/d.html",
    ),
    (
        "digest: templates folder gone",
        {"notify": {"templates": "mau-thu"}},
        lambda t: ["digest", "--out", str(t / "d.html")],
        "notify.templates",
    ),
    (
        "export: unwritable --out",
        {},
        lambda t: ["export", "--out", str(_file_in_the_way(t) / "x")],
        "a-file/x",
    ),
    ("demo: too few messages", {}, lambda t: ["demo", "--messages", "0"], "'--messages'"),
    (
        "web: host not of this machine",
        {"web": {"host": "256.0.0.1"}},
        lambda t: ["web"],
        "256.0.0.1:8080",
    ),
    ("users add: bad role", {}, lambda t: ["users", "add", "co.hoa", "--role", "boss"], "'boss'"),
    (
        "users add: bad name",
        {},
        lambda t: ["users", "add", "Cô Hoa", "--role", "viewer"],
        "'Cô Hoa'",
    ),
    ("users passwd: no such account", {}, lambda t: ["users", "passwd", "nobody"], "'nobody'"),
    (
        "users list: unreachable store",
        {"store": {"url": UNREACHABLE}},
        lambda t: ["users", "list"],
        "127.0.0.1:9",
    ),
    ("users remove: no such account", {}, lambda t: ["users", "remove", "nobody"], "'nobody'"),
    (
        "auth login: mailbox not on oauth2",
        {},
        lambda t: ["auth", "login"],
        'mailbox.auth is not "oauth2"',
    ),
    (
        "auth status: unknown option",
        {},
        lambda t: ["auth", "status", "--smtp", "--json"],
        "'--json'",
    ),
    ("top level: bad --log-format", {}, lambda t: ["--log-format", "xml", "status"], "'xml'"),
]


def test_the_table_has_a_case_for_every_command() -> None:
    named = {case.split(":")[0] for case, *_ in CASES}
    for path, _ in LEAVES:
        if path == ("doctor",):
            continue  # doctor reports bad input as failed checks (see below)
        assert " ".join(path) in named, f"{' '.join(path)} has no bad-input case"


@pytest.mark.parametrize("case,sections,argv,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_naming_it(
    tmp_path: Path,
    case: str,
    sections: dict[str, dict[str, object]],
    argv: Callable[[Path], list[str]],
    words: str,
) -> None:
    try:
        cfg = make_config(tmp_path, **sections).source
    except ConfigError:  # a config the loader refuses: write it as it is, the command loads it
        cfg = str(tmp_path / "config.toml")
    r = CliRunner().invoke(cli, ["--config", cfg, *argv(tmp_path)])
    assert r.exit_code == 2, (r.output, r.exception)
    line = _one_error_line(r.stderr)
    assert words in line, line
    assert "hunter2" not in r.output


def test_doctor_reports_a_bad_config_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nmax_message_bytes = 0\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["--config", str(bad), "doctor"])
    assert r.exit_code == 1 and "limits.max_message_bytes = 0 is out of range" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


SUBPROCESS = [
    "poll: unreachable store",
    "units import: damaged xlsx",
    "db migrate-to: bad URL",
    "remind: bad --at",
    "run: memory cap too small",
    "digest: unwritable --out",
]


@pytest.mark.parametrize("case", SUBPROCESS)
def test_no_traceback_reaches_a_terminal(tmp_path: Path, case: str) -> None:
    _, sections, argv, words = next(c for c in CASES if c[0] == case)
    try:
        cfg = make_config(tmp_path, **sections).source
    except ConfigError:
        cfg = str(tmp_path / "config.toml")
    p = subprocess.run(
        [INTAKE, "--config", cfg, *argv(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and words in _one_error_line(p.stderr)


# -- a password IMAP LOGIN cannot carry --------------------------------------------------------


@pytest.mark.parametrize("mechanisms", ["plain login", "login"])
def test_a_non_ascii_imap_password_logs_in_by_plain_or_is_one_line(
    tmp_path: Path, mechanisms: str
) -> None:
    import shutil
    import tempfile

    from tests.support import dovecot

    dovecot.require()
    root = Path(tempfile.mkdtemp(prefix="intake-dovecot-"))
    server = dovecot.Dovecot(root, password="Mật-khẩu-Thanh-Oai-2021")
    server.conf.write_text(
        server.conf.read_text().replace(
            "auth_mechanisms = plain login", f"auth_mechanisms = {mechanisms}"
        )
    )
    try:
        server.start()
        cfg = make_config(
            tmp_path,
            mailbox={
                "host": server.host,
                "port": server.port,
                "security": "none",
                "username": server.user,
                "password_env": "INTAKE_TEST_IMAP_PW",
                "timeout": 10.0,
            },
            limits={"parse_workers": 0},
        )
        r = CliRunner(env={"INTAKE_TEST_IMAP_PW": server.password}).invoke(
            cli, ["--config", cfg.source, "poll", "--once"]
        )
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    if mechanisms == "plain login":  # AUTHENTICATE PLAIN carries UTF-8
        assert r.exit_code == 0 and "0 new" in r.stdout, r.output
        return
    assert r.exit_code == 2, r.output
    line = _one_error_line(r.stderr)
    assert "INTAKE_TEST_IMAP_PW" in line and "non-ASCII" in line and "use an ASCII password" in line
    assert server.password not in r.output
