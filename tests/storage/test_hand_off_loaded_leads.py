"""`hand_off` given loaded `Lead` objects (SLA reassignment, `handoff reassign`): the new owner and
an ownerless account's first rep are written in one statement per table and set on the objects
as stored, so nothing is left for the ORM to write and later reads agree. SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from leadrelay.config.rules import load_rules
from leadrelay.db import unit_of_work
from leadrelay.email.rendering import Sender
from leadrelay.handoff.handoff_store import HandoffContext, hand_off
from leadrelay.models import Account, Lead
from tests.factories import REPO, T0, add_scored_lead


def test_hand_off_sets_owners_on_loaded_leads_and_accounts_as_stored(engine):
    ctx = HandoffContext(rules=load_rules(REPO / "config"), secret="s", base_url="http://links.test",
                         sender=Sender("m@example.com", "leadrelay", "1 Street"), actor="flow:test")
    with unit_of_work(engine) as session:
        account = Account(domain="acme-buyer.com", created_at=T0)
        session.add(account)
        session.flush()
        ids = [add_scored_lead(session, f"{name}@acme-buyer.com", country="DE", tier="warm", score_total=70,
                               fit_score=60, engagement_score=10, account_id=account.id).id
               for name in ("carla", "dora")]
    later = T0 + timedelta(hours=1)
    with unit_of_work(engine) as session:
        leads = [session.get(Lead, lead_id) for lead_id in ids]
        opened = hand_off(session, leads, ctx, later)
        assert [lead.owner_rep for lead in leads] == [h.rep_email for h in opened]
        assert [lead.updated_at for lead in leads] == [later, later]
        loaded_account = session.get(Account, account.id)
        assert loaded_account.owner_rep == opened[0].rep_email  # the first rep of an ownerless account
        assert not session.dirty
    with unit_of_work(engine) as session:
        stored = {lead.id: (lead.owner_rep, lead.updated_at) for lead in session.scalars(select(Lead))}
        assert [stored[lead_id] for lead_id in ids] == [(h.rep_email, later) for h in opened]
        assert session.get(Account, account.id).owner_rep == opened[0].rep_email
