"""`intake run` as a child process against Dovecot and aiosmtpd, one way for every test that
runs the daemon: the config it reads (`daemon_config`: the Dovecot mailbox, the SMTP sink, one
parse worker), the process at -v (`Daemon`) or at its default log level (`Run`, what journald
gets), `wait_for` a condition while it runs, and `Store`, its database read from the test.

Fixtures (loaded by conftest as a plugin): `run_env`, the environment with the IMAP password,
and `daemons`, the processes a test started, killed at its end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.config import Config
from tests.support.config import make_config
from tests.support.smtpserver import SmtpServer

INTAKE = str(Path(sys.executable).with_name("intake"))
PW_ENV = "INTAKE_TEST_IMAP_PW"


def daemon_config(
    tmp_path: Path, dovecot: Any, smtp: SmtpServer, **extra: dict[str, object]
) -> Config:
    sections: dict[str, dict[str, object]] = {
        "mailbox": {
            "host": "127.0.0.1",
            "port": dovecot.port,
            "security": "none",
            "username": dovecot.user,
            "password_env": PW_ENV,
            "poll_interval": 2,
            "batch_size": 10,
            "timeout": 5.0,
        },
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "sender": "totrunghoc-thanhoai@thanhoai.example",
        },
        "digest": {"recipients": ["totrunghoc-thanhoai@thanhoai.example"], "at": "07:00"},
        "limits": {"parse_workers": 1},
    }
    for name, values in extra.items():
        sections.setdefault(name, {}).update(values)
    return make_config(tmp_path, **sections)


class Daemon:
    """One `intake run` process, its stderr kept in a file."""

    def __init__(
        self, cfg: Config, env: dict[str, str], log: Path, *args: str, verbose: bool = True
    ) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.proc = subprocess.Popen(
            [INTAKE, "--config", cfg.source, *(["-v"] if verbose else []), "run", *args],
            stdout=self._fh,
            stderr=self._fh,
            env=env,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._fh.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._fh.close()


class Run(Daemon):
    """`intake run` at its default log level (what journald gets), stderr kept in a file."""

    def __init__(self, cfg: Config, env: dict[str, str], log: Path) -> None:
        super().__init__(cfg, env, log, verbose=False)


@pytest.fixture
def run_env(dovecot: Any) -> dict[str, str]:
    env = dict(os.environ)
    env[PW_ENV] = dovecot.password
    env.pop("INTAKE_CONFIG", None)
    return env


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def wait_for(
    what: str, pred: Callable[[], bool], timeout: float, daemon: Daemon | None = None
) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        if daemon is not None and daemon.proc.poll() is not None:
            pytest.fail(
                f"daemon exited ({daemon.proc.returncode}) "
                f"while waiting for {what}:\n{daemon.text()[-3000:]}"
            )
        time.sleep(0.1)
    log = daemon.text()[-3000:] if daemon is not None else ""
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{log}")


class Store:
    """Reads the daemon's store from the test, with no pooled connection left open."""

    def __init__(self, cfg: Config) -> None:
        self.engine = sa.create_engine(cfg.store_url, poolclass=sa.pool.NullPool)

    def scalar(self, sql: str) -> Any:
        try:
            with self.engine.connect() as c:
                return c.execute(sa.text(sql)).scalar()
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            return None  # not created yet, or locked for a moment

    def count(self, table: str, where: str = "1=1") -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table} WHERE {where}") or 0)

    def done(self) -> int:
        return self.count("messages", "state <> 'received'")
