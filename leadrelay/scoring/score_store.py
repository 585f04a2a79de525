"""Claiming a batch of new or changed leads, scoring them and moving their stage, in one go."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.bulk import is_one_of
from leadrelay.db import claim
from leadrelay.gc_pause import collector_paused
from leadrelay.raw_read import fetch_dicts
from leadrelay.history import append_history, history_row
from leadrelay.lead_view import FACT_FIELDS
from leadrelay.lifecycle import Transition, apply_transitions
from leadrelay.scoring.score import UNQUALIFIED, ScoringRules, score_lead, stage_after_scoring
from leadrelay.models import EngagementEvent, Lead, Stage

# What scoring rules may read (the lead's facts, as `leadrelay.lead_view` names them) and what
# rescoring compares; leads are loaded as plain dicts, not ORM objects, for speed.
SCORED_COLUMNS = (
    Lead.id, *(getattr(Lead, name) for name in FACT_FIELDS), Lead.list_kind, Lead.score_total, Lead.score_breakdown,
)


@dataclass
class BatchOutcome:
    claimed: int = 0
    stages: Counter = field(default_factory=Counter)  # stage -> leads moved into it
    lead_ids: list[int] = field(default_factory=list)  # every lead scored


def claim_leads_to_score(session: Session, limit: int, after: int | None = None) -> list[dict]:
    """Up to `limit` leads waiting to be scored (in id order, above `after` if given), locked for
    this transaction (skipping rows another worker holds, on PostgreSQL)."""
    query = select(*SCORED_COLUMNS).where(Lead.needs_scoring.is_(True))
    if after is not None:
        query = query.where(Lead.id > after)
    query = claim(session, query.order_by(Lead.id).limit(limit))
    session.flush()  # as session.execute would: leads added in this session are claimable too
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return fetch_dicts(connection, query)  # the scored columns need no SQLAlchemy result processing
    result = connection.execute(query)
    names = tuple(result.keys())
    return [dict(zip(names, row)) for row in result]


def engagement_by_lead(session: Session, lead_ids: list[int], as_of: datetime) -> dict[int, list[tuple[str, datetime]]]:
    rows = session.execute(
        select(EngagementEvent.lead_id, EngagementEvent.kind, EngagementEvent.occurred_at).where(
            is_one_of(session, EngagementEvent.lead_id, lead_ids), EngagementEvent.occurred_at <= as_of
        )
    )
    events: dict[int, list[tuple[str, datetime]]] = {}
    for lead_id, kind, occurred_at in rows:
        events.setdefault(lead_id, []).append((kind, occurred_at))
    return events


@collector_paused  # the batch's rows die when it returns: they need no cyclic collection
def score_next_batch(session: Session, rules: ScoringRules, as_of: datetime, limit: int, actor: str,
                     flow_run_id: str | None = None, after: int | None = None) -> BatchOutcome:
    """Score one claimed batch, move stages (new -> mql or nurturing, nurturing -> mql) and record
    every change in history; the caller's unit of work commits it all as one."""
    leads = claim_leads_to_score(session, limit, after)
    outcome = BatchOutcome(claimed=len(leads), lead_ids=[lead["id"] for lead in leads])
    if not leads:
        return outcome
    events = engagement_by_lead(session, outcome.lead_ids, as_of)
    updates, history, moves = [], [], []
    for lead in leads:
        lead_id, stage = lead["id"], lead["stage"]
        score = score_lead(lead, events.get(lead_id, ()), rules, as_of)
        breakdown = list(score.breakdown)
        updates.append({
            "id": lead_id, "fit_score": score.fit, "engagement_score": score.engagement,
            "score_total": score.total, "tier": score.tier, "score_breakdown": breakdown,
            "scored_at": as_of, "needs_scoring": False, "updated_at": as_of, "stage": stage,
        })
        if breakdown != lead["score_breakdown"] or stage == Stage.new:
            history.append(history_row(lead_id, "scored", actor, as_of, {
                "total": score.total, "fit": score.fit, "engagement": score.engagement, "tier": score.tier,
                "previous_total": lead["score_total"]}, flow_run_id=flow_run_id))
        move = stage_after_scoring(stage, score, rules.mql_threshold)
        if move:
            moves.append(Transition(lead_id, stage, move[0], move[1], nurture_reason=UNQUALIFIED))
    append_history(session, history)
    # Scores and stage in one write per lead; each lead's history reads `scored`, then `stage_changed`.
    outcome.stages.update(apply_transitions(session, moves, as_of, actor, flow_run_id, row_updates=updates).moved)
    return outcome
