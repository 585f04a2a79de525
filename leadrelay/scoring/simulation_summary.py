"""What another config would change, added up lead by lead: a pure accumulator that
`leadrelay simulate` feeds batch by batch, so memory stays flat however many leads there are
(counts, a count per rep, and the 20 biggest movers only)."""
from __future__ import annotations

import heapq
import itertools
from collections import Counter
from datetime import datetime
from typing import Any, Iterable, Mapping

from leadrelay.handoff.routing import RouteDecision
from leadrelay.lead_view import iso
from leadrelay.models.types import Stage
from leadrelay.scoring.rescore_decision import stage_after_rescore
from leadrelay.scoring.score import Score

TOP_MOVERS = 20


def score_view(total: int, fit: int, engagement: int, tier: str, breakdown: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A score as `lead show --json` shows it."""
    return {"total": total, "fit": fit, "engagement": engagement, "tier": tier,
            "breakdown": [{"rule": line["rule"], "points": line["points"]} for line in breakdown]}


class SimulationSummary:
    """Counts of what would change when leads are rescored with another config.

    `add_lead` takes one lead as stored (`id`, `email`, `stage`, `score_total`, `fit_score`,
    `engagement_score`, `tier`, `score_breakdown`), its score under the other config and whether a
    rep holds an open handoff of it; `add_routes` the routing of the leads that would become MQLs.
    """

    def __init__(self, live_threshold: int, new_threshold: int, top: int = TOP_MOVERS):
        self.live_threshold, self.new_threshold, self.top = live_threshold, new_threshold, top
        self.leads = 0
        self.score_changed = 0
        self.tier_moves: Counter = Counter()
        self.stage_moves: Counter = Counter()
        self.became_mql = 0
        self.stopped_mql = 0
        self.kept_by_open_handoff = 0
        self.handoffs: Counter = Counter()
        self.unassigned = 0
        self._movers: list[tuple[int, int, int, dict[str, Any]]] = []  # min-heap of (|change|, -id, n, mover)
        self._sequence = itertools.count()

    def add_lead(self, lead: Mapping[str, Any], score: Score, has_open_handoff: bool,
                 nurtured_for_score: bool = True) -> Stage | None:
        """Count one lead; returns the stage it would move to (None when it stays).
        `nurtured_for_score` is False for a nurtured lead that sales sent back (see rescore_decision)."""
        self.leads += 1
        old_total = lead["score_total"] or 0
        if old_total != score.total or list(score.breakdown) != list(lead["score_breakdown"] or []):
            self.score_changed += 1
        if lead["tier"] != score.tier:
            self.tier_moves[f"{lead['tier']}->{score.tier}"] += 1
        move, kept = stage_after_rescore(lead["stage"], score, self.new_threshold, has_open_handoff, old_total,
                                         nurtured_for_score)
        if lead["stage"] == Stage.mql and (kept or move is not None):
            self.stopped_mql += 1
            self.kept_by_open_handoff += kept
        if move is not None:
            self.stage_moves[f"{lead['stage']}->{move[0].value}"] += 1
            self.became_mql += move[0] == Stage.mql
        self._consider_mover(lead, score, score.total - old_total)
        return move[0] if move else None

    def add_routes(self, decisions: Iterable[RouteDecision]) -> None:
        for decision in decisions:
            if decision.rep_email is None:
                self.unassigned += 1
            else:
                self.handoffs[decision.rep_email] += 1

    def _consider_mover(self, lead: Mapping[str, Any], score: Score, change: int) -> None:
        if not change:
            return
        key = (abs(change), -lead["id"])
        if len(self._movers) >= self.top and key <= self._movers[0][:2]:
            return  # not among the biggest: build nothing for it
        mover = {"id": lead["id"], "email": lead["email"], "stage": lead["stage"], "change": change,
                 "old": score_view(lead["score_total"] or 0, lead["fit_score"] or 0, lead["engagement_score"] or 0,
                                   lead["tier"], lead["score_breakdown"] or []),
                 "new": score_view(score.total, score.fit, score.engagement, score.tier, score.breakdown)}
        entry = (*key, next(self._sequence), mover)
        if len(self._movers) >= self.top:
            heapq.heapreplace(self._movers, entry)
        else:
            heapq.heappush(self._movers, entry)

    def biggest_movers(self) -> list[dict[str, Any]]:
        """The leads whose total would change most (either way), biggest first, then by id."""
        return [entry[3] for entry in sorted(self._movers, key=lambda e: (-e[0], -e[1]))]

    def as_dict(self, as_of: datetime, config_dir: str) -> dict[str, Any]:
        """The `simulate --json` document (see the README)."""
        return {
            "as_of": iso(as_of),
            "config_dir": config_dir,
            "leads": self.leads,
            "score_changed": self.score_changed,
            "tiers": {"moved": sum(self.tier_moves.values()), "moves": dict(sorted(self.tier_moves.items()))},
            "mql": {"threshold": {"live": self.live_threshold, "simulated": self.new_threshold},
                    "became": self.became_mql, "stopped": self.stopped_mql,
                    "kept_by_open_handoff": self.kept_by_open_handoff},
            "stage_moves": dict(sorted(self.stage_moves.items())),
            "handoffs": {"total": sum(self.handoffs.values()) + self.unassigned,
                         "by_rep": dict(sorted(self.handoffs.items(), key=lambda item: (-item[1], item[0]))),
                         "unassigned": self.unassigned},
            "biggest_movers": self.biggest_movers(),
        }
