"""Rescoring every lead at one `as_of`: the scheduled decay rescore and `leadrelay rescore`.

A run walks the leads by id in batches. Each batch is read in a few queries, scored with
`score_lead`, written with `leadrelay.bulk` (scores), `leadrelay.history` (one `rescored` event
per lead written) and `leadrelay.lifecycle` (stage moves), and the run's checkpoint
(`rescore_run.last_lead_id`) moves past it, all in the caller's unit of work: a run that crashed
half-way is resumed after its last committed batch and never redoes one.

Leads waiting to be scored (`needs_scoring`) are left to the pipeline; leads in a final stage
(won, disqualified) keep the score they were decided with.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, select
from sqlmodel import Session

from leadrelay import clock
from leadrelay.bulk import is_one_of, update_rows
from leadrelay.db import claim, unit_of_work
from leadrelay.history import append_history, history_row
from leadrelay.lifecycle import Transition, apply_transitions
from leadrelay.models import Handoff, Lead, NurtureEnrollment, RescoreRun, Stage
from leadrelay.scoring.rescore_decision import (DECAY, FINAL_STAGES, MODES, NURTURE_REASON, history_detail,
                                               nurtured_for_score, rescore_decision)
from leadrelay.scoring.score import ScoringRules, score_lead
from leadrelay.scoring.score_store import SCORED_COLUMNS, engagement_by_lead

# A run left unfinished is resumed by the next run of its mode without an explicit `as_of` when
# it acts at most this long ago (a crash and a retry); an older one is abandoned and a new run
# starts at now, so a daily rescore never resumes yesterday's `as_of`.
RESUME_WITHIN = timedelta(hours=6)
RESCORE_COLUMNS = (*SCORED_COLUMNS, Lead.tier)


@dataclass
class BatchResult:
    claimed: int = 0  # leads read in this batch (0: the run is finished)
    written: int = 0  # leads whose score was written (each with one `rescored` event)
    tier_changed: int = 0
    kept_by_handoff: int = 0  # MQLs below the threshold that an open handoff kept
    moved: Counter = field(default_factory=Counter)  # to-stage -> leads moved
    lead_ids: list[int] = field(default_factory=list)  # the leads written

    def counts(self) -> dict[str, int]:
        return {"claimed": self.claimed, "written": self.written, "tier_changed": self.tier_changed,
                "kept_by_handoff": self.kept_by_handoff, **{f"to_{stage}": n for stage, n in self.moved.items()}}


def scoring_fingerprint(rules: ScoringRules) -> str:
    """A short hash of the scoring rules: a run resumes only with the rules it started with."""
    return hashlib.sha256(rules.model_dump_json().encode()).hexdigest()[:32]


def start_or_resume(session: Session, mode: str, rules: ScoringRules, as_of: datetime | None,
                    now: datetime) -> tuple[RescoreRun, bool]:
    """The run to work on and whether it is resumed: the newest unfinished run of `mode` with the
    same scoring rules and `as_of` (or, without one, acting within RESUME_WITHIN of `now`); else a
    new run at `as_of` (default `now`), any other unfinished run of the mode marked abandoned."""
    if mode not in MODES:
        raise ValueError(f"unknown rescore mode {mode!r}")
    fingerprint = scoring_fingerprint(rules)
    unfinished = list(session.scalars(claim(session, select(RescoreRun).where(
        RescoreRun.mode == mode, RescoreRun.status == "running").order_by(RescoreRun.id.desc()), skip_locked=False)))
    for run in unfinished:
        same_time = run.as_of == as_of if as_of is not None else now - run.as_of <= RESUME_WITHIN
        if run.config_fingerprint == fingerprint and same_time:
            return run, True
    for run in unfinished:
        run.status, run.finished_at = "abandoned", now
    run = RescoreRun(mode=mode, as_of=as_of or now, config_fingerprint=fingerprint, started_at=now, counts={})
    session.add(run)
    session.flush()
    return run, False


def leads_left(session: Session, run: RescoreRun) -> int:
    """How many leads the run has still to read (for a progress bar)."""
    return session.scalar(select(func.count()).select_from(Lead).where(*_population(run)))


def _population(run: RescoreRun) -> list:
    conditions = [Lead.id > run.last_lead_id, Lead.needs_scoring.is_(False), Lead.stage.not_in(FINAL_STAGES)]
    if run.mode == DECAY:
        # Only engagement decays: a lead without engagement points keeps its score until the config changes.
        conditions.append(Lead.engagement_score != 0)
    return conditions


def open_handoff_leads(session: Session, lead_ids: list[int]) -> set[int]:
    """The leads among `lead_ids` that a rep holds an open handoff of."""
    return set(session.scalars(select(Handoff.lead_id).where(is_one_of(session, Handoff.lead_id, lead_ids),
                                                             Handoff.status == "open")))


def latest_nurture_reasons(session: Session, leads: list[dict]) -> dict[int, str]:
    """The reason of the latest nurture enrollment of each nurtured lead among `leads` (one query)."""
    ids = [lead["id"] for lead in leads if lead["stage"] == Stage.nurturing]
    if not ids:
        return {}
    rows = session.execute(select(NurtureEnrollment.lead_id, NurtureEnrollment.reason)
                           .where(is_one_of(session, NurtureEnrollment.lead_id, ids)).order_by(NurtureEnrollment.id))
    return dict(rows.all())  # ordered by id: the latest enrollment's reason wins


def rescore_next_batch(session: Session, run_id: int, rules: ScoringRules, limit: int, actor: str,
                       flow_run_id: str | None = None) -> BatchResult:
    """Rescore the run's next batch of up to `limit` leads and move its checkpoint past them, in
    the caller's unit of work; `claimed` 0 means the run is finished (and now marked so).
    Leads another worker holds are skipped (PostgreSQL): they are being scored or handed off."""
    run = session.scalars(claim(session, select(RescoreRun).where(RescoreRun.id == run_id), skip_locked=False)).one()
    result = BatchResult()
    if run.status != "running":
        return result
    query = select(*RESCORE_COLUMNS).where(*_population(run)).order_by(Lead.id).limit(limit)
    rows = session.execute(claim(session, query))
    names = tuple(rows.keys())
    leads = [dict(zip(names, row)) for row in rows]
    if not leads:
        run.status, run.finished_at = "finished", clock.now()
        return result
    result.claimed = len(leads)
    ids = [lead["id"] for lead in leads]
    events = engagement_by_lead(session, ids, run.as_of)
    held = open_handoff_leads(session, ids)
    reasons = latest_nurture_reasons(session, leads)
    threshold = rules.mql_threshold
    updates, history, moves = [], [], []
    for lead in leads:
        score = score_lead(lead, events.get(lead["id"], ()), rules, run.as_of)
        rescored = rescore_decision(lead, score, threshold, lead["id"] in held, run.mode,
                                    nurtured_for_score(reasons.get(lead["id"])))
        if rescored is None:
            continue
        updates.append({"id": lead["id"], "fit_score": score.fit, "engagement_score": score.engagement,
                        "score_total": score.total, "tier": score.tier, "score_breakdown": list(score.breakdown),
                        "scored_at": run.as_of, "updated_at": run.as_of})
        history.append(history_row(lead["id"], "rescored", actor, run.as_of,
                                   history_detail(rescored, threshold, run.mode), flow_run_id=flow_run_id))
        if rescored.move:
            stage, reason = rescored.move
            moves.append(Transition(lead["id"], lead["stage"], stage, reason, nurture_reason=NURTURE_REASON))
        result.tier_changed += rescored.tier_changed
        result.kept_by_handoff += rescored.kept_by_handoff
        result.lead_ids.append(lead["id"])
    update_rows(session.connection(), Lead.__table__, updates)
    append_history(session, history)
    # After the scores: each lead's history reads `rescored`, then `stage_changed`.
    result.moved.update(apply_transitions(session, moves, run.as_of, actor, flow_run_id).moved)
    result.written = len(updates)
    run.last_lead_id = ids[-1]
    totals = Counter(run.counts)
    totals.update(result.counts())
    run.counts = dict(totals)
    return result


@dataclass
class RunSummary:
    run_id: int
    as_of: datetime
    resumed: bool
    resumed_after: int  # the checkpoint it resumed after (0 for a new run)
    totals: Counter  # what this call did
    run_totals: Counter = field(default_factory=Counter)  # what the run did in all, resumed parts included


def rescore_all(engine, rules: ScoringRules, mode: str, as_of: datetime | None, now: datetime, batch_size: int,
                actor: str, on_progress: Callable[[int, int], None] | None = None) -> RunSummary:
    """Start (or resume) a run and rescore batch after batch, each in its own unit of work, until
    every lead is done; `on_progress(done, total)` after each batch."""
    with unit_of_work(engine) as session:
        run, resumed = start_or_resume(session, mode, rules, as_of, now)
        summary = RunSummary(run.id, run.as_of, resumed, run.last_lead_id, Counter())
        total = leads_left(session, run)
    done = 0
    while True:
        with unit_of_work(engine) as session:
            result = rescore_next_batch(session, summary.run_id, rules, batch_size, actor)
            if not result.claimed:
                summary.run_totals = Counter(session.get(RescoreRun, summary.run_id).counts)
                return summary
        summary.totals.update(result.counts())
        done += result.claimed
        if on_progress:
            on_progress(done, max(total, done))
