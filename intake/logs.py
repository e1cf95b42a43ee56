"""Logging set-up for the entry point only: readable lines for journald, or JSON lines.

Every line carries its time with the zone: readable lines in the machine's local time with its
UTC offset (`2021-10-05 09:00:00.123+07:00`), JSON lines in UTC (`...+00:00`), so a line read
on another machine, or beside the store's UTC times, is never an hour or seven off.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


class TextFormatter(logging.Formatter):
    """`TIME LEVEL LOGGER: MESSAGE`, TIME local with its UTC offset, to the millisecond."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        local = datetime.fromtimestamp(record.created, UTC).astimezone()
        return local.isoformat(sep=" ", timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class _Routine(logging.Filter):
    """Drops what every start says whatever happens: Alembic's "Context impl SQLiteImpl." and
    "Will assume transactional DDL." (the migrations it runs are still logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name.startswith("alembic")
            and record.levelno <= logging.INFO
            and str(record.msg).startswith(("Context impl", "Will assume"))
        )


def setup(level: int, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    if level > logging.DEBUG:
        handler.addFilter(_Routine())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # imaplib/imapclient log protocol lines (with message bodies) at DEBUG: keep them quiet;
    # their INFO lines ("Connection closed") only at -vv
    logging.getLogger("imapclient").setLevel(
        logging.INFO if level <= logging.DEBUG else logging.WARNING
    )
    # progress of long work is reported even at the default WARNING level
    logging.getLogger("intake.progress").setLevel(min(level, logging.INFO))
