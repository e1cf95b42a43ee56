"""The benchmark's mail server: the tests' private Dovecot launcher (tests/support/dovecot.py),
reused
as is; this adds where the user's Maildir lives, so the benchmark can seed it with files."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/, not the repository, first
    sys.path.insert(0, str(ROOT))

from tests.support.dovecot import Dovecot, available, running  # noqa: E402

__all__ = ["Dovecot", "available", "inbox_maildir", "running"]


def inbox_maildir(server: Dovecot) -> Path:
    """The INBOX of the server's one user (`mail_location = maildir:~/Maildir`)."""
    return server.root / "home" / server.user / "Maildir"
