"""Run `intake poll --once` with a crash armed at one point of the spine, for the crash tests:

    python -m tests.support.crashdriver CONFIG TARGET WHEN N

kills its own process group (the parse workers too) with SIGKILL on the N-th call of TARGET,
`before` or `after` the call. No hook lives in the product: the targets are patched here."""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

# name -> (module, class or None, attribute)
TARGETS: dict[str, tuple[str, str | None, str]] = {
    # the per-message step of storing (raw file written, headers read); the poller commits the
    # rows of a whole fetched batch together afterwards
    "store_raw": ("intake.poll", None, "put_raw"),
    "put": ("store.files", "FileStore", "put"),
    "fetch": ("intake.imap", "ImapMailbox", "fetch"),
    "sizes": ("intake.imap", "ImapMailbox", "sizes"),
    "search": ("intake.imap", "ImapMailbox", "search_from"),
    "mark": ("intake.imap", "ImapMailbox", "mark_processed"),
    "mark_done": ("store.ledger", None, "mark_server_done"),
    "record_uids": ("store.ledger", None, "record_uids"),
    # the filer waiting for one message's parse result while the workers parse the next ones
    "parsed": ("intake.parsestage", "ParseStage", "_judge"),
    "apply": ("intake.filing", "Filer", "apply"),
    "recompute": ("intake.filing", None, "recompute"),
    "beat": ("store.ledger", None, "beat"),
}


def die() -> None:
    sys.stdout.flush()
    os.killpg(os.getpgid(0), signal.SIGKILL)


def arm(target: str, when: str, n: int) -> None:
    calls = 0

    def tick(phase: str) -> None:
        nonlocal calls
        if phase == "before":
            calls += 1
        if phase == when and calls == n:
            die()

    if target == "commit":  # every transaction commit of the store, via SQLAlchemy's events
        event.listen(Session, "before_commit", lambda _s: tick("before"))
        event.listen(Session, "after_commit", lambda _s: tick("after"))
        return
    module_name, cls_name, attr = TARGETS[target]
    module = importlib.import_module(module_name)
    owner: Any = getattr(module, cls_name) if cls_name else module
    original: Callable[..., Any] = getattr(owner, attr)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tick("before")
        result = original(*args, **kwargs)
        tick("after")
        return result

    setattr(owner, attr, wrapper)


def main() -> None:
    config, target, when, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    arm(target, when, n)
    from intake.cli import cli

    cli.main(["--config", config, "poll", "--once"], standalone_mode=True)


if __name__ == "__main__":
    main()
