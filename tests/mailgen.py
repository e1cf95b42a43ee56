"""Realistic campaign mail for tests: the generator that ships with the package
(`intake.demo_mail`), so the demo, the benchmark and the tests read the same kind of mail."""

from __future__ import annotations

from pathlib import Path

from intake.demo_mail import campaign_messages


def campaign_mailbox(roster: Path, n: int, seed: int) -> list[bytes]:
    """`n` unit emails (a bounce every twentieth) drawn from `roster`, deterministic for `seed`."""
    return campaign_messages(roster, n=n, seed=seed)
