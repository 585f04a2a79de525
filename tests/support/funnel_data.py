"""A small funnel made the way production makes it (import, scoring, hand-off, answers, SLA,
nurture), for report tests that compare numbers across the CLI and the web page."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from leadrelay.config.rules import load_rules
from leadrelay.db import unit_of_work
from leadrelay.email.rendering import Sender
from leadrelay.handoff.answers import answer_handoff
from leadrelay.handoff.handoff_store import HandoffContext, hand_off_new_mqls
from leadrelay.handoff.sla_store import enforce_sla
from leadrelay.intake.importer import import_csv
from leadrelay.models import Handoff
from leadrelay.nurture.nurture_store import NurtureContext, nurture_next_batch
from leadrelay.scoring.score_store import score_next_batch
from tests.factories import REPO, SECRET, T0

RULES = load_rules(REPO / "config")
SENDER = Sender("marketing@example.com", "leadrelay", "1 Main St")
BUYER = "{n},Buyer{n},CEO,Acme{n},1500,250000,1,yes"
STUDENT = "{n},Student{n},Student,,,0,,"


def seed_funnel(engine: Engine, directory: Path) -> None:
    """Two weeks of leads: week one 6 buyers and 4 students from a fair, week two 3 buyers from the
    website; of the 9 handoffs, 2 accepted, 3 rejected (2 bad-timing, 1 no-budget), the rest left
    to breach their SLA."""
    def batch(name: str, rows: list[str], at, source: str) -> None:
        path = directory / name
        lines = [row.format(n=f"{name[:-4]}{i}") for i, row in enumerate(rows)]
        path.write_text("email,first_name,title,company,company_size,budget_usd,timeframe_months,demo_request\n" +
                        "\n".join(f"{line.split(',', 1)[0]}@example-{source}.com,{line.split(',', 1)[1]}"
                                  for line in lines) + "\n", encoding="utf-8")
        import_csv(path, at, source, "internal", engine)
        ctx = HandoffContext(rules=RULES, secret=SECRET, base_url="http://links.test", sender=SENDER,
                             actor="flow:pipeline")
        with unit_of_work(engine) as session:
            score_next_batch(session, RULES.scoring, at, 100, "flow:pipeline")
            hand_off_new_mqls(session, ctx, at, 100)

    batch("fair.csv", [BUYER] * 6 + [STUDENT] * 4, T0, "fair")
    batch("web.csv", [BUYER] * 3, T0 + timedelta(days=7), "website")
    answers = ["accept", "accept", ("reject", "bad-timing"), ("reject", "bad-timing"), ("reject", "no-budget")]
    with unit_of_work(engine) as session:
        open_handoffs = list(session.scalars(select(Handoff).where(Handoff.status == "open").order_by(Handoff.id)))
        for handoff, answer in zip(open_handoffs, answers):
            decision, reason = (answer, None) if isinstance(answer, str) else answer
            answer_handoff(session, handoff.id, handoff.rep_email, decision, reason, None,
                           handoff.created_at + timedelta(hours=1), actor=f"rep:{handoff.rep_email}")
    later = T0 + timedelta(days=9)
    ctx = HandoffContext(rules=RULES, secret=SECRET, base_url="http://links.test", sender=SENDER, actor="flow:sla")
    nurture = NurtureContext(sequences=RULES.sequences, secret=SECRET, base_url="http://links.test",
                             sender=SENDER, actor="flow:nurture")
    with unit_of_work(engine) as session:
        enforce_sla(session, ctx, later, limit=100)
        nurture_next_batch(session, nurture, later, limit=100)
