"""The campaign classifier's cost (issue 15: classification adds at most 5 % to the filing CPU
per message).

A mailbox of the week's unit emails (`intake.demo_mail`) and the rest of the office's mail
(`intake.demo_mixed`: the start-of-year statistics, an email with both campaigns' files, other
mail, two that wait for the officer) is filed into a fresh SQLite store with both campaigns
configured, in this process (parse_workers = 0, so the parse's CPU is this process's too):
store, parse, identify the unit, classify, file. That CPU per message is the filing's. Then
each stored message is staged again and the classification alone is timed on it as the filer
runs it (`intake.campaignfiling.decide`: the evidence gathered from the staged parts, then
`intake.campaigns.classify`; the campaigns' keyword sets built once per run, as the filer does),
best of a few passes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from intake.demo_mail import OFFICE, campaign_messages
from intake.demo_mixed import CAMPAIGNS_TOML, mixed_mailbox

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "examples" / "units-thanh-oai-2021.csv"
TARGET_PERCENT = 5.0
PASSES = 5


def _config(work: Path) -> Path:
    def q(v: object) -> str:
        return json.dumps(v, ensure_ascii=False)

    work.mkdir(parents=True, exist_ok=True)
    path = work / "config.toml"
    path.write_text(
        "\n".join(
            [
                "[store]",
                f"url = {q('sqlite:///' + str(work / 'intake.sqlite3'))}",
                f"files = {q(str(work / 'files'))}",
                "[units]",
                f"roster = {q(str(ROSTER))}",
                f"office_addresses = [{q(OFFICE)}]",
                "[limits]",
                "parse_workers = 0",
                CAMPAIGNS_TOML,
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def measure(work: Path, messages: int = 100) -> dict[str, Any]:
    """Filing CPU per message and the classification's CPU per message, in seconds."""
    from sqlalchemy import select

    from core import config as config_mod
    from core.clock import FixedClock
    from intake.app import App
    from intake.campaignfiling import Campaigns, decide
    from intake.demo import DEMO_NOW
    from intake.parsestage import stage
    from store.models import Message, Unit

    raws = campaign_messages(ROSTER, messages, seed=3) + [m.raw for m in mixed_mailbox(ROSTER)]
    mail = work / "mail"
    mail.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(raws):
        (mail / f"{i:04d}.eml").write_bytes(raw)
    cfg = config_mod.load(_config(work))
    with App(cfg, FixedClock(DEMO_NOW)) as app:
        app.ensure_roster()
        t = time.process_time()
        result = app.import_paths([mail])
        filing = time.process_time() - t
        assert result.stored == len(raws), result
        with app.sessions() as s:
            units = {u.id: u for u in s.scalars(select(Unit))}
            msgs = list(s.scalars(select(Message).order_by(Message.id)))
            s.expunge_all()
        staged = [(m, stage(m.sha256, str(cfg.files_dir), cfg.limits)) for m in msgs]
        names = [u.name for u in units.values()]
        best = float("inf")
        for _ in range(PASSES):
            t = time.process_time()
            camps = Campaigns.of(cfg.campaigns, names)
            for m, st in staged:
                unit = units.get(m.unit_id) if m.unit_id is not None else None
                decide(st, m, camps, unit.code if unit else "", unit.kind if unit else "")
            best = min(best, time.process_time() - t)
        states: dict[str, int] = {}
        for m in msgs:
            states[m.state] = states.get(m.state, 0) + 1
    n = len(raws)
    return {
        "messages": n,
        "filing_s": filing / n,
        "classify_s": best / n,
        "percent": 100.0 * best / filing,
        "states": states,
    }
