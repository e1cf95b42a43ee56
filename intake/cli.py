"""The `intake` command: a thin layer over `intake.app.App`. Every command has help and an
example; the global `--config PATH` (or INTAKE_CONFIG) names the config file."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

import click

from core import config as config_mod
from core.errors import IntakeError
from intake.app import App
from intake.clierrors import Deadline, Instant, IntakeGroup, Until
from store.models import SubmissionState

log = logging.getLogger(__name__)


class Ctx:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    def config(self) -> config_mod.Config:
        return config_mod.load(self.config_path)

    def app(self, *, tty: bool | None = None) -> App:
        from intake.progress import Reporter

        app = App(self.config())
        app.show_progress(Reporter(tty=tty))
        return app


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(cls=IntakeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    envvar="INTAKE_CONFIG",
    type=click.Path(dir_okay=False),
    help="Config file (TOML). Default: $INTAKE_CONFIG, else built-in defaults.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines on stderr: readable text (journald) or JSON (collectors).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, log_format: str) -> None:
    """Report-intake daemon: files the reports units email to the campaign mailbox.

    Example: intake --config /etc/intake/config.toml status
    """
    from intake import logs

    default = logging.INFO if ctx.invoked_subcommand == "run" else logging.WARNING
    logs.setup(default - 10 * min(verbose, 2), log_format)
    ctx.obj = Ctx(config_path)


@cli.command()
@click.option("--once", is_flag=True, required=True, help="Poll once and exit (required for now).")
@pass_ctx
def poll(c: Ctx, once: bool) -> None:
    """Poll the mailbox once: fetch new mail, store it, file it.

    Example: intake --config config.toml poll --once
    """
    with c.app() as app:
        app.ensure_roster()
        r = app.poll_once()
    click.echo(
        f"{r.account}: {r.new_uids} new, {r.stored} stored, {r.duplicates} duplicate(s), "
        f"{r.failed} failed, {r.marked} marked, {r.processed} filed"
    )
    if r.error:
        click.echo(f"error: {r.error}", err=True)
        sys.exit(1)


SKIPPED_SHOWN = 100  # files not imported listed by `intake import` (all are logged with -v)


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_ctx
def import_cmd(c: Ctx, paths: tuple[Path, ...]) -> None:
    """Import message files (any name), mbox files, Maildirs or folders of those through the
    same pipeline and dedupe; files that are not mail are listed with the reason.

    Example: intake import ~/Takeout/Mail/All\\ mail.mbox
    """
    with c.app() as app:
        app.ensure_roster()
        r = app.import_paths(list(paths))
    skipped = f", {len(r.skipped)} skipped" if r.skipped else ""
    click.echo(
        f"{r.seen} message(s) read, {r.stored} new, {r.duplicates} already in the store{skipped}"
    )
    for item in r.skipped[:SKIPPED_SHOWN]:
        click.echo(f"skipped: {item}")
    if len(r.skipped) > SKIPPED_SHOWN:
        click.echo(
            f"skipped: … and {len(r.skipped) - SKIPPED_SHOWN} more (run with -v to log them all)"
        )
    for err in r.errors:
        click.echo(f"error: {err}", err=True)
    if r.errors:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--state",
    type=click.Choice([s.value for s in SubmissionState]),
    help="Only units in this state.",
)
@click.option(
    "--campaign",
    "campaign_id",
    metavar="ID",
    help="Only this campaign (default: every campaign of the config).",
)
@pass_ctx
def status(c: Ctx, as_json: bool, state: str | None, campaign_id: str | None) -> None:
    """Where each campaign stands: one line per unit, then unassigned, other and quarantined mail.

    Example: intake status --json --campaign tuan-le-htsd-2021
    """
    from intake.campaignstatus import status_document, status_text

    with c.app() as app, app.sessions() as s:
        now = app.clock.now()
        if as_json:
            doc = status_document(s, app.cfg, app.files, campaign_id, now)
        else:
            text = status_text(s, app.cfg, app.files, campaign_id, now, only=state)
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        click.echo(text)


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
    with c.app() as app:
        n = app.reparse(None if all_ else list(message_ids))
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
    with c.app() as app:
        created, updated = app.import_roster(file)
    click.echo(f"{created} unit(s) added, {updated} updated")


@units.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def units_list(c: Ctx, as_json: bool) -> None:
    """List the units with their addresses.

    Example: intake units list
    """
    from store.queries import roster_units

    with c.app() as app, app.sessions() as s:
        rows = roster_units(s)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"code": u.code, "name": u.name, "kind": u.kind, "emails": list(u.emails)}
                    for u in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for u in rows:
        click.echo(f"{u.code:<24} {u.kind:<10} {u.name:<40} {', '.join(u.emails)}")
    click.echo(f"{len(rows)} unit(s)")


@units.command("aliases")
@pass_ctx
def units_aliases(c: Ctx) -> None:
    """Addresses learned from the officer's assignments, with who taught them and when.

    Example: intake units aliases
    """
    from intake.officer import learned_addresses

    with c.app() as app, app.sessions() as s:
        rows = learned_addresses(s)
    for code, address, by, at in rows:
        click.echo(f"{code:<24} {address:<40} {by:<16} {at.isoformat() if at else '-'}")
    click.echo(f"{len(rows)} learned address(es)")


@units.command("extend")
@click.argument("code")
@click.argument("until", type=Until())
@click.option(
    "--by", default=lambda: os.environ.get("USER", "officer"), help="Who decides (audited)."
)
@pass_ctx
def units_extend(c: Ctx, code: str, until: Deadline, by: str) -> None:
    """Give one unit a later deadline: a date as Vietnamese write it (15/10/2021: the end of that
    day, local time), a date and time (15/10/2021 17:00), or ISO 8601.

    Example: intake units extend thcs-thanh-mai 15/10/2021
    """
    from intake.officer import extend
    from notifier.render import fmt_until

    with c.app() as app:
        when = until.at(app.cfg.campaign.tz)
        with app.sessions.begin() as s:
            unit = extend(s, code, when, by=by, now=app.clock.now())
            name = unit.name
        shown = fmt_until(when, app.cfg.campaign.timezone)
    click.echo(f"{code} ({name}): hạn nộp mới {shown}")


@cli.command()
@click.argument("message")
@click.argument("unit")
@click.option("--no-learn", is_flag=True, help="Do not teach the sender address to the unit.")
@click.option(
    "--by", default=lambda: os.environ.get("USER", "officer"), help="Who decides (audited)."
)
@pass_ctx
def assign(c: Ctx, message: str, unit: str, no_learn: bool, by: str) -> None:
    """File a message under a unit; its sender address is learned for next time.

    MESSAGE is the number shown by `intake status` (or a Message-ID); UNIT a unit code.
    Example: intake assign 42 thcs-thanh-mai
    """
    from intake.officer import assign as do_assign

    with c.app() as app, app.sessions.begin() as s:
        msg, learned = do_assign(
            s,
            app.cfg.campaign,
            message,
            unit,
            by=by,
            now=app.clock.now(),
            learn=not no_learn,
            campaigns=app.cfg.campaigns,
        )
        addr = msg.from_addr
    click.echo(f"message {message} filed under {unit}" + (f"; learned {addr}" if learned else ""))


@cli.command()
@click.argument("message")
@click.option(
    "--by", default=lambda: os.environ.get("USER", "officer"), help="Who decides (audited)."
)
@pass_ctx
def unassign(c: Ctx, message: str, by: str) -> None:
    """Take a message off its unit (it goes back to the unassigned list).

    Example: intake unassign 42
    """
    from intake.officer import unassign as do_unassign

    with c.app() as app, app.sessions.begin() as s:
        do_unassign(
            s, app.cfg.campaign, message, by=by, now=app.clock.now(), campaigns=app.cfg.campaigns
        )
    click.echo(f"message {message} is unassigned")


@cli.command()
@click.argument("message")
@click.argument("campaign")
@click.option(
    "--by", default=lambda: os.environ.get("USER", "officer"), help="Who decides (audited)."
)
@pass_ctx
def move(c: Ctx, message: str, campaign: str, by: str) -> None:
    """Put a message in a campaign, or in "other" mail (counted nowhere); audited, and the
    submissions it left and joined are recomputed. The choice is kept on a reparse.

    MESSAGE is the number shown by `intake status` (or a Message-ID); CAMPAIGN a campaign id
    or `other`.
    Example: intake move 42 thong-ke-dau-nam-2021     (or: intake move 42 other)
    """
    from intake.campaignmoves import move as do_move

    with c.app() as app:
        with app.sessions.begin() as s:
            msg = do_move(s, app.cfg, message, campaign, by=by, now=app.clock.now())
            pk = msg.id
        app.filer.reparse([pk])  # its files read as the campaign's (its table's columns)
        with app.sessions() as s:
            from store.models import Message

            state = s.get(Message, pk).state  # type: ignore[union-attr]
    click.echo(f"message {message} moved to {campaign} ({state})")


@cli.command()
@click.argument("message", required=False)
@click.option(
    "--quarantined",
    "all_quarantined",
    is_flag=True,
    help="Requeue every quarantined message and mailbox entry.",
)
@click.option(
    "--by", default=lambda: os.environ.get("USER", "officer"), help="Who decides (audited)."
)
@pass_ctx
def requeue(c: Ctx, message: str | None, all_quarantined: bool, by: str) -> None:
    """Put quarantined mail back to be filed again, attempts reset, once the cause is fixed.

    MESSAGE is the number shown by `intake status` (or a Message-ID); '#-7' names a mailbox
    entry that was never fetched (it is fetched at the next poll). Stored messages are filed now.
    Example: intake requeue 42     (or: intake requeue --quarantined)
    """
    from sqlalchemy import select

    from intake.officer import requeue as do_requeue
    from store.models import Message

    if (message is None) == (not all_quarantined):
        raise click.UsageError("give MESSAGE or --quarantined (not both)")
    with c.app() as app:
        with app.sessions.begin() as s:
            r = do_requeue(s, message, by=by, now=app.clock.now())
        app.filer.process_many(r.messages)
        with app.sessions() as s:
            states = [m.state for m in s.scalars(select(Message).where(Message.id.in_(r.messages)))]
    counts = ", ".join(f"{states.count(st)} {st}" for st in sorted(set(states))) or "none"
    click.echo(
        f"{len(r.messages)} message(s) requeued and filed again ({counts}); "
        f"{len(r.entries)} mailbox entr{'y' if len(r.entries) == 1 else 'ies'} "
        f"to fetch at the next poll"
    )


@cli.group()
def outbox() -> None:
    """The outbox of receipts, reminders and digests: send again what failed."""


@outbox.command("retry")
@click.option(
    "--failed",
    is_flag=True,
    help="Also requeue mail given up on (refused for good, e.g. 550, or out of tries).",
)
@click.option(
    "--by", default=lambda: os.environ.get("USER", "officer"), help="Who decides (audited)."
)
@pass_ctx
def outbox_retry(c: Ctx, failed: bool, by: str) -> None:
    """Send queued mail now instead of after its backoff; --failed requeues failed mail too.

    Mail already sent is never sent again. Fix the cause first (an address, the SMTP account).
    Example: intake outbox retry --failed
    """
    from notifier.outbox import requeue as do_requeue

    with c.app() as app:
        with app.sessions.begin() as s:
            waiting, again = do_requeue(s, app.clock.now(), failed=failed, by=by)
        d = app.notifier().deliver()
    click.echo(
        f"{len(again)} failed mail requeued, {len(waiting)} made due now; "
        f"{d.sent} sent, {d.retried} to retry, {d.failed} failed"
    )
    if d.error:
        click.echo(f"error: {d.error}", err=True)
        sys.exit(1)


@cli.group()
def auth() -> None:
    """OAuth2 (XOAUTH2) for Google and Microsoft 365 mailboxes: log in once, see the token."""


_WHICH = [
    click.option(
        "--mailbox",
        "which",
        flag_value="mailbox",
        default=True,
        help="The [mailbox] login (default; covers SMTP too when [smtp] shares it).",
    ),
    click.option("--smtp", "which", flag_value="smtp", help="The [smtp] login of its own."),
]


@auth.command("login")
@_WHICH[0]
@_WHICH[1]
@click.option(
    "--method",
    type=click.Choice(["auto", "device", "browser"]),
    default="auto",
    show_default=True,
    help="auto: device code for Microsoft/custom, browser for Google.",
)
@click.option(
    "--no-browser", is_flag=True, help="Do not open a browser here; paste the address instead."
)
@pass_ctx
def auth_login(c: Ctx, which: str, method: str, no_browser: bool) -> None:
    """Obtain the refresh token once (device code or browser sign-in); kept 0600 in token_file.

    Example: intake --config config.toml auth login
    """
    import webbrowser

    from intake.authlogin import login, render_status
    from intake.oauth import settings_for
    from intake.oauthtokens import OAuth2Tokens

    cfg = c.config()
    st = settings_for(cfg, which)
    status = login(
        st,
        OAuth2Tokens(st),
        out=click.echo,
        method=method,
        open_browser=None if no_browser else webbrowser.open,
        read_line=lambda: input("address> "),
    )
    click.echo(render_status(status, status.obtained_at or status.expires_at or _now()))


@auth.command("status")
@_WHICH[0]
@_WHICH[1]
@pass_ctx
def auth_status(c: Ctx, which: str) -> None:
    """Show the OAuth2 login: account, scopes, expiry, token file (never a token).

    Example: intake --config config.toml auth status --smtp
    """
    from intake.authlogin import render_status
    from intake.oauth import settings_for
    from intake.oauthtokens import OAuth2Tokens

    st = settings_for(c.config(), which)
    click.echo(render_status(OAuth2Tokens(st).status(), _now()))


def _now() -> datetime:
    from core.clock import SystemClock

    return SystemClock().now()


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

    cfg = c.config()
    engine = make_engine(cfg.store_url)
    upgrade(engine, files_root=cfg.files_dir)
    click.echo(f"database at revision {current_revision(engine)}")
    engine.dispose()


@db.command("migrate-to")
@click.argument("url")
@pass_ctx
def db_migrate_to(c: Ctx, url: str) -> None:
    """Copy the whole store into another (empty) database and verify it: counts and checksums.

    Afterwards point [store] url at the new database. The file store is not moved.
    Example: intake db migrate-to postgresql+psycopg://intake@127.0.0.1/intake
    """
    from store.db import make_engine
    from store.migrate import migrate

    source = make_engine(c.config().store_url)
    target = make_engine(url)
    try:
        done = migrate(source, target)
    finally:
        source.dispose()
        target.dispose()
    for r in done.tables:
        click.echo(f"{r.name:<16} {r.rows:>8} rows  sha256 {r.checksum[:16]}  ok")
    if done.already_copied:
        click.echo(
            "already copied and verified: the target holds every table with the same rows "
            "and checksum (an earlier run committed the copy); nothing was written"
        )
    else:
        click.echo("verified: every table has the same rows and checksum in the target")


@cli.command()
@click.option("--no-idle", is_flag=True, help="Poll on the interval only; do not use IMAP IDLE.")
@click.option(
    "--standby",
    is_flag=True,
    help="If another daemon holds this mailbox, wait and take over when it stops.",
)
@pass_ctx
def run(c: Ctx, no_idle: bool, standby: bool) -> None:
    """Run the daemon: poll (and IDLE), send due notices, until SIGTERM/SIGINT.

    Refuses to start when another daemon runs on the same store and mailbox (--standby waits).
    Example: intake --config /etc/intake/config.toml run
    """
    from intake.daemon import Daemon

    app = c.app(tty=False)
    try:
        notifier = app.notifier()
        code = Daemon(app, notify=notifier.tick).run(
            idle=not no_idle, standby=5.0 if standby else 0.0
        )
    finally:
        app.close()
    sys.exit(code)


def _at(app: App, at: datetime | None) -> datetime:
    if at is None:
        return app.clock.now()
    return at if at.tzinfo else at.replace(tzinfo=app.cfg.campaign.tz)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Show what is due; queue and send nothing.")
@click.option(
    "--at", "at", type=Instant(), help="Judge at this instant (ISO 8601; local time if no offset)."
)
@pass_ctx
def remind(c: Ctx, dry_run: bool, at: datetime | None) -> None:
    """Send (or show) the reminders and overdue notices due at an instant.

    Each campaign's notices go to its own units; each unit and slot is sent once, ever;
    complete units get nothing. --dry-run prints one line a notice: campaign, unit, kind, slot.
    Example: intake remind --dry-run --at 2021-10-07T08:00
    """
    with c.app() as app:
        n = app.notifier()
        now = _at(app, at)
        if dry_run:
            _, notices = n.due_reminders(now)
            for notice in notices:
                click.echo(
                    f"{notice.campaign:<24} {notice.unit:<24} {notice.kind:<9} "
                    f"{notice.slot:<24} {', '.join(notice.to)}  missing: "
                    f"{', '.join(notice.missing)}"
                )
            click.echo(f"{len(notices)} notice(s) due")
            return
        queued = n.queue_reminders(now)
        d = n.deliver()
    click.echo(f"{queued} notice(s) queued; {d.sent} sent, {d.retried} to retry, {d.failed} failed")
    if d.error:
        click.echo(f"error: {d.error}", err=True)


@cli.command()
@click.option("--send", is_flag=True, help="Queue the digest now and send it.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML here.")
@click.option("--at", "at", type=Instant(), help="Build it as of this instant (ISO 8601).")
@pass_ctx
def digest(c: Ctx, send: bool, out: Path | None, at: datetime | None) -> None:
    """Build the daily digest (Vietnamese, with the consolidated workbook); write or send it.

    Example: intake digest --out /tmp/digest.html
    """
    if not send and not out:
        raise click.UsageError("give --send or --out FILE.html")
    with c.app() as app:
        n = app.notifier()
        now = _at(app, at)
        if out:
            mail, workbook = n.build_digest(now)
            _write_digest(out, (mail.html or mail.text).encode("utf-8"), workbook)
            click.echo(f"wrote {out} and {out.with_suffix('.xlsx')}")
        if send:
            queued = n.queue_digest(now, force=True)
            d = n.deliver()
            click.echo(f"{queued} digest queued; {d.sent} sent")
            if d.error:
                click.echo(f"error: {d.error}", err=True)
                sys.exit(1)


def _write_digest(out: Path, html: bytes, workbook: bytes) -> None:
    """The HTML and its workbook beside it, never through a link (store.safefs)."""
    from store.safefs import LinkRefused, SafeDir

    try:
        with SafeDir.open(out.parent) as folder:
            names = (out.name, out.with_suffix(".xlsx").name)
            for name in names:
                folder.refuse_link(name)
            folder.write(names[0], html)
            folder.write(names[1], workbook)
    except LinkRefused as e:
        raise IntakeError(
            f"cannot write the digest: {e}; remove the link or choose another --out"
        ) from e
    except OSError as e:
        raise IntakeError(
            f"cannot write the digest to {out}: {e.strerror or e}; "
            "give --out a file in an existing folder you can write to"
        ) from e


@cli.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write into (created).",
)
@pass_ctx
def export(c: Ctx, out: Path) -> None:
    """Write the consolidated workbook and one folder per unit with its files, for the archive.

    Example: intake export --out ~/tuan-le-htsd-2021
    """
    from intake.export import export_all

    with c.app() as app:
        r = export_all(app, out)
    click.echo(
        f"wrote {out}: workbook, {r.units} unit folder(s), {r.files} file(s)"
        + (f", {len(r.failures)} not written" if r.failures else "")
    )
    for line in r.failures:
        click.echo(f"error: {out / line}", err=True)
    if r.failures:
        sys.exit(1)


@cli.command()
@pass_ctx
def doctor(c: Ctx) -> None:
    """Check config, roster, database, IMAP login and folder, SMTP, disk and time zone.

    One line per check with a fix for each failure; exits non-zero when any check fails.
    Example: intake --config /etc/intake/config.toml doctor
    """
    from intake.doctor import render, run_checks

    checks = run_checks(c.config_path)
    click.echo(render(checks))
    sys.exit(0 if all(ch.ok for ch in checks) else 1)


@cli.command()
@click.option(
    "--messages",
    default=20,
    show_default=True,
    type=click.IntRange(1, 500),
    help="How many emails to seed.",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the store, files and config in this directory for inspection.",
)
def demo(messages: int, keep: Path | None) -> None:
    """Run the real IMAP path once against an embedded server with sample mail; print status.

    Needs no mail server and no account; leaves no files or processes behind (unless --keep).
    Example: intake demo     (or: intake demo --keep /tmp/intake-demo)
    """
    from intake.demo import run_demo

    result = run_demo(messages, keep=keep)
    click.echo(result.report)
    if result.poll.error:
        sys.exit(1)


def main() -> None:
    cli(prog_name="intake")


if __name__ == "__main__":
    main()
