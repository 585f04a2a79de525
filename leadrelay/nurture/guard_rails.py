"""Nurture decisions as plain functions: which track a lead gets, and when its next email may go.

No database, no clock: a lead is a mapping (`leadrelay.lead_view.lead_facts()` or `lead_profile()`), times are
timezone-aware and what comes out is UTC-aware.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from leadrelay.nurture.send_window import SendWindow, add_wait, next_send_at, timezone_for
from leadrelay.nurture.sequences import FrequencyCap, SequencesConfig, Track

OUTSIDE_WINDOW = "outside-send-window"
FREQUENCY_CAP = "frequency-cap"
# A plan never searches further than this: a cap and a window always agree within a few weeks.
_MAX_ROUNDS = 50


def lead_timezone(lead: Mapping[str, Any]) -> str:
    """The lead's IANA zone: `attributes.timezone` when valid, else its country's main zone, else UTC."""
    attributes = lead.get("attributes") or {}
    explicit = attributes.get("timezone") if isinstance(attributes, Mapping) else None
    return timezone_for(lead.get("country"), explicit if isinstance(explicit, str) else None)


def persona_of(title: str | None, sequences: SequencesConfig) -> str | None:
    """The first persona (in file order) whose pattern matches `title`, case-insensitive; None if none does."""
    if not title:
        return None
    for name, pattern in sequences.personas.items():
        if re.search(pattern, title, re.IGNORECASE):
            return name
    return None


def choose_track(reason: str, lead: Mapping[str, Any], sequences: SequencesConfig) -> Track | None:
    """The first track in file order whose entry takes `reason` and, where it names personas or
    industries, the lead's persona and industry (case-insensitive); None when no track does.

    Narrow tracks (with personas or industries) should come before the catch-all one for a reason.
    """
    persona = persona_of(lead.get("title"), sequences)
    industry = (lead.get("industry") or "").strip().lower()
    for track in sequences.tracks.values():
        entry = track.entry
        if entry is None or not entry.takes(reason):
            continue
        if entry.personas and persona not in entry.personas:
            continue
        if entry.industries and industry not in {i.strip().lower() for i in entry.industries}:
            continue
        return track
    return None


@dataclass(frozen=True)
class SendPlan:
    """When a step may go out, and why it is later than asked (`deferred_by`, in order, no repeats)."""

    at: datetime
    deferred_by: tuple[str, ...] = ()


def plan_send(due_at: datetime, tz: str, window: SendWindow, recent_sends: Sequence[datetime],
              cap: FrequencyCap) -> SendPlan:
    """The first moment at or after `due_at` inside `window` (local time `tz`) at which fewer than
    `cap.max_emails` of `recent_sends` fall in the rolling window (moment - per_days, moment]."""
    per = timedelta(days=cap.per_days)
    moment, reasons = due_at, []
    for _ in range(_MAX_ROUNDS):
        opened = next_send_at(moment, tz, window)
        if opened != moment and OUTSIDE_WINDOW not in reasons:
            reasons.append(OUTSIDE_WINDOW)
        moment = opened
        in_cap = sorted(s for s in recent_sends if moment - per < s <= moment)
        if len(in_cap) < cap.max_emails:
            return SendPlan(at=moment, deferred_by=tuple(reasons))
        if FREQUENCY_CAP not in reasons:
            reasons.append(FREQUENCY_CAP)
        # Free again when enough of those sends have left the rolling window.
        moment = in_cap[len(in_cap) - cap.max_emails] + per
    raise AssertionError("no send slot found; the frequency cap and send window never agree")


def plan_next_send(previous_at: datetime, wait: str, tz: str, window: SendWindow,
                   recent_sends: Sequence[datetime], cap: FrequencyCap) -> SendPlan:
    """When a step may go out: `wait` after `previous_at` (the previous step's send, or enrollment
    for step 1), counted in `tz`, then moved into the send window and past the frequency cap."""
    return plan_send(add_wait(previous_at, wait, tz), tz, window, recent_sends, cap)


def with_utm(url: str, track: str, step_number: int) -> str:
    """`url` with utm_source=leadrelay, utm_medium=email, utm_campaign=<track>, utm_content=step-<n>
    (replacing any UTM parameters it had, keeping its other query parameters)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    query += [("utm_source", "leadrelay"), ("utm_medium", "email"), ("utm_campaign", track),
              ("utm_content", f"step-{step_number}")]
    return urlunsplit(parts._replace(query=urlencode(query)))
