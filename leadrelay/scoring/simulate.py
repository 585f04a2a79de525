"""`leadrelay simulate`: another config directory run over today's leads, writing nothing.

Leads are read by id in batches (the same leads `leadrelay rescore` would rescore: not waiting to be
scored, not won or disqualified), each batch with its engagement and open handoffs, scored with
`score_lead` under the other config and added to a `SimulationSummary`. The leads that would
become MQLs are routed with `leadrelay.handoff.routing` as plain functions, from the reps' current
loads, each batch seeing the assignments the batches before it would have made. Only counts and
the biggest movers are kept, so memory stays flat at any number of leads. On PostgreSQL the
transaction is read-only; on either database it is rolled back.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from leadrelay.bulk import is_one_of
from leadrelay.config.rules import ConfigError, Rules, load_rules
from leadrelay.handoff.handoff_store import rep_loads
from leadrelay.handoff.routing import RepLoad, RouteDecision, route_batch
from leadrelay.lead_view import FACT_FIELDS, rule_view
from leadrelay.models import Account, Lead
from leadrelay.models.types import Stage
from leadrelay.scoring.rescore import RESCORE_COLUMNS, latest_nurture_reasons, open_handoff_leads
from leadrelay.scoring.rescore_decision import FINAL_STAGES, nurtured_for_score
from leadrelay.scoring.score import Score, score_lead
from leadrelay.scoring.score_store import engagement_by_lead
from leadrelay.scoring.simulation_summary import SimulationSummary

SIMULATED_COLUMNS = (*RESCORE_COLUMNS, Lead.fit_score, Lead.engagement_score, Lead.account_id, Lead.phone)


def load_other_config(config_dir: Path) -> Rules:
    """The rules in `config_dir`, checked as the live ones are (errors name the file and key)."""
    if not config_dir.is_dir():
        raise ConfigError(f"{config_dir}: not a directory of config files (scoring.yaml, reps.yaml, ...).")
    return load_rules(config_dir)


class SimulatedRouting:
    """Routes new MQLs batch after batch as the hand-off step would, each batch seeing the
    assignments made before it (open handoffs, round-robin order, new account owners)."""

    def __init__(self, rules: Rules, loads: dict[str, RepLoad], owners: dict[int, str | None], as_of: datetime):
        self.rules, self.as_of = rules, as_of
        self.base = {email.lower(): load for email, load in loads.items()}
        self.owners = owners  # account id -> owner rep, filled per batch and by simulated ownership
        self.added: Counter = Counter()
        self.last_turn: dict[str, int] = {}
        self.turns = 0

    def loads(self) -> dict[str, RepLoad]:
        """The reps' loads with every assignment simulated so far; those assignments count as made
        just before `as_of`, in the order they were made (so round robin goes on turning)."""
        loads = dict(self.base)
        for email, count in self.added.items():
            real = self.base.get(email, RepLoad())
            stamp = self.as_of - timedelta(microseconds=self.turns - self.last_turn[email])
            last = max(real.last_assigned_at, stamp) if real.last_assigned_at else stamp
            loads[email] = RepLoad(real.open_handoffs + count, last)
        return loads

    def route(self, views: list[dict[str, Any]]) -> list[RouteDecision]:
        owners = [self.owners.get(view["account_id"]) if view["account_id"] else None for view in views]
        decisions = route_batch(views, self.rules.routing, self.rules.reps, self.loads(), self.as_of,
                                account_owners=owners)
        for view, decision in zip(views, decisions):
            if decision.rep_email is None:
                continue
            self.added[decision.rep_email] += 1
            self.last_turn[decision.rep_email] = self.turns
            self.turns += 1
            # As hand_off does: the first rep an ownerless account's lead goes to becomes its owner.
            if self.rules.routing.account_ownership and view["account_id"] and not self.owners.get(view["account_id"]):
                self.owners[view["account_id"]] = decision.rep_email
        return decisions


def routing_view(lead: dict[str, Any], score: Score) -> dict[str, Any]:
    """What routing rules see of `lead` once rescored: `rule_view` of the lead with its new score."""
    record = Lead(**{name: lead[name] for name in (*FACT_FIELDS, "id", "account_id", "phone", "list_kind")},
                  tier=score.tier, score_total=score.total, fit_score=score.fit, engagement_score=score.engagement)
    return rule_view(record)


def simulate(engine: Engine, live: Rules, other: Rules, as_of: datetime, batch_size: int, config_dir: str,
             on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """What rescoring every lead with `other` at `as_of` would change, as `SimulationSummary.as_dict`;
    writes nothing."""
    summary = SimulationSummary(live.scoring.mql_threshold, other.scoring.mql_threshold)
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("SET TRANSACTION READ ONLY"))
        try:
            routing = SimulatedRouting(other, rep_loads(session), {}, as_of)
            last_id = 0
            while True:
                query = (select(*SIMULATED_COLUMNS).where(Lead.id > last_id, Lead.needs_scoring.is_(False),
                                                           Lead.stage.not_in(FINAL_STAGES))
                         .order_by(Lead.id).limit(batch_size))
                result = session.execute(query)
                names = tuple(result.keys())
                leads = [dict(zip(names, row)) for row in result]
                if not leads:
                    break
                last_id = leads[-1]["id"]
                _simulate_batch(session, leads, other, as_of, summary, routing)
                if on_progress:
                    on_progress(summary.leads)
        finally:
            session.rollback()
    return summary.as_dict(as_of, config_dir)


def _simulate_batch(session: Session, leads: list[dict[str, Any]], other: Rules, as_of: datetime,
                    summary: SimulationSummary, routing: SimulatedRouting) -> None:
    ids = [lead["id"] for lead in leads]
    events = engagement_by_lead(session, ids, as_of)
    held = open_handoff_leads(session, ids)
    reasons = latest_nurture_reasons(session, leads)
    new_mqls = []
    for lead in leads:
        score = score_lead(lead, events.get(lead["id"], ()), other.scoring, as_of)
        for_score = nurtured_for_score(reasons.get(lead["id"]))
        if summary.add_lead(lead, score, lead["id"] in held, for_score) == Stage.mql:
            new_mqls.append(routing_view(lead, score))
    if not new_mqls:
        return
    wanted = {view["account_id"] for view in new_mqls if view["account_id"] and view["account_id"] not in routing.owners}
    if wanted:
        routing.owners.update(session.execute(select(Account.id, Account.owner_rep).where(is_one_of(session, Account.id, wanted))).all())
    summary.add_routes(routing.route(new_mqls))
