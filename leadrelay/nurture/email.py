"""Rendering nurture emails: one step of a track for one lead, with a one-click unsubscribe.

Pure like `leadrelay.email.rendering` (and through its one Jinja2 environment, `render_template`): lead
data enters templates and subjects only as values, never as template source, so "{{ 7*7 }}" in a
company name is shown as typed, and `<script>` is escaped in HTML.
Every nurture email carries a signed unsubscribe link in its footer, `List-Unsubscribe` (URL and
mailto) and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` headers, and the sender's postal
address. `custom_args` hold the kind, track and step only (no personal data).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from leadrelay.email.kinds import NURTURE
from leadrelay.email.message import EmailMessage
from leadrelay.email.rendering import Sender, compose, render_template
from leadrelay.lead_view import full_name
from leadrelay.nurture.guard_rails import with_utm
from leadrelay.nurture.sequences import Track

# Shown when a preview has no lead of its own.
SAMPLE_LEAD: dict[str, Any] = {
    "email": "carla.boss@acme.example", "first_name": "Carla", "last_name": "Boss", "title": "Head of Operations",
    "company": "Acme Corp", "industry": "Manufacturing", "country": "DE", "attributes": {},
}
PREVIEW_LINK = "https://example.com/resources/preview"


@dataclass(frozen=True)
class NurtureLinks:
    """Where the lead can unsubscribe: the signed page (also the one-click POST target) and a mailbox."""

    unsubscribe_url: str
    unsubscribe_mailto: str


def unsubscribe_mailto(sender: Sender) -> str:
    """The mailto: half of List-Unsubscribe; the sender's mailbox with an "unsubscribe" subject."""
    return f"mailto:{sender.from_email}?subject=unsubscribe"


def nurture_email(lead: Mapping[str, Any], track: Track, step_index: int, links: NurtureLinks, sender: Sender,
                  idempotency_key: str, persona: str | None = None) -> EmailMessage:
    """Step `step_index` (0-based) of `track` for `lead` (`lead_facts()` or `lead_profile()` of a lead).

    `persona` (from `leadrelay.nurture.guard_rails.persona_of`) lets a template speak to the reader's role.
    Raises IndexError for a step the track does not have, jinja2.UndefinedError when a template
    needs a value it did not get.
    """
    step = track.steps[step_index]
    number = step_index + 1
    context = template_context(lead, sender, links.unsubscribe_url, with_utm(step.link, track.name, number),
                               track.name, number, persona)
    html, text = render_template(step.template, context)
    return compose(NURTURE, idempotency_key, lead["email"], full_name(lead), sender, render_subject(step.subject, lead),
                   html, text, headers=unsubscribe_headers(links), categories=(track.name,),
                   args={"track": track.name, "step": str(number)})


def unsubscribe_headers(links: NurtureLinks) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe (URL first, then mailto) and RFC 8058 one-click."""
    return {
        "List-Unsubscribe": f"<{links.unsubscribe_url}>, <{links.unsubscribe_mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def render_subject(subject: str, lead: Mapping[str, Any]) -> str:
    """The step's subject with `{first_name}`, `{company}`, `{title}` filled in (values inserted as
    text: format_map never evaluates what it inserts)."""
    values = subject_values(lead)
    return subject.format_map(values)


def subject_values(lead: Mapping[str, Any]) -> dict[str, str]:
    """Display values for a lead, with friendly stand-ins for what it did not tell us."""
    return {
        "first_name": (lead.get("first_name") or "").strip() or "there",
        "company": (lead.get("company") or "").strip() or "your team",
        "title": (lead.get("title") or "").strip() or "your role",
    }


def template_context(lead: Mapping[str, Any], sender: Sender, unsubscribe_url: str, cta_url: str,
                     track: str, step_number: int, persona: str | None) -> dict[str, Any]:
    """What every nurture template gets: `reader` (first_name, company, title, industry, with
    stand-ins), `persona`, `cta_url`, `unsubscribe_url`, `track`, `step` and `sender`."""
    reader = subject_values(lead)
    reader["industry"] = (lead.get("industry") or "").strip()
    reader["has_title"] = bool((lead.get("title") or "").strip())
    return {"reader": reader, "persona": persona, "cta_url": cta_url, "unsubscribe_url": unsubscribe_url,
            "track": track, "step": step_number, "sender": sender}


def preview_template(name: str, lead: Mapping[str, Any] | None, sender: Sender, base_url: str,
                     persona: str | None = None) -> tuple[str, str]:
    """(html, text) of nurture template `name` for `lead` (SAMPLE_LEAD when None), for
    `leadrelay preview`. Links are placeholders: the unsubscribe link is not signed."""
    chosen = lead or SAMPLE_LEAD
    context = template_context(chosen, sender, f"{base_url.rstrip('/')}/unsubscribe/preview",
                               with_utm(PREVIEW_LINK, "preview", 1), "preview", 1, persona)
    return render_template(name, context)
