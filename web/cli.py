"""`intake web` and `intake users`: the console's commands, added to the `intake` group of
intake.cli. The `intake` console script is `web.cli:main`, so the installed command has them,
while intake/ itself knows nothing of the web (web/ sits above it)."""

from __future__ import annotations

import logging
import os
import signal
import sys
from datetime import datetime
from types import FrameType

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import config as config_mod
from core.clock import SystemClock
from core.errors import IntakeError
from intake.cli import Ctx, cli, pass_ctx
from store.db import open_store

log = logging.getLogger(__name__)

_by = click.option(
    "--by", default=lambda: os.environ.get("USER", "admin"), help="Who does it (audited)."
)


def _sessions(cfg: config_mod.Config) -> tuple[Engine, sessionmaker[Session]]:
    return open_store(cfg.store_url, migrate=True, files_root=cfg.files_dir)


@cli.command("web")
@pass_ctx
def web_cmd(c: Ctx) -> None:
    """Serve the officer's web console on [web] host:port (waitress) until SIGTERM.

    Put the office's reverse proxy (TLS) in front of it; see the README.
    Example: intake --config /etc/intake/config.toml web
    """
    from sqlalchemy import select

    from store.models import WebUser
    from web.console import build_console
    from web.server import make_server

    cfg = c.config()
    console, close = build_console(cfg)
    try:
        try:
            server = make_server(console)
        except (OSError, ValueError) as e:  # waitress: ValueError for a host it cannot resolve
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise IntakeError(
                f"cannot listen on {cfg.web.host}:{cfg.web.port}: {why}; set "
                "[web] host/port to a free address of this machine"
            ) from e
        with console.sessions() as s:
            if s.scalar(select(WebUser.id).limit(1)) is None:
                click.echo(
                    "warning: no accounts yet: intake users add NAME --role officer", err=True
                )

        def stop(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        click.echo(
            f"intake web: serving on http://{cfg.web.host}:{server.effective_port}"
            + (f" (officers open {cfg.web.base_url})" if cfg.web.base_url else ""),
            err=True,
        )
        server.run()
    finally:
        close()


@cli.group()
def users() -> None:
    """Accounts of the web console: officers act, viewers only read."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["officer", "viewer"]),
    required=True,
    help="officer: may act; viewer: only reads.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
@_by
@pass_ctx
def users_add(c: Ctx, name: str, role: str, password_stdin: bool, by: str) -> None:
    """Add an account (the password is asked twice, or read from stdin).

    Example: intake users add co.hoa --role officer
    """
    from web.accounts import add_user, check_name

    cfg = c.config()
    check_name(name)
    engine, sessions = _sessions(cfg)
    try:
        password = _read_password(password_stdin)
        with sessions.begin() as s:
            add_user(s, name, role, password, by=by, now=_now())
    finally:
        engine.dispose()
    click.echo(f"account {name} added ({role})")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
@_by
@pass_ctx
def users_passwd(c: Ctx, name: str, password_stdin: bool, by: str) -> None:
    """Set a new password for an account; its open sessions end.

    Example: intake users passwd co.hoa
    """
    from web.accounts import set_password, user_exists

    engine, sessions = _sessions(c.config())
    try:
        with sessions() as s:
            user_exists(s, name)
        password = _read_password(password_stdin)
        with sessions.begin() as s:
            set_password(s, name, password, by=by, now=_now())
    finally:
        engine.dispose()
    click.echo(f"password of {name} changed; its sessions are closed")


@users.command("list")
@pass_ctx
def users_list(c: Ctx) -> None:
    """List the accounts with their role and when they were made.

    Example: intake users list
    """
    from web.accounts import list_users

    cfg = c.config()
    engine, sessions = _sessions(cfg)
    try:
        with sessions() as s:
            rows = [(u.name, u.role, u.created_at) for u in list_users(s)]
    finally:
        engine.dispose()
    tz = cfg.campaign.tz
    for name, role, at in rows:
        click.echo(f"{name:<24} {role:<8} {at.astimezone(tz):%Y-%m-%d %H:%M}")
    click.echo(f"{len(rows)} account(s)")


@users.command("remove")
@click.argument("name")
@_by
@pass_ctx
def users_remove(c: Ctx, name: str, by: str) -> None:
    """Remove an account; its open sessions end.

    Example: intake users remove co.hoa
    """
    from web.accounts import remove_user

    engine, sessions = _sessions(c.config())
    try:
        with sessions.begin() as s:
            remove_user(s, name, by=by, now=_now())
    finally:
        engine.dispose()
    click.echo(f"account {name} removed")


def _now() -> datetime:
    return SystemClock().now()


def main() -> None:
    cli(prog_name="intake")


if __name__ == "__main__":
    main()
