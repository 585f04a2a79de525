"""What a user sees of a run in the Prefect UI: a name that says what and when, log lines with
counts and lead ids (and no personal data), a table of the run's counts, and events for handoffs,
SLA breaches and emails that failed for good. Everything is read back from the Prefect server."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogHandler
from prefect.testing.fixtures import asserting_events_worker  # noqa: F401 (a fixture)
from sqlalchemy import select
from sqlmodel import Session

from leadrelay.flows.pipeline import pipeline
from leadrelay.flows.report import report
from leadrelay.flows.sla import sla
from leadrelay.email.message import SendResult
from leadrelay.orchestration.events import EMAIL_FAILED, HANDOFF_CREATED, SLA_BREACHED
from leadrelay.intake.normalise import normalise_lead
from leadrelay.intake.store import IntakeItem, store_intake
from leadrelay.wiring import use_services
from leadrelay.models import Handoff, Lead, OutboxEmail
from leadrelay.tasks.handoff import hand_off_batch
from leadrelay.tasks.pipeline import score_lead_batch
from tests.factories import buyer
from tests.support.recording_sender import RecordingSender

pytestmark = pytest.mark.usefixtures("prefect_harness")

FRIDAY_4PM_BERLIN = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
MONDAY_AFTER_THE_DEADLINE = datetime(2026, 11, 30, 10, 30, tzinfo=timezone.utc)
# A lead whose address and name cannot turn up in a log line by accident.
ZEB = {"email": "zebulon.quartermaine@acme-buyer.com", "first_name": "Zebulon", "last_name": "Quartermaine"}
OTHERS = [{"email": f"buyer{n}@acme-buyer.com", "first_name": f"Ottilie{n}", "last_name": f"Vandersloot{n}"}
          for n in range(3)]


def seed_hot_leads(engine) -> list[dict]:
    """Four hot DACH buyers (Zebulon and three others) ready for the pipeline; returns who they are."""
    people = [ZEB, *OTHERS]
    rows = [buyer(country="DE", company_size="300", company_domain="acme-buyer.com", **person) for person in people]
    with Session(engine) as session:
        store_intake(session, [IntakeItem(normalise_lead(row), "", "test") for row in rows], FRIDAY_4PM_BERLIN, "test")
        session.commit()
    return people


def run_pipeline() -> tuple[UUID, dict]:
    """One pipeline run at Friday 16:00 Berlin: its flow run id and its result."""
    state = pipeline(as_of=FRIDAY_4PM_BERLIN, return_state=True)
    return state.state_details.flow_run_id, state.result()


def logs_of(run_id: UUID) -> list[str]:
    APILogHandler().flush()  # the run's lines are shipped in batches; send what is queued
    with get_client(sync_client=True) as client:
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    return [log.message for log in logs]


def counts_table(run_id: UUID, key: str) -> dict[tuple[str, str], int]:
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
    assert artifact.type == "table"
    return {(row["step"], row["count"]): row["value"] for row in json.loads(artifact.data)}


def events_named(worker: EventsWorker, name: str) -> list:
    worker.wait_until_empty()
    # The asserting client only gets its `events` list once it has started; when nothing was ever
    # emitted it may not have, which means no events (this was a flaky AttributeError).
    return [event for event in getattr(worker._client, "events", []) if event.event == name]


def lead_ids(engine) -> dict[str, int]:
    with Session(engine) as session:
        return dict(session.execute(select(Lead.email, Lead.id)).all())


def test_a_run_is_named_after_its_flow_and_as_of(services):
    seed_hot_leads(services.engine)
    run_id, _ = run_pipeline()
    report_id = report(as_of=FRIDAY_4PM_BERLIN, return_state=True).state_details.flow_run_id
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run_id).name == "pipeline 2026-11-27T15:00Z"
        assert client.read_flow_run(report_id).name == "report 2026-11-27T15:00Z"
    funnel = counts_table(report_id, "leadrelay-report-counts")  # the report has its counts table too
    assert (funnel[("funnel", "contacts")], funnel[("funnel", "mql")], funnel[("sla", "open")]) == (4, 4, 4)


def test_the_log_has_a_count_line_per_hand_off_batch_with_lead_ids_and_no_personal_data(services):
    people = seed_hot_leads(services.engine)
    run_id, result = run_pipeline()
    assert result["handoff"]["claimed"] == 4
    ids = lead_ids(services.engine)

    messages = logs_of(run_id)

    listed = ", ".join(str(ids[person["email"]]) for person in people)
    assert f"hand-off batch: claimed 4, handed off 4, no rep 0; leads {listed}" in messages
    assert any(m.startswith("scoring batch: scored 4, to MQL 4, to nurturing 0; leads ") for m in messages)
    assert any(m.startswith("send pass: sent 4, retrying 0, failed 0; leads ") for m in messages)
    for person in people:
        for personal in person.values():
            assert not [m for m in messages if personal.lower() in m.lower()], personal


def test_a_long_batch_lists_twenty_lead_ids_and_how_many_more(services):
    with Session(services.engine) as session:
        rows = [buyer(email=f"b{n}@example.org", first_name=f"B{n}", country="DE") for n in range(23)]
        store_intake(session, [IntakeItem(normalise_lead(row), "", "test") for row in rows], FRIDAY_4PM_BERLIN, "test")
        session.commit()
    run_id, _ = run_pipeline()

    (line,) = [m for m in logs_of(run_id) if m.startswith("scoring batch")]
    assert line.endswith(", … (+3 more)") and line.count(",") == 2 + 20  # counts, then 20 ids and the rest


def test_every_run_publishes_a_table_of_its_counts(services):
    seed_hot_leads(services.engine)
    run_id, result = run_pipeline()

    table = counts_table(run_id, "leadrelay-pipeline-counts")

    assert table[("scoring", "claimed")] == 4 and table[("scoring", "to_mql")] == 4
    assert table[("handoff", "handed_off")] == 4 and table[("email", "sent")] == 4
    assert table[("intake", "claimed")] == 0  # a step that found nothing still has its row
    assert table == {(step, name): value for step, counts in result.items() for name, value in counts.items()} | {
        ("intake", "claimed"): 0, ("nurture_exits", "claimed"): 0}


def test_each_handoff_is_an_event_about_its_lead_without_the_lead_s_address(services, asserting_events_worker):
    people = seed_hot_leads(services.engine)
    run_pipeline()
    ids = lead_ids(services.engine)
    with Session(services.engine) as session:
        handoffs = {h.lead_id: h for h in session.scalars(select(Handoff))}

    events = events_named(asserting_events_worker, HANDOFF_CREATED)

    assert sorted(e.resource.id for e in events) == sorted(f"leadrelay.lead.{ids[p['email']]}" for p in people)
    for event in events:
        handoff = handoffs[int(event.resource.id.rsplit(".", 1)[1])]
        assert event.payload == {"handoff_id": handoff.id, "rep": handoff.rep_email, "tier": "hot",
                                 "due_at": "2026-11-30T10:00:00+00:00"}  # Monday 11:00 Berlin
    assert not any(p["email"] in json.dumps(e.payload) for e in events for p in people)


def test_a_breached_handoff_is_an_event_saying_what_was_done(services, asserting_events_worker):
    seed_hot_leads(services.engine)
    run_pipeline()
    zeb_id = lead_ids(services.engine)[ZEB["email"]]
    with Session(services.engine) as session:
        first = session.scalars(select(Handoff).where(Handoff.lead_id == zeb_id)).one()

    sla(as_of=MONDAY_AFTER_THE_DEADLINE)

    breaches = [e for e in events_named(asserting_events_worker, SLA_BREACHED)
                if e.resource.id == f"leadrelay.lead.{zeb_id}"]
    assert [e.payload for e in breaches] == [{"action": "reassigned", "rep": first.rep_email,
                                              "handoff_id": first.id}]
    created = [e for e in events_named(asserting_events_worker, HANDOFF_CREATED)
               if e.resource.id == f"leadrelay.lead.{zeb_id}"]
    assert len(created) == 2 and created[1].payload["rep"] != first.rep_email  # the reassignment


def test_an_email_that_fails_for_good_is_an_event_without_the_recipient(services, asserting_events_worker):
    seed_hot_leads(services.engine)
    refused = RecordingSender([SendResult("failed", error="550 mailbox anna.schmidt@example.com is unknown")])
    with use_services(replace(services, sender=refused)):
        run_id, result = run_pipeline()
    assert (result["email"]["sent"], result["email"]["failed"]) == (3, 1)
    with Session(services.engine) as session:
        failed = session.scalars(select(OutboxEmail).where(OutboxEmail.status == "failed")).one()

    (event,) = events_named(asserting_events_worker, EMAIL_FAILED)

    assert event.resource.id == f"leadrelay.lead.{failed.lead_id}"
    assert event.payload == {"outbox_id": failed.id, "kind": "rep_notification",
                             "error": "550 mailbox <recipient> is unknown"}
    assert any(m.startswith("send pass: sent 3, retrying 0, failed 1; leads ") for m in logs_of(run_id))


def test_a_batch_that_rolls_back_tells_prefect_nothing(services, asserting_events_worker, monkeypatch):
    seed_hot_leads(services.engine)
    score_lead_batch.fn(FRIDAY_4PM_BERLIN, 100)  # four MQLs waiting for a rep

    def broken_template(*_args, **_kwargs):
        raise RuntimeError("the rep notification template is broken")

    monkeypatch.setattr("leadrelay.handoff.handoff_store.rep_notification_later", broken_template)
    with pytest.raises(RuntimeError):
        hand_off_batch.fn(FRIDAY_4PM_BERLIN, 100)

    with Session(services.engine) as session:
        assert session.scalars(select(Handoff)).all() == []
    assert events_named(asserting_events_worker, HANDOFF_CREATED) == []
