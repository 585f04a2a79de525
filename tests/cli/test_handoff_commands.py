"""`leadrelay handoff reassign` and `leadrelay feedback reject --reason` as a user meets them:
output, exit codes, one-sentence errors."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from leadrelay.config.settings import get_settings
from leadrelay.db import engine_for, unit_of_work
from leadrelay.models import Handoff, OutboxEmail
from tests.cli.test_commands import run, workdir as user_dir  # noqa: F401  (the fixture)
from tests.factories import add_handoff, add_scored_lead

ANNA, LUKAS = "anna.schmidt@example.com", "lukas.bauer@example.com"
AT = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def workdir(user_dir):
    """A user's working directory with a database holding one MQL handed to Anna."""
    assert run("init").exit_code == 0
    with unit_of_work(engine_for(get_settings().database_url)) as session:
        add_handoff(session, add_scored_lead(session, country="DE"), rep_email=ANNA, created_at=AT)
    return user_dir


def handoffs():
    with unit_of_work(engine_for(get_settings().database_url)) as session:
        return [(h.rep_email, h.status) for h in session.scalars(select(Handoff).order_by(Handoff.id))]


def test_reassign_moves_the_open_handoff_and_emails_both_reps(workdir):
    result = run("handoff", "reassign", "Carla@Acme-Buyer.com", "--to", LUKAS, "--as-of", "2026-11-02T12:00:00Z")

    assert result.exit_code == 0, result.output
    assert f"reassigned to {LUKAS}, due 2026-11-02T" in result.output
    assert handoffs() == [(ANNA, "reassigned"), (LUKAS, "open")]
    with unit_of_work(engine_for(get_settings().database_url)) as session:
        kinds = {(m.to_email, m.kind) for m in session.scalars(select(OutboxEmail))}
    assert kinds == {(LUKAS, "rep_notification"), (ANNA, "handoff_reassigned")}
    profile = json.loads(run("lead", "show", "carla@acme-buyer.com", "--json").stdout)
    moved = [e for e in profile["history"] if e["kind"] == "reassigned"]
    assert [(e["actor"], e["detail"]["from"], e["detail"]["to"]) for e in moved] == [
        ("manager (command line)", ANNA, LUKAS)]
    assert profile["handoff"]["rep"] == LUKAS


@pytest.mark.parametrize("args, code, sentence", [
    (("carla@acme-buyer.com", "--to", "nobody@example.com"), 2,
     "error: nobody@example.com is not a rep in reps.yaml; reassign to one of the reps listed there."),
    (("carla@acme-buyer.com", "--to", ANNA), 1, f"error: That handoff is already with {ANNA}."),
    (("someone@else.com", "--to", LUKAS), 1, "error: No lead has that email address."),
])
def test_reassign_mistakes_get_one_sentence(workdir, args, code, sentence):
    result = run("handoff", "reassign", *args)
    assert result.exit_code == code
    assert sentence in result.output and "Traceback" not in result.output
    assert handoffs() == [(ANNA, "open")]


def test_a_closed_handoff_cannot_be_reassigned(workdir):
    assert run("feedback", "accept", "carla@acme-buyer.com", "--rep", ANNA, "--as-of", "2026-11-02T10:00:00Z").exit_code == 0
    result = run("handoff", "reassign", "carla@acme-buyer.com", "--to", LUKAS)
    assert result.exit_code == 1 and "has no open handoff to reassign (it is sal)" in result.output


def test_a_misspelt_reject_reason_is_a_usage_error_listing_the_reasons(workdir):
    result = run("feedback", "reject", "carla@acme-buyer.com", "--rep", ANNA, "--reason", "bad-timng")

    assert result.exit_code == 2
    assert ("error: 'bad-timng' is not a reject reason; use one of: no-budget, no-authority, no-need, bad-timing, "
            "not-a-fit, duplicate, other.") in result.output
    assert handoffs() == [(ANNA, "open")]  # nothing recorded, not even as "other"


def test_reject_with_a_known_reason_and_other_with_a_note(workdir):
    assert run("feedback", "reject", "carla@acme-buyer.com", "--rep", ANNA, "--reason", "other").exit_code == 2
    result = run("feedback", "reject", "carla@acme-buyer.com", "--rep", ANNA, "--reason", "other",
                 "--note", "wrong department")
    assert result.exit_code == 0 and "is now nurturing" in result.output
    assert handoffs() == [(ANNA, "rejected")]
