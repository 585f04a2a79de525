"""Nurture tracks as marketing ops writes them in `config/sequences.yaml`, validated.

A track is chosen by the reason a lead entered nurture (`unqualified`, `rejected:<code>`,
`sla-breached`), optionally narrowed by persona (a job-title pattern) or industry. It has steps;
each step names a template in `templates/emails/`, a subject, the page it links to, and a wait
measured from the previous step (step 1's from enrollment). Emails go out only inside a send
window in the lead's local time, and never more often than the frequency cap allows.

The pydantic models check each field (extra keys are errors); `check_sequences` checks what
needs the whole file or the template folder (every step's template exists, every `then` names a
track, every track is reachable, every entry reason has a track). Load through
`config.rules.load_rules`, which turns both kinds of problem into one sentence naming file and key.
"""
from __future__ import annotations

import re
import string
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadrelay.handoff.answers import REJECT_REASONS
from leadrelay.nurture.send_window import SendWindow, WaitText

# Every reason an enrollment can carry (set by the pipeline, rep feedback and the SLA flow), and
# the families sales outcomes use: `lost` takes every `lost:<reason>`, `disqualified` every
# `disqualified:<reason>` (leadrelay.outcomes.rules).
REASON_FAMILIES: tuple[str, ...] = ("lost", "disqualified")
ENTRY_REASONS: tuple[str, ...] = ("unqualified", "sla-breached", *(f"rejected:{code}" for code in REJECT_REASONS),
                                  *REASON_FAMILIES)
# What a track may lead to when its last step is sent: another track's name, or "cold".
COLD = "cold"
# Lead fields a subject line may name, e.g. "{first_name}, a guide for {company}".
SUBJECT_FIELDS = frozenset({"first_name", "company", "title"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FrequencyCap(_Strict):
    """At most `max_emails` marketing emails to one lead in any `per_days` days, across all tracks."""

    max_emails: int = Field(ge=1)
    per_days: int = Field(ge=1)


class SoftBounces(_Strict):
    """Temporary delivery failures (SendGrid `blocked` bounces, `deferred`) suppress an address only
    when `suppress_after` of them fall within `within_days` days; hard bounces, spam reports and
    unsubscribes suppress at once."""

    suppress_after: int = Field(default=3, ge=1, le=100)
    within_days: int = Field(default=30, ge=1, le=3650)


class Entry(_Strict):
    """Who a track is for: any of `reasons`, and (when given) a persona and an industry among these."""

    reasons: list[str] = Field(min_length=1)
    personas: list[str] = Field(default_factory=list)
    industries: list[str] = Field(default_factory=list)

    def takes(self, reason: str) -> bool:
        """Whether a lead entering nurture for `reason` may take this track (a family such as
        `lost` takes every `lost:<reason>`)."""
        family = reason.split(":", 1)[0]
        return reason in self.reasons or (family in REASON_FAMILIES and family in self.reasons)

    @field_validator("reasons")
    @classmethod
    def _known_reasons(cls, reasons: list[str]) -> list[str]:
        for reason in reasons:
            if reason not in ENTRY_REASONS:
                raise ValueError(f"unknown entry reason '{reason}'; use one of {', '.join(ENTRY_REASONS)}")
        return reasons


class Step(_Strict):
    """One email of a track."""

    template: str = Field(min_length=1)
    subject: str = Field(min_length=1, max_length=200)
    wait: WaitText
    # The page the email invites to (guide, story, demo booking); UTM parameters are added when sending.
    link: str
    # Overrides the track's and the file's send window for this step only.
    send_window: SendWindow | None = None

    @field_validator("template")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError("a template name is lower-case letters, digits and underscores (the file name without .html/.txt)")
        return name

    @field_validator("subject")
    @classmethod
    def _known_placeholders(cls, subject: str) -> str:
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(subject) if field is not None]
        except ValueError as exc:
            raise ValueError(f"subject has a broken placeholder ({exc})") from None
        for field in fields:
            if field not in SUBJECT_FIELDS:
                raise ValueError(f"subject placeholder '{{{field}}}' is unknown; use {', '.join(sorted(SUBJECT_FIELDS))}")
        return subject

    @field_validator("link")
    @classmethod
    def _http_link(cls, link: str) -> str:
        if not re.match(r"^https?://[^\s/]+", link):
            raise ValueError("link must be an http(s) URL")
        return link


class Track(_Strict):
    """A named sequence of steps, its entry conditions and what follows its last step."""

    # Filled in from the track's key in `tracks:`; not written in the file.
    name: str = ""
    description: str = ""
    # No entry: the track is only reached through another track's `then`.
    entry: Entry | None = None
    send_window: SendWindow | None = None
    steps: list[Step] = Field(min_length=1)
    then: str = COLD


class SequencesConfig(_Strict):
    """The whole of `sequences.yaml`."""

    frequency_cap: FrequencyCap
    # The default send window (lead's local time); tracks and steps may override it.
    send_window: SendWindow
    # Persona name -> regular expression matched (case-insensitive) against the lead's title.
    personas: dict[str, str] = Field(default_factory=dict)
    tracks: dict[str, Track] = Field(min_length=1)
    # Optional in the file: 3 soft bounces in 30 days when left out.
    soft_bounces: SoftBounces = Field(default_factory=SoftBounces)

    @field_validator("personas")
    @classmethod
    def _patterns_compile(cls, personas: dict[str, str]) -> dict[str, str]:
        for name, pattern in personas.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"persona '{name}' is not a valid regular expression ({exc})") from None
        return personas

    @field_validator("tracks")
    @classmethod
    def _named(cls, tracks: dict[str, Track]) -> dict[str, Track]:
        for name, track in tracks.items():
            track.name = name
        return tracks

    def track(self, name: str | None) -> Track | None:
        return self.tracks.get(name) if name else None

    def window_for(self, track: Track, step: Step) -> SendWindow:
        """The step's send window, else the track's, else the file's default."""
        return step.send_window or track.send_window or self.send_window


def check_sequences(config: SequencesConfig, templates_dir: Path) -> list[str]:
    """Problems only the whole file and the template folder reveal, each as "key: problem"."""
    problems: list[str] = []
    for name, track in config.tracks.items():
        if track.then != COLD and track.then not in config.tracks:
            problems.append(f"tracks.{name}.then: '{track.then}' is neither a track nor '{COLD}'")
        elif track.then == name:
            problems.append(f"tracks.{name}.then: a track cannot lead to itself")
        for persona in track.entry.personas if track.entry else []:
            if persona not in config.personas:
                problems.append(f"tracks.{name}.entry.personas: unknown persona '{persona}' (define it under personas)")
        for index, step in enumerate(track.steps):
            missing = [f"{step.template}.{ext}" for ext in ("html", "txt") if not (templates_dir / f"{step.template}.{ext}").is_file()]
            if missing:
                problems.append(f"tracks.{name}.steps[{index}].template: no {' or '.join(missing)} in templates/emails")
    reached = {t.then for t in config.tracks.values()} | {n for n, t in config.tracks.items() if t.entry}
    for name in config.tracks:
        if name not in reached:
            problems.append(f"tracks.{name}: not reachable (no entry and no track's `then` leads to it)")
    for reason in ENTRY_REASONS:
        # A track without persona/industry filters catches every lead that enters for the reason.
        if not any(t.entry and reason in t.entry.reasons and not t.entry.personas and not t.entry.industries
                   for t in config.tracks.values()):
            problems.append(f"tracks: no track takes every lead with entry reason '{reason}' "
                            "(add it to a track's entry.reasons without personas or industries)")
    return problems
