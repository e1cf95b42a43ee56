"""The campaign decision applied to a message being filed: its evidence gathered from the staged
parts, `intake.campaigns.classify` asked, and the answer written on the message and its
attachments — the campaign (or "other"), a file placed apart when one email carries several
campaigns' files, the message set aside for the officer when it is unclear. An officer's
decision (`intake move`) is kept on a reparse.

Items are the campaign's: a campaign whose table is not the seed's gets `data_table` from a file
whose table has its columns, and never from the seed's table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.campaignconfig import OTHER, CampaignConfig
from intake.campaigns import (
    CampaignDecision,
    CampaignEvidence,
    CampaignSpec,
    DocEvidence,
    classify,
    norm,
    table_fit,
)
from intake.parsestage import Staged
from store import facts
from store.models import Attachment, Message, MessageState


@dataclass(frozen=True)
class Campaigns:
    """The campaigns of a filing run, with what the classifier needs (built once per run)."""

    configs: tuple[CampaignConfig, ...]
    specs: tuple[CampaignSpec, ...]
    names: frozenset[str] = frozenset()  # folded words of the roster's unit names

    @staticmethod
    def of(configs: Sequence[CampaignConfig], unit_names: Sequence[str] = ()) -> Campaigns:
        words = frozenset(w for n in unit_names for w in norm(n).split())
        return Campaigns(tuple(configs), tuple(CampaignSpec.of(c) for c in configs), words)

    def config(self, cid: str) -> CampaignConfig | None:
        return next((c for c in self.configs if c.id == cid), None)

    def spec(self, cid: str) -> CampaignSpec | None:
        return next((c for c in self.specs if c.id == cid), None)


def doc_evidence(staged: Staged) -> list[DocEvidence]:
    out = []
    for p in staged.parts:
        f = p.facts
        lines = (
            [ln.strip() for ln in f.report.text.splitlines()[:15] if ln.strip()] if f.report else []
        )
        out.append(
            DocEvidence(
                filename=f.filename,
                title=f.report.title if f.report else "",
                headings=(*f.headings, *lines),
                items=f.items,
                seed_table=f.data_table is not None and bool(f.data_table.rows),
            )
        )
    return out


def decide(
    staged: Staged, msg: Message, campaigns: Campaigns, unit_code: str, unit_kind: str
) -> CampaignDecision:
    parsed = staged.parsed
    lines = [ln.strip() for ln in parsed.text.splitlines() if ln.strip()]
    ev = CampaignEvidence(
        subject=parsed.subject,
        body="\n".join(lines[:40]),
        docs=tuple(doc_evidence(staged)),
        received_at=msg.received_at,
        unit_code=unit_code,
        unit_kind=unit_kind,
    )
    return classify(ev, campaigns.specs, names=campaigns.names)


def place(
    msg: Message,
    rows: Sequence[Attachment],
    staged: Staged,
    campaigns: Campaigns,
    unit_code: str,
    unit_kind: str,
) -> None:
    """Write the campaign decision on `msg` (state, campaign, reason) and on its attachments.
    Called after the unit decision: `msg.state` is filed, unassigned or ignored."""
    for att in rows:
        att.campaign_id = ""
    if msg.state == MessageState.IGNORED:
        msg.campaign_id, msg.campaign_by, msg.campaign_reason, msg.campaign_candidates = (
            "",
            "",
            "",
            "",
        )
        return
    officer = msg.campaign_by not in ("", "auto") and (
        msg.campaign_id == OTHER or campaigns.config(msg.campaign_id) is not None
    )
    if officer:
        _items(rows, staged, campaigns, msg.campaign_id)
        if msg.campaign_id == OTHER:
            msg.state = MessageState.OTHER
        return
    d = decide(staged, msg, campaigns, unit_code, unit_kind)
    msg.campaign_by = "auto"
    msg.campaign_reason = d.reason[:2000]
    msg.campaign_candidates = facts.campaign_candidates_json(
        (c.id, c.score, c.why) for c in d.candidates
    )
    if d.status == "unclear":
        msg.campaign_id = ""
        if msg.state == MessageState.FILED:
            # the unit stays known; the officer names the campaign
            msg.state = MessageState.UNASSIGNED
            msg.reason = f"campaign unclear: {d.reason}"[:2000]
        # when the unit is unclear too, its reason stays: the officer assigns the unit first,
        # and the campaign's own reason is kept in campaign_reason
        return
    msg.campaign_id = d.campaign or OTHER
    if d.status == "other":
        msg.state = MessageState.OTHER
        return
    for index, cid in d.per_attachment:
        if index < len(rows) and cid != msg.campaign_id:
            rows[index].campaign_id = cid
    _items(rows, staged, campaigns, msg.campaign_id)


def _items(rows: Sequence[Attachment], staged: Staged, campaigns: Campaigns, home: str) -> None:
    """`data_table` as the campaign of each file reads it (see the module docstring)."""
    docs = doc_evidence(staged)
    for att, doc in zip(rows, docs, strict=False):
        spec = campaigns.spec(att.campaign_id or home)
        if spec is None or spec.seed_table:
            continue
        items = set(filter(None, att.items.split(",")))
        items.discard("data_table")
        if table_fit(spec, doc) >= 0.6:
            items.add("data_table")
        att.items = ",".join(sorted(items))
