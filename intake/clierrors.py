"""How the `intake` command fails: one line on stderr, `error: …`, naming the input and what to
do, and never a traceback. This is the one place that maps exceptions to those lines; commands
raise and do not print tracebacks themselves.

    exit 2  bad input: a usage error (a bad option value, a missing argument), the config
            (`ConfigError`), any other `IntakeError`, a database URL that cannot be used
            (`StoreUnavailable`), a path that cannot be read or written
    exit 1  anything unexpected (a bug): its type and message; `-vv` logs the traceback

`IntakeGroup` is the class of the top-level group: every subcommand runs inside its `invoke`,
and top-level option errors pass through its `make_context`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

import click

from core.errors import IntakeError

log = logging.getLogger(__name__)


class OneLineError(click.ClickException):
    """What click shows and exits with: `error: MESSAGE` on one line; exit 2 (bad input)."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


class OneLineFailure(OneLineError):
    """The same, exit 1: not the input's fault."""

    exit_code = 1


def _line(message: str, exit_code: int) -> OneLineError:
    return OneLineError(message) if exit_code == 2 else OneLineFailure(message)


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _usage(e: click.UsageError) -> OneLineError:
    path = e.ctx.command_path if e.ctx is not None else "intake"
    return _line(f"{path}: {e.format_message().rstrip('.')} (see '{path} --help')", e.exit_code)


def describe(e: Exception) -> OneLineError:
    """The one line (and exit code) for an exception that reached the command line."""
    from sqlalchemy.exc import SQLAlchemyError

    from store.db import StoreUnavailable
    from store.migrate import MigrationError

    if isinstance(e, click.UsageError):
        return _usage(e)
    if isinstance(e, click.ClickException):
        return _line(e.format_message(), e.exit_code)
    if isinstance(e, IntakeError | StoreUnavailable | MigrationError):
        return OneLineError(str(e))
    if isinstance(e, OSError) and e.filename is not None:
        return OneLineError(f"{e.filename}: {e.strerror or e}; check the path and its permissions")
    log.debug("unexpected error", exc_info=e)
    if isinstance(e, SQLAlchemyError):
        orig = getattr(e, "orig", None) or e
        return OneLineFailure(f"database error: {one_line(str(orig))[:300]} (-vv shows where)")
    return OneLineFailure(
        f"unexpected {type(e).__name__}: {one_line(str(e))[:300]} "
        "(a bug: run again with -vv and report the output)"
    )


class IntakeGroup(click.Group):
    """The top-level group: turns whatever a command raises into one line (see the module)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as e:
            raise _usage(e) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, OneLineError):
            raise
        except Exception as e:  # noqa: BLE001 - the command line's one boundary: no tracebacks
            raise describe(e) from None


_VN_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2})[:h](\d{2}))?$")


@dataclass(frozen=True)
class Deadline:
    """A deadline as the officer typed it: naive unless an offset was given; `whole_day` for a
    bare date, which means the end of that day."""

    value: datetime
    whole_day: bool

    def at(self, tz: tzinfo) -> datetime:
        """The instant in `tz` (the campaign's zone) when no offset was given; the end of the
        day (00:00 of the next one) for a bare date."""
        if self.whole_day:
            return datetime.combine(self.value.date() + timedelta(days=1), time(0, 0), tzinfo=tz)
        return self.value if self.value.tzinfo else self.value.replace(tzinfo=tz)


def parse_deadline(value: str) -> Deadline:
    """A date as Vietnamese write it (`15/10/2021`, `15/10/2021 17:00`) or ISO 8601
    (`2021-10-15`, `2021-10-15T17:00+07:00`); ValueError names the ways to write one."""
    text = value.strip()
    m = _VN_DATE.match(text)
    try:
        if m:
            day, month, year, hour, minute = m.groups()
            if hour is None:
                return Deadline(datetime(int(year), int(month), int(day)), True)  # noqa: DTZ001 - naive by design
            return Deadline(
                datetime(int(year), int(month), int(day), int(hour), int(minute)),  # noqa: DTZ001
                False,
            )
        return Deadline(datetime.fromisoformat(text), len(text) == 10)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date: write 15/10/2021 (the end of that day), "
            "15/10/2021 17:00, or ISO 8601 like 2021-10-15T17:00+07:00"
        ) from None


class Until(click.ParamType):
    """A deadline argument (`units extend CODE UNTIL`), refused on the command line when it is
    not a date."""

    name = "DATE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Deadline:
        if isinstance(value, Deadline):
            return value
        try:
            return parse_deadline(str(value))
        except ValueError as e:
            self.fail(str(e), param, ctx)


class Instant(click.ParamType):
    """An ISO 8601 date-time option (`--at`), refused on the command line when it is not one."""

    name = "ISO-DATETIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 date-time, e.g. 2021-10-07T08:00 or "
                "2021-10-07T08:00+07:00",
                param,
                ctx,
            )
