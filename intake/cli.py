"""The `intake` command: a thin layer over `intake.app.App`. Every command has help and an
example; the global `--config PATH` (or INTAKE_CONFIG) names the config file."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from intake import config as config_mod
from intake.app import App
from intake.errors import IntakeError

log = logging.getLogger(__name__)


class Ctx:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    def config(self) -> config_mod.Config:
        return config_mod.load(self.config_path)

    def app(self) -> App:
        return App(self.config())


pass_ctx = click.make_pass_decorator(Ctx)


def _fail(e: Exception) -> None:
    click.echo(f"error: {e}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_path", envvar="INTAKE_CONFIG", type=click.Path(dir_okay=False),
    help="Config file (TOML). Default: $INTAKE_CONFIG, else built-in defaults.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Report-intake daemon: files the reports units email to the campaign mailbox.

    Example: intake --config /etc/intake/config.toml status
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = Ctx(config_path)


@cli.command()
@click.option("--once", is_flag=True, required=True, help="Poll once and exit (required for now).")
@pass_ctx
def poll(c: Ctx, once: bool) -> None:
    """Poll the mailbox once: fetch new mail, store it, file it.

    Example: intake --config config.toml poll --once
    """
    try:
        with c.app() as app:
            r = app.poll_once()
    except IntakeError as e:
        _fail(e)
    click.echo(
        f"{r.account}: {r.new_uids} new, {r.stored} stored, {r.duplicates} duplicate(s), "
        f"{r.failed} failed, {r.marked} marked, {r.processed} filed"
    )
    if r.error:
        click.echo(f"error: {r.error}", err=True)
        sys.exit(1)


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_ctx
def import_cmd(c: Ctx, paths: tuple[Path, ...]) -> None:
    """Import .eml files, an mbox or a Maildir through the same pipeline and dedupe.

    Example: intake import ~/Takeout/Mail/All\\ mail.mbox
    """
    try:
        with c.app() as app:
            r = app.import_paths(list(paths))
    except IntakeError as e:
        _fail(e)
    click.echo(f"{r.seen} message(s) read, {r.stored} new, {r.duplicates} already in the store")
    for err in r.errors or []:
        click.echo(f"error: {err}", err=True)
    if r.errors:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--state", type=click.Choice(["missing", "incomplete", "complete"]), help="Only units in this state."
)
@pass_ctx
def status(c: Ctx, as_json: bool, state: str | None) -> None:
    """Where the campaign stands: one line per unit, then unassigned and quarantined mail.

    Example: intake status --json
    """
    from intake.statustable import render
    from store.queries import status_json

    try:
        with c.app() as app:
            cs = app.status()
    except IntakeError as e:
        _fail(e)
    if as_json:
        click.echo(json.dumps(status_json(cs), ensure_ascii=False, indent=2))
    else:
        click.echo(render(cs, only=state))


@cli.command()
@click.argument("message_ids", nargs=-1, type=int)
@click.option("--all", "all_", is_flag=True, help="Reparse every stored message.")
@pass_ctx
def reparse(c: Ctx, message_ids: tuple[int, ...], all_: bool) -> None:
    """Rerun the current parsers over stored raw mail, so a parser fix reaches old mail.

    Example: intake reparse --all     (or: intake reparse 12 13)
    """
    if not all_ and not message_ids:
        raise click.UsageError("give message ids or --all")
    try:
        with c.app() as app:
            n = app.reparse(None if all_ else list(message_ids))
    except IntakeError as e:
        _fail(e)
    click.echo(f"{n} message(s) reparsed")


@cli.group()
def units() -> None:
    """The roster of reporting units: import it, list it (with learned addresses)."""


@units.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def units_import(c: Ctx, file: str) -> None:
    """Import the roster (CSV or XLSX: code,name,kind,emails,aliases; ';' separates several).

    Example: intake units import examples/units-thanh-oai-2021.csv
    """
    try:
        with c.app() as app:
            created, updated = app.import_roster(file)
    except IntakeError as e:
        _fail(e)
    click.echo(f"{created} unit(s) added, {updated} updated")


@units.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def units_list(c: Ctx, as_json: bool) -> None:
    """List the units with their addresses.

    Example: intake units list
    """
    from sqlalchemy import select

    from store.models import Unit

    try:
        with c.app() as app, app.sessions() as s:
            rows = [
                (u.code, u.name, u.kind, [a.address for a in u.addresses])
                for u in s.scalars(select(Unit).order_by(Unit.code))
            ]
    except IntakeError as e:
        _fail(e)
    if as_json:
        click.echo(json.dumps(
            [{"code": a, "name": b, "kind": k, "emails": e} for a, b, k, e in rows],
            ensure_ascii=False, indent=2,
        ))
        return
    for code, name, kind, emails in rows:
        click.echo(f"{code:<24} {kind:<10} {name:<40} {', '.join(emails)}")
    click.echo(f"{len(rows)} unit(s)")


@cli.group()
def db() -> None:
    """The database schema: apply migrations (SQLite or PostgreSQL)."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(c: Ctx) -> None:
    """Apply the database migrations (the daemon also does this on start).

    Example: intake db upgrade
    """
    from store.db import current_revision, make_engine, upgrade

    try:
        engine = make_engine(c.config().store_url)
        upgrade(engine)
        click.echo(f"database at revision {current_revision(engine)}")
        engine.dispose()
    except IntakeError as e:
        _fail(e)


@cli.command()
@click.option("--messages", default=20, show_default=True, help="How many emails to seed.")
def demo(messages: int) -> None:
    """Run the real IMAP path once against an embedded server with sample mail; print status.

    Needs no mail server and no account; leaves no files or processes behind.
    Example: intake demo
    """
    from intake.demo import run_demo

    click.echo(run_demo(messages))


def main() -> None:
    cli(prog_name="intake")


if __name__ == "__main__":
    main()
