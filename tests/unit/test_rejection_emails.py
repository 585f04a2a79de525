"""What the rep emails say about an earlier rejection and a reassignment, rendered from the stored
snapshot as sending does; hostile text stays text."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from leadrelay.email.rendering import reassigned_notice, render_stored, rep_notification_later
from tests.unit.test_rendering import SENDER, make_handoff, make_profile

REJECTION = {
    "rep_email": "anna.schmidt@example.com", "rep_name": "Anna Schmidt", "at": "2026-11-06T15:00:00+00:00",
    "reason": "bad-timing", "reason_label": "Bad timing", "note": "<script>alert(1)</script> after Q1",
    "score_then": 91, "score_now": 95, "engagement_then": 0, "engagement_now": 4, "engagement_rise": 4,
    "new_engagement": [{"kind": "email_click", "count": 2}, {"kind": "page_view", "count": 1}],
    "cooldown_ended_at": "2026-12-06T15:00:00+00:00", "why_back": "its 30-day cooldown is over",
}


def stored_then_rendered(notice):
    message, context = rep_notification_later(make_profile(), notice, SENDER)
    return render_stored(json.loads(json.dumps(context)))  # the JSON round trip the outbox makes


def test_the_email_opens_with_who_rejected_it_when_why_and_what_changed():
    message = stored_then_rendered(make_handoff(rejection=REJECTION))

    top = message.text.split("Hi Anna Schmidt")[0]
    assert ("REJECTED BEFORE: Anna Schmidt (anna.schmidt@example.com) rejected this lead on "
            "Fri 6 Nov 2026, 16:00 CET, reason: Bad timing.") in top
    assert "Since then: email click ×2, page view; score 91 then, 95 now; engagement 0 then, 4 now (+4)." in top
    assert "Handed back because its 30-day cooldown is over." in top
    html_top = message.html.split("Hi Anna Schmidt")[0]
    assert "Rejected before" in html_top and "&lt;script&gt;alert(1)&lt;/script&gt; after Q1" in html_top
    assert "<script>alert" not in message.html
    assert "handed back after a rejection" in message.subject


def test_a_lead_never_rejected_and_a_snapshot_from_before_say_nothing_of_it():
    plain = stored_then_rendered(make_handoff())
    assert "REJECTED BEFORE" not in plain.text and "handed back" not in plain.subject

    message, context = rep_notification_later(make_profile(), make_handoff(), SENDER)
    del context["handoff"]["rejection"]  # a row queued before rejections were kept
    assert render_stored(context).text == plain.text


def test_an_old_rejection_without_a_recorded_score_says_unknown():
    old = {**REJECTION, "score_then": None, "engagement_then": None, "engagement_rise": None, "new_engagement": []}
    top = stored_then_rendered(make_handoff(rejection=old)).text.split("Hi Anna")[0]
    assert "Since then: no new engagement; score unknown then, 95 now; engagement unknown then, 4 now." in top


def test_the_losing_rep_is_told_in_a_few_lines():
    message = reassigned_notice({"email": "carla@acme.example", "first_name": "Carla", "last_name": "<b>Boss</b>",
                                 "title": "CEO", "company": "Acme"}, "anna.schmidt@example.com", "Anna Schmidt",
                                "Lukas Bauer (lukas.bauer@example.com)", "nobody answered by the deadline",
                                datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc), "Europe/Berlin", SENDER,
                                "handoff:17:reassigned")
    assert message.subject == "Reassigned to Lukas Bauer (lukas.bauer@example.com): Carla <b>Boss</b>, CEO at Acme"
    assert ("was reassigned to Lukas Bauer (lukas.bauer@example.com) on Mon 30 Nov 2026, 11:00 CET, "
            "because nobody answered by the deadline.") in message.text
    assert "&lt;b&gt;Boss&lt;/b&gt;" in message.html and "<b>Boss</b>" not in message.html
    assert message.custom_args == {"kind": "handoff_reassigned"} and message.to_email == "anna.schmidt@example.com"
    assert len(message.text.splitlines()) < 12
