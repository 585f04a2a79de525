"""What rescoring one lead changes: pure functions of the lead as stored, its new score and the
MQL threshold, shared by the scheduled rescore, `leadrelay rescore` and `leadrelay simulate`.

- `decay` mode (the scheduled rescore): a lead is written only when its tier changes, its score
  crosses the MQL threshold, or its stage must move; everything else keeps its stored score.
- `full` mode (`leadrelay rescore`): also when its total or breakdown changed at all.

Stage moves: a lead nurtured for its score (its latest nurture reason is `unqualified`) at or
over the threshold becomes an MQL, as scoring does; a nurtured lead below it stays nurtured. A lead
sales sent back to nurture (a rejection, an SLA that ran out, a lost deal) may still score over the
threshold: a rescore returns it only when its score rises across the threshold, never because it
is still over it (that would hand every rejected lead straight back the next night). An MQL that
falls below the threshold keeps a rep's open handoff (decay never withdraws a lead from a rep) and
stays an MQL; only an MQL that no rep holds yet (nobody could take it) goes back to nurturing.
Later stages are sales' and are never moved.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from leadrelay.models.types import Stage
from leadrelay.scoring.score import UNQUALIFIED, Score, stage_after_scoring

DECAY = "decay"
FULL = "full"
MODES = (DECAY, FULL)
# Final stages keep the score they had when they were decided (scoring can be checked against wins).
FINAL_STAGES = (Stage.won.value, Stage.disqualified.value)


@dataclass(frozen=True)
class Rescored:
    """One lead's rescore: its score before and after, the stage move (to, reason) if any, and
    whether a rep's open handoff kept it an MQL below the threshold."""

    lead_id: int
    old_total: int
    old_tier: str
    score: Score
    move: tuple[Stage, str] | None
    kept_by_handoff: bool

    @property
    def tier_changed(self) -> bool:
        return self.old_tier != self.score.tier


def is_mql_score(total: int | None, threshold: int) -> bool:
    return (total or 0) >= threshold


def stage_after_rescore(stage: str, score: Score, threshold: int, has_open_handoff: bool, old_total: int = 0,
                        nurtured_for_score: bool = True) -> tuple[tuple[Stage, str] | None, bool]:
    """The stage move a rescore makes (or None) and whether an open handoff kept the lead an MQL.
    `old_total` is the stored score; `nurtured_for_score` is False for a lead sales sent to nurture."""
    if stage == Stage.mql and not is_mql_score(score.total, threshold):
        if has_open_handoff:
            return None, True
        return (Stage.nurturing, f"score {score.total} fell below the MQL threshold {threshold} "
                                 "before a rep took the lead"), False
    if stage == Stage.new:  # new leads are the pipeline's to score first
        return None, False
    if stage == Stage.nurturing and not nurtured_for_score and is_mql_score(old_total, threshold):
        return None, False  # sent back by sales while over the threshold: only a rise across it returns it
    return stage_after_scoring(stage, score, threshold), False


def rescore_decision(lead: Mapping[str, Any], score: Score, threshold: int, has_open_handoff: bool,
                     mode: str, nurtured_for_score: bool = True) -> Rescored | None:
    """What rescoring `lead` (a mapping with `id`, `stage`, `score_total`, `tier`,
    `score_breakdown` as stored) to `score` changes, or None when the mode writes nothing for it."""
    old_total = lead["score_total"] or 0
    move, kept = stage_after_rescore(lead["stage"], score, threshold, has_open_handoff, old_total, nurtured_for_score)
    crossed = is_mql_score(old_total, threshold) != is_mql_score(score.total, threshold)
    changed = move is not None or crossed or lead["tier"] != score.tier
    if mode == FULL:
        changed = changed or old_total != score.total or list(score.breakdown) != list(lead["score_breakdown"] or [])
    if not changed:
        return None
    return Rescored(lead["id"], old_total, lead["tier"], score, move, kept)


def history_detail(rescored: Rescored, threshold: int, mode: str) -> dict[str, Any]:
    """The `rescored` history event's detail: the new score, what it was, and why it was written."""
    score = rescored.score
    detail: dict[str, Any] = {"total": score.total, "fit": score.fit, "engagement": score.engagement,
                              "tier": score.tier, "previous_total": rescored.old_total,
                              "previous_tier": rescored.old_tier, "mql_threshold": threshold,
                              "why": "score decay" if mode == DECAY else "rescore with the current config"}
    if rescored.kept_by_handoff:
        detail["kept"] = "below the MQL threshold, but a rep holds its open handoff: it stays an MQL"
    return detail


NURTURE_REASON = UNQUALIFIED  # the track-entry reason of a lead a rescore sends back to nurturing


def nurtured_for_score(latest_nurture_reason: str | None) -> bool:
    """Whether a nurtured lead is there for its score (scoring sent it, reason `unqualified`), not
    because sales sent it back; a lead with no enrollment on record counts as scored there."""
    return latest_nurture_reason in (None, UNQUALIFIED)
