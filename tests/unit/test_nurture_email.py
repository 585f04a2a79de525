"""Nurture emails: valid for SendGrid, one-click unsubscribe, signed link, UTM links, safe with any lead data."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from markupsafe import escape

from leadrelay.config.rules import load_rules
from leadrelay.email.backends import build_sendgrid_body
from leadrelay.nurture.email import NurtureLinks, nurture_email, preview_template, unsubscribe_mailto
from leadrelay.email.rendering import Sender
from leadrelay.nurture.unsubscribe import read_unsubscribe_link, unsubscribe_url
from tests.support.fake_sendgrid import mail_send_errors, mail_send_validator

SEQUENCES = load_rules(Path(__file__).resolve().parents[2] / "config").sequences
SENDER = Sender("marketing@example.com", "leadrelay", "leadrelay GmbH, Example Str. 1, 10115 Berlin")
AS_OF = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
SECRET = "test-secret"
LEAD = {"email": "carla@acme.example", "first_name": "Carla", "last_name": "Boss", "title": "CEO",
        "company": "Acme Corp", "industry": "Software", "country": "DE", "attributes": {}}


def links_for(email: str) -> NurtureLinks:
    return NurtureLinks(unsubscribe_url(email, SECRET, "http://links.test", AS_OF), unsubscribe_mailto(SENDER))


def render(lead=LEAD, track="timing", step=0, persona=None):
    return nurture_email(lead, SEQUENCES.tracks[track], step, links_for(lead["email"]), SENDER,
                         f"nurture:1:{step}", persona=persona)


ALL_STEPS = [(name, index) for name, track in SEQUENCES.tracks.items() for index in range(len(track.steps))]


@pytest.mark.parametrize("track, step", ALL_STEPS)
def test_every_step_renders_a_valid_sendgrid_message(track, step):
    message = render(track=track, step=step)
    assert mail_send_errors(build_sendgrid_body(message), mail_send_validator()) == []
    assert message.categories == ("nurture", track)
    assert message.custom_args == {"kind": "nurture", "track": track, "step": str(step + 1)}
    assert SENDER.postal_address in message.html and SENDER.postal_address in message.text
    assert "Carla" in message.html and "Carla" in message.text


def test_one_click_unsubscribe_headers_carry_the_signed_link_and_a_mailto():
    message = render()
    url = links_for(LEAD["email"]).unsubscribe_url
    assert message.headers["List-Unsubscribe"] == f"<{url}>, <mailto:marketing@example.com?subject=unsubscribe>"
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = build_sendgrid_body(message)
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(escape(url)) in message.html and url in message.text


def test_the_unsubscribe_link_verifies_for_the_lead_for_a_year():
    url = links_for(LEAD["email"]).unsubscribe_url
    token = url.rsplit("/unsubscribe/", 1)[1]
    assert read_unsubscribe_link(token, SECRET, AS_OF + timedelta(days=364)) == LEAD["email"]


def test_links_carry_utm_parameters_for_the_track_and_step():
    message = render(track="education", step=2)
    query = parse_qs(urlsplit(message.text.split("Book a demo: ", 1)[1].split()[0]).query)
    assert query == {"utm_source": ["leadrelay"], "utm_medium": ["email"], "utm_campaign": ["education"],
                     "utm_content": ["step-3"]}
    assert "utm_campaign=education&amp;utm_content=step-3" in message.html


def test_lead_data_is_shown_literally_and_escaped_in_html():
    lead = {**LEAD, "first_name": "{{ 7*7 }}", "company": "<script>alert(1)</script>"}
    message = render(lead=lead, track="timing", step=2)  # the subject names the company
    assert "{{ 7*7 }}" in message.html and "{{ 7*7 }}" in message.text and "49" not in message.text
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "<script>alert(1)</script>" in message.text  # plain text is not HTML
    assert message.subject == "Is the timing better for <script>alert(1)</script> now?"
    assert render(lead={**LEAD, "first_name": "{first_name}{company}"}, step=0).subject.startswith("{first_name}{company},")


def test_personalised_by_role_company_and_persona():
    executive = render(track="education", step=0, persona="executive")
    technical = render(track="education", step=0, persona="technical")
    assert "one-page summary" in executive.text and "data model" in technical.text
    assert "Acme Corp" in executive.text
    assert "as CEO" in render(track="education", step=2).text


def test_a_lead_without_name_or_company_gets_friendly_stand_ins():
    message = render(lead={"email": "x@y.example", "attributes": {}}, track="timing", step=0)
    assert message.subject == "there, a planning guide for when the timing is right"
    assert "Hi there," in message.text and "your team" in message.text


def test_header_values_never_carry_line_breaks():
    message = render(lead={**LEAD, "first_name": "Carla\r\nBcc: evil@example.com"}, step=0)
    assert "\n" not in message.subject and "\r" not in message.to_name


def test_preview_renders_any_nurture_template_with_a_sample_lead():
    html, text = preview_template("nurture_exec_call", None, SENDER, "http://links.test")
    assert "Carla" in html and "/unsubscribe/preview" in text and "utm_campaign=preview" in text
    html, text = preview_template("nurture_edu_guide", {"email": "a@b.example", "first_name": "Ann"}, SENDER,
                                  "http://links.test")
    assert "Hi Ann," in text
