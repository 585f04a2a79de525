"""Nurture decisions without a database: track choice, waits, send windows, the cap, config errors."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from leadrelay.config.rules import ConfigError, load_rules
from leadrelay.nurture.guard_rails import (FREQUENCY_CAP, OUTSIDE_WINDOW, choose_track, lead_timezone, persona_of, plan_next_send,
                               plan_send, with_utm)

CONFIG = Path(__file__).resolve().parents[2] / "config"
SEQUENCES = load_rules(CONFIG).sequences
CAP = SEQUENCES.frequency_cap
WINDOW = SEQUENCES.send_window  # mon-fri 09:00-17:00 local

FRIDAY_EVENING_BERLIN = datetime(2026, 11, 27, 18, 30, tzinfo=timezone.utc)  # 19:30 in Berlin
MONDAY_9AM_BERLIN = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize("reason, title, industry, expected", [
    ("rejected:bad-timing", "CEO", None, "timing"),  # the reason wins over the persona: timing lists no personas
    ("unqualified", "Chief Executive Officer", None, "executive"),
    ("unqualified", "VP Sales", "Software", "executive"),
    ("unqualified", "Student", None, "education"),
    ("unqualified", None, None, "education"),
    ("rejected:no-need", "CEO", None, "education"),  # executive does not take no-need
    ("sla-breached", "Head of Marketing", None, "executive"),
    ("rejected:duplicate", "CTO", None, "long-term-drip"),
])
def test_the_track_follows_the_entry_reason_then_the_persona(reason, title, industry, expected):
    track = choose_track(reason, {"title": title, "industry": industry}, SEQUENCES)
    assert track is not None and track.name == expected


def test_an_unknown_reason_gets_no_track():
    assert choose_track("replaced", {"title": "CEO"}, SEQUENCES) is None


def test_persona_by_title_pattern_is_case_insensitive_and_whole_word():
    assert persona_of("Senior Software ENGINEER", SEQUENCES) == "technical"
    assert persona_of("Co-Founder & CEO", SEQUENCES) == "executive"
    assert persona_of("Accountant", SEQUENCES) is None  # "cto" inside a word is not a CTO


def test_the_lead_s_time_zone_comes_from_its_attributes_then_its_country():
    assert lead_timezone({"country": "DE", "attributes": {}}) == "Europe/Berlin"
    assert lead_timezone({"country": "DE", "attributes": {"timezone": "America/Chicago"}}) == "America/Chicago"
    assert lead_timezone({"country": "Atlantis", "attributes": {"timezone": "Not/AZone"}}) == "UTC"


def test_rejected_for_bad_timing_on_friday_evening_gets_step_1_on_monday_9am_local_and_step_2_a_week_later():
    timing = SEQUENCES.tracks["timing"]
    first = plan_next_send(FRIDAY_EVENING_BERLIN, timing.steps[0].wait, "Europe/Berlin", WINDOW, [], CAP)
    assert first.at == MONDAY_9AM_BERLIN
    assert first.deferred_by == (OUTSIDE_WINDOW,)
    second = plan_next_send(first.at, timing.steps[1].wait, "Europe/Berlin", WINDOW, [first.at], CAP)
    assert timing.steps[1].wait == "P7D"
    assert second.at == utc(2026, 12, 7, 8, 0) and second.deferred_by == ()


def test_the_window_is_the_lead_s_own_local_time():
    friday_evening_new_york = utc(2026, 11, 28, 0, 30)  # Friday 19:30 in New York, Saturday in Berlin
    plan = plan_send(friday_evening_new_york, "America/New_York", WINDOW, [], CAP)
    assert plan.at == utc(2026, 11, 30, 14, 0)  # Monday 09:00 in New York


def test_a_step_inside_the_window_goes_at_once():
    tuesday_10am_berlin = utc(2026, 12, 1, 9, 0)
    assert plan_send(tuesday_10am_berlin, "Europe/Berlin", WINDOW, [], CAP).at == tuesday_10am_berlin


def test_the_frequency_cap_moves_a_step_until_the_oldest_send_leaves_the_rolling_window():
    monday, tuesday, wednesday = utc(2026, 11, 30, 9, 0), utc(2026, 12, 1, 9, 0), utc(2026, 12, 2, 9, 0)
    plan = plan_send(wednesday, "Europe/Berlin", WINDOW, [monday, tuesday], CAP)
    assert CAP.max_emails == 2 and CAP.per_days == 7
    assert plan.at == utc(2026, 12, 7, 9, 0)  # Monday's send is 7 days old: one of two slots is free
    assert plan.deferred_by == (FREQUENCY_CAP,)


def test_a_cap_slot_outside_the_window_moves_on_to_the_next_opening():
    friday_5pm, friday_6pm = utc(2026, 11, 27, 16, 0), utc(2026, 11, 27, 17, 0)  # 17:00 and 18:00 in Berlin
    plan = plan_send(utc(2026, 11, 30, 9, 0), "Europe/Berlin", WINDOW, [friday_5pm, friday_6pm], CAP)
    assert plan.at == utc(2026, 12, 7, 8, 0)  # free from next Friday 17:00 (closing time), so Monday 09:00
    assert plan.deferred_by == (FREQUENCY_CAP, OUTSIDE_WINDOW)


def test_utm_parameters_name_the_track_and_step_and_keep_other_parameters():
    url = with_utm("https://example.com/book?with=lead&utm_source=old", "timing", 3)
    assert url == ("https://example.com/book?with=lead&utm_source=leadrelay&utm_medium=email"
                   "&utm_campaign=timing&utm_content=step-3")


# --- config errors name the file and the key ---------------------------------------------------


@pytest.fixture
def config_copy(tmp_path):
    for path in CONFIG.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


@pytest.mark.parametrize("old, new, expected", [
    ("        wait: P7D\n        link: https://example.com/customers/northwind",
     "        wiat: P7D\n        link: https://example.com/customers/northwind",
     "sequences.yaml: tracks.timing.steps[1].wiat: unknown key (check its spelling)"),
    ("        wait: P7D\n        link: https://example.com/customers/northwind",
     "        wait: a week\n        link: https://example.com/customers/northwind",
     "sequences.yaml: tracks.timing.steps[1].wait: 'a week' is not a wait"),
    ('reasons: ["rejected:bad-timing"]', 'reasons: ["rejected:too-late"]',
     "sequences.yaml: tracks.timing.entry.reasons: unknown entry reason 'rejected:too-late'"),
    ("template: nurture_timing_story", "template: nurture_timing_missing",
     "sequences.yaml: tracks.timing.steps[1].template: no nurture_timing_missing.html or nurture_timing_missing.txt"),
    ("    then: cold", "    then: frozen",
     "sequences.yaml: tracks.long-term-drip.then: 'frozen' is neither a track nor 'cold'"),
    ('    entry:\n      reasons: ["rejected:duplicate"]\n', "",
     "sequences.yaml: tracks: no track takes every lead with entry reason 'rejected:duplicate'"),
    ("frequency_cap: {max_emails: 2, per_days: 7}", "frequency_cap: {max_emails: 0, per_days: 7}",
     "sequences.yaml: frequency_cap.max_emails: Input should be greater than or equal to 1"),
    ('subject: "{first_name}, a planning guide', 'subject: "{email}, a planning guide',
     "sequences.yaml: tracks.timing.steps[0].subject: subject placeholder '{email}' is unknown"),
    ('  start: "09:00"\n  end: "17:00"', '  start: "17:00"\n  end: "09:00"',
     "sequences.yaml: send_window: start 17:00 must be before end 09:00"),
])
def test_a_broken_sequences_file_names_the_file_and_key(config_copy, old, new, expected):
    path = config_copy / "sequences.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as error:
        load_rules(config_copy)
    assert expected in str(error.value)


def test_an_unreachable_track_is_an_error(config_copy):
    path = config_copy / "sequences.yaml"
    text = path.read_text().replace("    then: long-term-drip", "    then: cold")
    text = text.replace('    entry:\n      reasons: ["rejected:duplicate"]\n', "")
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"sequences.yaml: tracks.long-term-drip: not reachable"):
        load_rules(config_copy)
