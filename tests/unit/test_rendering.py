"""The rep's handoff email and the manager's escalation: what a reader would notice, and safety."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from jinja2 import UndefinedError
from markupsafe import escape

from leadrelay.email.backends import build_sendgrid_body
import json

from leadrelay.email.rendering import (HandoffNotice, Sender, escalation_notice, render_stored, render_template,
                                       rep_notification, rep_notification_later)
from tests.support.fake_sendgrid import mail_send_errors, mail_send_validator

DUE = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
SENDER = Sender("marketing@example.com", "leadrelay", "leadrelay demo, 1 Example Street, Springfield")
ACCEPT = "https://leads.example.com/h/17/accept?sig=abc123"
REJECT = "https://leads.example.com/h/17/reject?sig=def456"


def make_profile(**overrides) -> dict:
    """A profile shaped exactly like `lead_profile()` returns it; keyword args replace keys."""
    profile = {
        "email": "carla@acme.example",
        "first_name": "Carla",
        "last_name": "Boss",
        "title": "CEO",
        "company": "Acme Corp",
        "company_domain": "acme.example",
        "industry": "Software",
        "company_size": 250,
        "country": "DE",
        "budget_usd": 80000,
        "timeframe_months": 3,
        "need": "Replace our spreadsheet pipeline",
        "consent": True,
        "source": "webinar",
        "attributes": {"webinar_topic": "Scaling sales ops"},
        "stage": "mql",
        "score": {
            "total": 100, "fit": 70, "engagement": 30, "tier": "hot", "scored_at": "2026-11-30T08:00:00Z",
            "breakdown": [
                {"rule": "C-level or founder", "points": 25},
                {"rule": "Budget of 50k USD or more", "points": 20},
                {"rule": "Student or intern", "points": -25},
                {"rule": "engagement: demo request", "points": 20},
                {"rule": "engagement: email click ×3", "points": 10},
            ],
        },
        "owner": None,
        "handoff": {"rep": "anna.schmidt@example.com", "due_at": "2026-11-30T10:00:00Z", "status": "open"},
        "buying_team": [
            {"email": "tom@acme.example", "name": "Tom Tech", "title": "CTO", "stage": "nurturing", "score": 40},
            {"email": "fay@acme.example", "name": "Fay Finance", "title": None, "stage": "new", "score": None},
        ],
        "history": [
            {"at": "2026-11-01T09:00:00Z", "kind": "imported", "actor": "import:webinar.csv", "detail": {"row": 7}},
            {"at": "2026-11-10T09:00:00Z", "kind": "nurture_enrollment", "actor": "flow:nurture",
             "detail": {"track": "welcome", "reason": "new lead"}},
            {"at": "2026-11-30T08:00:00Z", "kind": "stage_changed", "actor": "flow:pipeline",
             "detail": {"from_stage": "nurturing", "to_stage": "mql"}},
        ],
    }
    profile.update(overrides)
    return profile


def make_handoff(**overrides) -> HandoffNotice:
    values = dict(handoff_id=17, rep_email="anna.schmidt@example.com", rep_name="Anna Schmidt",
                  rep_timezone="Europe/Berlin", due_at=DUE, accept_url=ACCEPT, reject_url=REJECT,
                  attempt=0, route_reason="territory DE (pool dach)", idempotency_key="handoff:17:notify")
    values.update(overrides)
    return HandoffNotice(**values)


@pytest.fixture(scope="module")
def validator():
    return mail_send_validator()


def test_rep_sees_why_the_lead_is_hot():
    message = rep_notification(make_profile(), make_handoff(), SENDER)
    for body in (message.html, message.text):
        assert "C-level or founder" in body and "+25" in body
        assert "Student or intern" in body and "-25" in body
        assert "engagement: email click ×3" in body
        assert "USD 80,000" in body and "within 3 months" in body
        assert "Replace our spreadsheet pipeline" in body
        assert "territory DE (pool dach)" in body
    assert message.subject.startswith("Hot lead: Carla Boss, CEO at Acme Corp (score 100)")


def test_history_in_order_readable_and_nurture_shown():
    shuffled = list(reversed(make_profile()["history"]))  # the email sorts, oldest first
    message = rep_notification(make_profile(history=shuffled), make_handoff(), SENDER)
    for body, heading in ((message.html, "History, oldest first"), (message.text, "HISTORY, OLDEST FIRST")):
        timeline = body[body.index(heading):]  # nurture events are also listed above it
        positions = [timeline.index(label) for label in ("Imported", "Nurture enrollment", "Stage changed")]
        assert positions == sorted(positions)
        assert "from stage: nurturing" in body and "to stage: mql" in body
        assert '"from_stage"' not in body  # detail is text, not raw JSON
    assert "Nurture activity" in message.html and "NURTURE ACTIVITY" in message.text


def test_buying_team_listed():
    message = rep_notification(make_profile(), make_handoff(), SENDER)
    for body in (message.html, message.text):
        assert "Tom Tech" in body and "CTO" in body and "Fay Finance" in body


def test_deadline_in_reps_local_time():
    message = rep_notification(make_profile(), make_handoff(), SENDER)
    assert message.subject.endswith("accept by Mon 30 Nov 11:00 CET")
    for body in (message.html, message.text):
        assert "Mon 30 Nov 2026, 11:00 CET" in body and "Europe/Berlin" in body
    ny = rep_notification(make_profile(), make_handoff(rep_timezone="America/New_York"), SENDER)
    assert "05:00 EST" in ny.subject and "America/New_York" in ny.text


def test_accept_and_reject_links():
    message = rep_notification(make_profile(), make_handoff(), SENDER)
    assert f'href="{escape(ACCEPT)}"' in message.html
    assert f'href="{escape(REJECT)}"' in message.html
    assert ACCEPT in message.text and REJECT in message.text


def test_lead_data_is_never_template_code():
    message = rep_notification(make_profile(first_name="{{ 7*7 }}", need="{% if true %}x{% endif %}"),
                               make_handoff(), SENDER)
    for body in (message.html, message.text, message.subject):
        assert "{{ 7*7 }}" in body
        assert "49" not in body
    assert "{% if true %}x{% endif %}" in message.text


def test_script_escaped_in_html_literal_in_text():
    message = rep_notification(make_profile(last_name="<script>alert(1)</script>"), make_handoff(), SENDER)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert "<script>" not in message.html
    assert "<script>alert(1)</script>" in message.text


def test_header_injection_flattened():
    evil = "Carla\r\nBcc: x@y.z"
    message = rep_notification(make_profile(first_name=evil, title="CEO\nX-Evil: 1"),
                               make_handoff(rep_name="Anna\r\nBcc: x@y.z"), SENDER)
    for value in (message.subject, message.to_name, message.from_name, *message.headers.values()):
        assert "\r" not in value and "\n" not in value
    body = build_sendgrid_body(message)
    assert "\n" not in body["subject"] and "\r" not in body["subject"]


def test_css_is_inlined():
    message = rep_notification(make_profile(), make_handoff(), SENDER)
    assert "<style" not in message.html
    accept_link = re.search(r'<a [^>]*href="[^"]*accept[^"]*"[^>]*>', message.html).group(0)
    assert 'style="' in accept_link and "background-color: #15803d" in accept_link


def test_rep_notification_is_valid_sendgrid_mail(validator):
    message = rep_notification(make_profile(), make_handoff(), SENDER)
    body = build_sendgrid_body(message)
    assert mail_send_errors(body, validator) == []
    assert body["categories"] == ["rep_notification"]
    args = body["personalizations"][0]["custom_args"]
    assert args["kind"] == "rep_notification" and args["handoff_id"] == "17"
    assert "carla@acme.example" not in str(args)  # no personal data in custom_args


def test_escalation_reuses_summary_and_is_valid(validator):
    message = escalation_notice(make_profile(), "boss@example.com", "Bea Boss", "anna.schmidt@example.com",
                                DUE, "Europe/Berlin", SENDER, "handoff:17:escalate")
    assert message.to_email == "boss@example.com" and message.subject.startswith("SLA missed:")
    for body in (message.html, message.text):
        assert "anna.schmidt@example.com" in body and "11:00 CET" in body
        assert "C-level or founder" in body and "Tom Tech" in body and "Stage changed" in body
    assert mail_send_errors(build_sendgrid_body(message), validator) == []


def test_sparse_lead_still_renders():
    profile = make_profile(first_name=None, last_name=None, title=None, company=None, budget_usd=None,
                           timeframe_months=None, need=None, attributes={}, buying_team=[], history=[])
    message = rep_notification(profile, make_handoff(attempt=1), SENDER)
    assert "Hot lead: carla@acme.example (score 100)" in message.subject
    assert "not given" in message.text and "No one else from this account" in message.text
    assert "offered to 1 other rep before you" in message.text


def test_footer_shows_postal_address():
    message = rep_notification(make_profile(), make_handoff(), SENDER)
    assert SENDER.postal_address in message.html and SENDER.postal_address in message.text


def test_missing_variable_raises():
    with pytest.raises(UndefinedError):
        render_template("escalation", {"sender": SENDER, "manager_name": "Bea"})


def test_a_notification_stored_for_later_renders_as_it_would_have_at_handoff():
    profile, handoff = make_profile(), make_handoff()
    message, context = rep_notification_later(profile, handoff, SENDER)
    stored = json.loads(json.dumps(context))  # as the outbox keeps it
    profile["history"].append({"at": "2026-12-01T09:00:00Z", "kind": "unsubscribed", "actor": "x", "detail": {}})

    rendered = render_stored(stored)
    assert rendered == rep_notification(make_profile(), handoff, SENDER)
    assert (message.subject, message.html, message.text) == ("", "", "")
    assert (message.to_email, message.idempotency_key, message.custom_args) == \
        (rendered.to_email, rendered.idempotency_key, rendered.custom_args)


def test_a_stored_context_for_an_unknown_template_is_refused():
    with pytest.raises(ValueError, match="no stored rendering"):
        render_stored({"template": "newsletter"})
