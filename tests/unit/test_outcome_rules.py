"""Outcomes from sales as plain functions: names, amounts, reasons, the moves each makes, and the
CRM webhook's signature and body."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from leadrelay.intake.csv_records import CsvRecord
from leadrelay.models import Stage
from leadrelay.nurture.guard_rails import choose_track
from leadrelay.config.rules import load_rules
from leadrelay.outcomes.crm_webhook import (
    BadSignature,
    MalformedPost,
    Unsigned,
    crm_signature,
    parse_crm_post,
    verify_crm_signature,
)
from leadrelay.outcomes.csv_import import parse_row, row_key
from leadrelay.outcomes.rules import Move, OutcomeError, parse_amount, parse_outcome, plan_moves
from tests.conftest import REPO

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
SECRET = "crm-secret"


@pytest.mark.parametrize("given, expected", [("won", "won"), (" SQL ", "sql"), ("Disqualified", "disqualified")])
def test_outcome_names_are_read_in_any_case(given, expected):
    assert parse_outcome(given) == expected


def test_an_unknown_outcome_lists_the_valid_ones():
    with pytest.raises(OutcomeError, match=r"'closed' is not an outcome; use one of sql, won, lost, disqualified\."):
        parse_outcome("closed")


@pytest.mark.parametrize("given, cents", [("12500", 1_250_000), ("12500.5", 1_250_050), ("12,500.00", 1_250_000),
                                          ("0", 0), (99.99, 9999), (42, 4200), ("", None), (None, None)])
def test_amounts_are_kept_in_cents(given, cents):
    assert parse_amount(given) == cents


@pytest.mark.parametrize("given", ["-5", "$100", "12.345", "1e9", "ten", "12,50", True, float("nan"), 1.005,
                                   "9" * 20])
def test_bad_amounts_are_refused_in_one_sentence(given):
    with pytest.raises(OutcomeError, match=r"^amount "):
        parse_amount(given)


def test_won_from_sal_records_sql_first_and_lost_recycles_with_its_reason():
    assert plan_moves(Stage.sql, "won", None) == [Move(Stage.sql, Stage.won)]
    assert plan_moves(Stage.sal, "won", None) == [Move(Stage.sal, Stage.sql), Move(Stage.sql, Stage.won)]
    assert plan_moves(Stage.sql, "lost", "Price too high!") == [
        Move(Stage.sql, Stage.lost), Move(Stage.lost, Stage.nurturing, "lost:price-too-high")]
    assert plan_moves(Stage.sal, "lost", None)[-1] == Move(Stage.lost, Stage.nurturing, "lost:unspecified")
    assert plan_moves(Stage.sal, "sql", None) == [Move(Stage.sal, Stage.sql)]


def test_disqualified_is_final_unless_time_can_change_the_reason():
    assert plan_moves(Stage.nurturing, "disqualified", "spam") == [Move(Stage.nurturing, Stage.disqualified)]
    assert plan_moves(Stage.sal, "disqualified", "Bad timing") == [
        Move(Stage.sal, Stage.nurturing, "disqualified:bad-timing")]


@pytest.mark.parametrize("stage, outcome, message", [
    (Stage.mql, "won", "MQL waiting for its rep's answer"),
    (Stage.nurturing, "won", "a lead in stage nurturing cannot be marked won; won is recorded for a lead in sal or sql"),
    (Stage.won, "lost", "a lead in stage won cannot be marked lost"),
    (Stage.won, "won", "already won"),
    (Stage.sql, "sql", "already sql"),
    (Stage.sql, "disqualified", "cannot be marked disqualified"),
])
def test_moves_the_lifecycle_does_not_allow_are_refused_in_one_sentence(stage, outcome, message):
    with pytest.raises(OutcomeError, match=message):
        plan_moves(stage, outcome, None)


def test_the_shipped_tracks_take_lost_and_disqualified_leads():
    sequences = load_rules(REPO / "config").sequences
    assert choose_track("lost:price-too-high", {"title": "Analyst"}, sequences).name == "education"
    assert choose_track("disqualified:bad-timing", {"title": "CEO"}, sequences).name == "executive"
    assert choose_track("lostness", {"title": "Analyst"}, sequences) is None


def signed(body: bytes, at: datetime = NOW, secret: str = SECRET) -> tuple[str, str]:
    stamp = str(int(at.timestamp()))
    return crm_signature(secret, stamp, body), stamp


def test_a_fresh_correct_signature_passes():
    body = b'{"email": "a@b.c"}'
    verify_crm_signature(SECRET, *signed(body, NOW - timedelta(minutes=4)), body, NOW)


@pytest.mark.parametrize("case", ["no-secret", "wrong-secret", "altered-body", "old", "future"])
def test_a_wrong_or_stale_signature_is_refused(case):
    body = b'{"email": "a@b.c"}'
    signature, stamp = signed(body, NOW - timedelta(minutes=6) if case == "old" else
                              NOW + timedelta(minutes=6) if case == "future" else NOW,
                              secret="other" if case == "wrong-secret" else SECRET)
    with pytest.raises(BadSignature):
        verify_crm_signature(None if case == "no-secret" else SECRET, signature, stamp,
                             body + b" " if case == "altered-body" else body, NOW)


@pytest.mark.parametrize("signature, stamp", [(None, None), ("sha256=abc", "1"), ("x" * 71, "1700000000"),
                                              ("sha256=" + "0" * 64, "yesterday"), ("sha256=" + "é" * 64, "1")])
def test_missing_or_malformed_headers_are_unsigned(signature, stamp):
    with pytest.raises(Unsigned):
        verify_crm_signature(SECRET, signature, stamp, b"{}", NOW)


def test_a_crm_post_becomes_an_outcome_keyed_by_its_event_id():
    body = json.dumps({"email": " Carla@Acme.com ", "outcome": "WON", "event_id": "evt-1", "amount": 12500,
                       "reason": "signed", "occurred_at": "2026-11-20T10:00:00Z"}).encode()
    request = parse_crm_post(body, NOW)
    assert (request.email, request.outcome, request.amount_cents, request.reason, request.source_key) == (
        "carla@acme.com", "won", 1_250_000, "signed", "webhook:evt-1")
    assert request.occurred_at == datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
    assert parse_crm_post(b'{"email": "a@b.c", "outcome": "sql", "event_id": 7}', NOW).occurred_at == NOW


@pytest.mark.parametrize("body, message", [
    (b"{not json", "not valid JSON"), (b"\xff\xfe", "not valid JSON"), (b"[1, 2]", "one JSON object"),
    (b'{"outcome": "won", "event_id": "e"}', "email is missing"),
    (b'{"email": "a@b.c", "outcome": "won"}', "event_id is missing"),
    (b'{"email": "a@b.c", "outcome": "closed", "event_id": "e"}', "not an outcome"),
    (b'{"email": "a@b.c", "outcome": "won", "event_id": "e", "amount": "-1"}', "amount"),
    (b'{"email": "a@b.c", "outcome": "won", "event_id": "e", "amount": {"v": 1}}', "amount"),
    (b'{"email": ["a@b.c"], "outcome": "won", "event_id": "e"}', "email must be text"),
    (b'{"email": "a@b.c", "outcome": "won", "event_id": "e", "occurred_at": "soon"}', "occurred_at"),
])
def test_malformed_posts_are_refused_with_the_reason(body, message):
    with pytest.raises(MalformedPost, match=message):
        parse_crm_post(body, NOW)


def record(values: dict[str, str]) -> CsvRecord:
    return CsvRecord(2, ",".join(values.values()), values)


def test_a_csv_row_is_keyed_by_external_id_or_by_email_outcome_and_time():
    with_id = parse_row(record({"email": "A@b.c", "outcome": "won", "occurred_at": "2026-11-20", "amount": "10",
                                "reason": "", "external_id": "opp-9"}))
    assert with_id.source_key == "import:opp-9" and with_id.amount_cents == 1000 and with_id.reason is None
    without = parse_row(record({"email": "a@b.c", "outcome": "won", "occurred_at": "2026-11-20T00:00:00Z"}))
    assert without.source_key == row_key("a@b.c", "won", datetime(2026, 11, 20, tzinfo=timezone.utc))
    assert parse_row(record({"email": "a@b.c", "outcome": "won", "occurred_at": "2026-11-21"})).source_key != \
        without.source_key


@pytest.mark.parametrize("values, reason", [
    ({"email": "", "outcome": "won", "occurred_at": "2026-11-20"}, "email is missing"),
    ({"email": "a@b.c", "outcome": "maybe", "occurred_at": "2026-11-20"}, "'maybe' is not an outcome"),
    ({"email": "a@b.c", "outcome": "won", "occurred_at": "last week"}, "occurred_at is not an ISO 8601"),
    ({"email": "a@b.c", "outcome": "won", "occurred_at": "2026-11-20", "amount": "lots"}, "amount must be"),
    ({"email": "a@b.c", "outcome": "lost", "occurred_at": "2026-11-20", "reason": "x" * 201}, "reason is longer"),
])
def test_bad_csv_rows_say_why(values, reason):
    assert parse_row(record(values)).startswith(reason)


def test_a_negative_amount_is_refused_for_being_negative_not_for_not_being_a_number():
    with pytest.raises(OutcomeError, match="must not be negative"):
        parse_amount("-12,500.00")
