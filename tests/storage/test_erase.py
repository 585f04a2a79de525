"""`erase`: a person's data goes from every table; an anonymised tombstone keeps the counts; the
tombstone is never mailed or handed off again; the same address later is a new lead."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from leadrelay.config.rules import load_rules
from leadrelay.db import unit_of_work
from leadrelay.email.rendering import Sender
from leadrelay.engagement.sendgrid_events import apply_events
from leadrelay.handoff.answers import answer_handoff
from leadrelay.handoff.handoff_store import HandoffContext, claim_new_mqls, hand_off_new_mqls
from leadrelay.intake.form_store import store_form
from leadrelay.intake.importer import import_csv
from leadrelay.models import Handoff, Lead, OutboxEmail
from leadrelay.nurture.nurture_store import NurtureContext, nurture_next_batch
from leadrelay.privacy.erase import ErasureRefused, NothingToErase, erase_person
from leadrelay.reporting.funnel import funnel_report
from leadrelay.scoring.score_store import score_next_batch
from tests.factories import REP, REPO, SECRET, T0, events_of, sendgrid_event

EMAIL = "carla.boss@acme-buyer.com"
OTHER = "otto@acme-buyer.com"
# What must not be anywhere after the erasure (lower-case): the address, the names, the phone.
PERSONAL = (EMAIL, "carla", "boss", "+49 30 1234567")
SENDER = Sender("marketing@example.com", "leadrelay", "1 Main St")
RULES = load_rules(REPO / "config")


def the_persons_life(engine, tmp_path: Path) -> int:
    """Carla (and Otto) imported with attributes, scored, handed off, rejected with a note naming
    her, nurtured, clicking, soft-bouncing, filling a form, and a quarantined line; returns her id."""
    csv = tmp_path / "leads.csv"
    csv.write_text(
        "email,first_name,last_name,title,company,company_size,budget_usd,timeframe_months,phone,need,demo_request,team,"
        "consent,country\n"
        f"{EMAIL.upper()},Carla,Boss,CEO,Acme,1500,250000,1,+49 30 1234567,Carla Boss needs a CRM,yes,Blue,yes,DE\n"
        f"{OTHER},Otto,Other,CEO,Acme,1500,250000,1,,,yes,Red,yes,DE\n"
        f"{EMAIL},Carla,Boss,{'x' * 300},Acme,,,,,,,,,\n", encoding="utf-8")  # title too long: quarantined
    import_csv(csv, T0, "fair", "internal", engine)
    handoff_ctx = HandoffContext(rules=RULES, secret=SECRET, base_url="http://links.test", sender=SENDER,
                                 actor="flow:pipeline")
    with unit_of_work(engine) as session:
        score_next_batch(session, RULES.scoring, T0, 100, "flow:pipeline")
        hand_off_new_mqls(session, handoff_ctx, T0, 100)
    with unit_of_work(engine) as session:
        carla = session.scalars(select(Lead).where(Lead.email == EMAIL)).one()
        handoff = session.scalars(select(Handoff).where(Handoff.lead_id == carla.id)).one()
        answer_handoff(session, handoff.id, handoff.rep_email, "reject", "other", "Carla Boss said call in May",
                       T0 + timedelta(hours=1), actor=f"rep:{handoff.rep_email}")
        lead_id = carla.id
    nurture_ctx = NurtureContext(sequences=RULES.sequences, secret=SECRET, base_url="http://links.test",
                                 sender=SENDER, actor="flow:nurture")
    with unit_of_work(engine) as session:
        nurture_next_batch(session, nurture_ctx, T0 + timedelta(hours=2), limit=10)
        stamp = int((T0 + timedelta(hours=3)).timestamp())
        apply_events(session, [
            sendgrid_event(EMAIL, "click", "ev-1", stamp, url=f"https://example.com/guide?email={EMAIL}"),
            sendgrid_event(EMAIL, "bounce", "ev-2", stamp, type="blocked", reason=f"421 {EMAIL} try later"),
        ], T0 + timedelta(hours=3))
        store_form(session, "contact", {"email": EMAIL, "first_name": "Carla", "message": "hi"}, "s-1", T0)
        store_form(session, "contact", {"email": OTHER, "first_name": "Otto"}, "s-2", T0)
    return lead_id


def every_text_value(engine) -> list[tuple[str, str, str]]:
    """(table, column, value as lower-case text) for every non-empty value of every table."""
    found = []
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(table.select()).mappings():
                for column, value in row.items():
                    if value is not None:
                        text = value if isinstance(value, str) else json.dumps(value, default=str)
                        found.append((table.name, column, text.lower()))
    return found


def test_nothing_personal_is_left_anywhere_and_the_tombstone_keeps_the_counts(engine, tmp_path):
    lead_id = the_persons_life(engine, tmp_path)
    everywhere = every_text_value(engine)
    # The seeded life really put the person in the tables the erasure must clean.
    assert {table for table, _, text in everywhere if EMAIL in text} >= {
        "lead", "quarantine", "inbound_lead", "outbox_email", "engagement_event", "soft_bounce"}
    assert any("carla boss said" in text for table, _, text in everywhere if table == "lead_event")
    with unit_of_work(engine) as session:
        before = funnel_report(session)
        kept = session.get(Lead, lead_id)
        stage, source, created, scores = kept.stage, kept.source, kept.created_at, (
            kept.fit_score, kept.engagement_score, kept.score_total, kept.tier)

    with unit_of_work(engine) as session:
        done = erase_person(session, f"  {EMAIL.upper()} ", T0 + timedelta(days=1), "cli:erase")

    leftovers = [(table, column) for table, column, text in every_text_value(engine)
                 if any(p in text for p in PERSONAL)]
    assert leftovers == []
    assert (done.lead_id, done.placeholder, done.quarantined, done.form_submissions) == (
        lead_id, f"erased-{lead_id}@invalid", 1, 1)
    with unit_of_work(engine) as session:
        tomb = session.get(Lead, lead_id)
        assert (tomb.email, tomb.email_status, tomb.first_name, tomb.phone, tomb.attributes) == (
            f"erased-{lead_id}@invalid", "erased", None, None, {})
        assert (tomb.stage, tomb.source, tomb.created_at) == (stage, source, created)
        assert (tomb.fit_score, tomb.engagement_score, tomb.score_total, tomb.tier) == scores
        after = funnel_report(session)
        otto = session.scalars(select(Lead).where(Lead.email == OTHER)).one()
        assert (otto.first_name, otto.attributes["team"]) == ("Otto", "Red")  # nobody else is touched
        # Otto's rep was told about his buying team: Carla leaves it, Otto's email stays.
        (otto_note,) = session.scalars(select(OutboxEmail).where(OutboxEmail.lead_id == otto.id)).all()
        assert otto_note.status == "pending" and otto_note.render_context["profile"]["email"] == OTHER
        assert otto_note.render_context["profile"]["buying_team"] == []
        unsent = session.scalars(select(OutboxEmail.status).where(OutboxEmail.lead_id == lead_id,
                                                                  OutboxEmail.status != "sent")).all()
        assert unsent and set(unsent) == {"cancelled"}
        to_lead = session.scalars(select(OutboxEmail.to_email).where(OutboxEmail.lead_id == lead_id,
                                                                     OutboxEmail.kind == "nurture")).all()
        assert to_lead and set(to_lead) == {f"erased-{lead_id}@invalid"}
    assert after["stages"] == before["stages"] and after["by_source"] == before["by_source"]
    history = events_of(engine, lead_id)
    assert history[-1].kind == "erased" and history[-1].detail == {"request": "erasure"}
    changed = [e for e in history if e.kind == "stage_changed"]
    assert [e.to_stage for e in changed] == ["mql", "nurturing"] and changed[-1].detail["reason"] == "rejected:other"


def test_an_erased_lead_is_never_handed_off_or_mailed_again(engine, tmp_path):
    lead_id = the_persons_life(engine, tmp_path)
    with unit_of_work(engine) as session:
        # Back at MQL with no open handoff: what the pipeline would claim.
        session.get(Lead, lead_id).stage = "mql"
    with unit_of_work(engine) as session:
        erase_person(session, EMAIL, T0 + timedelta(days=1), "cli:erase")
    with unit_of_work(engine) as session:
        assert lead_id not in [lead.id for lead in claim_new_mqls(session, 100)]
        nurture_ctx = NurtureContext(sequences=RULES.sequences, secret=SECRET, base_url="http://links.test",
                                     sender=SENDER, actor="flow:nurture")
        nurture_next_batch(session, nurture_ctx, T0 + timedelta(days=30), limit=100)
        queued = session.scalars(select(OutboxEmail).where(OutboxEmail.lead_id == lead_id,
                                                          OutboxEmail.status == "pending")).all()
        assert queued == []


def test_the_same_address_imported_again_is_a_new_lead_without_the_old_data(engine, tmp_path):
    lead_id = the_persons_life(engine, tmp_path)
    with unit_of_work(engine) as session:
        erase_person(session, EMAIL, T0 + timedelta(days=1), "cli:erase")
    again = tmp_path / "again.csv"
    again.write_text(f"email,first_name\n{EMAIL},Carla\n", encoding="utf-8")

    counts = import_csv(again, T0 + timedelta(days=2), "webinar", "internal", engine)

    assert (counts.created, counts.merged) == (1, 0)
    with unit_of_work(engine) as session:
        new = session.scalars(select(Lead).where(Lead.email == EMAIL)).one()
        assert new.id != lead_id and (new.stage, new.email_status, new.title, new.attributes) == ("new", "ok", None, {})
        assert session.get(Lead, lead_id).email == f"erased-{lead_id}@invalid"
    assert [e.kind for e in events_of(engine, new.id)] == ["intake"]


def test_an_address_only_in_quarantine_is_erased_there(engine, tmp_path):
    with unit_of_work(engine) as session:
        store_form(session, "contact", {"email": "Lost@Example.org", "note": "x"}, None, T0)
        done = erase_person(session, "lost@example.org", T0, "cli:erase")
    assert (done.lead_id, done.form_submissions) == (None, 1)


@pytest.mark.parametrize("address, error", [
    ("", ErasureRefused), ("not-an-address", ErasureRefused), ("erased-7@invalid", ErasureRefused),
    ("nobody@example.org", NothingToErase),
])
def test_unusable_or_unknown_addresses_are_refused_and_change_nothing(engine, address, error):
    with unit_of_work(engine) as session:
        with pytest.raises(error) as raised:
            erase_person(session, address, T0, "cli:erase")
    assert address not in str(raised.value) or not address

