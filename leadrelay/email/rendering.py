"""Turning a lead profile into emails: the rep's handoff notification and the SLA escalation.

Rendering is pure (principle 2): functions of a profile dict (as `lead_profile()` returns it) and
a few parameters, producing `EmailMessage` objects that any backend in `leadrelay.email` sends.

Safety rules kept here, in one place:
- lead data only ever enters templates as context values, never as template source, so a name
  like "{{ 7*7 }}" is shown as typed;
- .html templates are autoescaped, .txt templates are not (one Environment, by extension);
- every header value (subject, names, addresses) goes through `header_safe` (no CR/LF);
- a variable a template needs but did not get raises (StrictUndefined) instead of rendering "".
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import css_inline
import pendulum
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from leadrelay.email.kinds import HANDOFF_REASSIGNED, REP_NOTIFICATION, SLA_ESCALATION
from leadrelay.email.message import EmailMessage, header_safe
from leadrelay.lead_view import display_name

# The one rule: templates come from the package `leadrelay.templates` (in a checkout, the
# project's templates/ folder; in a built wheel, the copy inside it).
TEMPLATES_DIR = Path(str(files("leadrelay.templates"))) / "emails"
NOT_GIVEN = "not given"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    # escaping is chosen by the template's extension: .html escaped, .txt verbatim
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
# load_remote_stylesheets=False: rendering must never touch the network
_inliner = css_inline.CSSInliner(load_remote_stylesheets=False)


@dataclass(frozen=True)
class Sender:
    """Who the emails come from, and the postal address every footer shows.

    Built from settings (`LEADRELAY_POSTAL_ADDRESS` and friends); rendering has no default of its
    own, so there is one postal address, the one configured."""

    from_email: str
    from_name: str
    postal_address: str


@dataclass(frozen=True)
class HandoffNotice:
    """One offer of a lead to one rep: who, until when, and the signed links to answer with.

    `due_at` must be timezone-aware; `attempt` is 0 for the first rep offered the lead, 1 for the
    next one after a reassignment, and so on.
    """

    handoff_id: int
    rep_email: str
    rep_name: str
    rep_timezone: str
    due_at: datetime
    accept_url: str
    reject_url: str
    attempt: int
    route_reason: str
    idempotency_key: str
    # The lead's last rejection when it is handed back (`rejection_store.earlier_rejection`), else None.
    rejection: dict[str, Any] | None = None


# ---------------------------------------------------------------------------------------------
# Rendering


def render_template(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """(html, text) for `templates/emails/<name>.html` and `<name>.txt` rendered with `context`.

    The HTML has its `<style>` rules inlined into `style="..."` attributes (many email clients
    drop `<style>` blocks). Raises jinja2.UndefinedError when the context lacks a variable.
    """
    html = _env.get_template(f"{name}.html").render(context)
    text = _env.get_template(f"{name}.txt").render(context)
    return _inliner.inline(html), text


def rep_notification(profile: dict[str, Any], handoff: HandoffNotice, sender: Sender) -> EmailMessage:
    """The email a rep gets when `profile`'s lead is handed to them.

    It says who the lead is, why it scored as it did, BANT, recent engagement, nurture activity,
    the full history, the buying team, the deadline in the rep's time zone, the routing reason
    and signed Accept / Reject links. No personal data goes into `custom_args`.
    """
    lead = lead_summary(profile, handoff.rep_timezone)
    deadline = local_time(handoff.due_at, handoff.rep_timezone)
    rejection = rejection_view(handoff.rejection, handoff.rep_timezone) if handoff.rejection else None
    context = {
        "lead": lead,
        "handoff": handoff,
        "deadline": deadline,
        "sender": sender,
        "rejection": rejection,
    }
    html, text = render_template("rep_notification", context)
    again = " (handed back after a rejection)" if rejection else ""
    subject = (f"{lead['tier_label']} lead: {lead['headline']} (score {lead['score_total']}){again}"
               f" — accept by {deadline['short']}")
    return compose(REP_NOTIFICATION, handoff.idempotency_key, handoff.rep_email, handoff.rep_name, sender, subject,
                   html, text, args={"handoff_id": str(handoff.handoff_id)})


def rep_notification_later(profile: dict[str, Any], handoff: HandoffNotice,
                           sender: Sender) -> tuple[EmailMessage, dict[str, Any]]:
    """`rep_notification` split for rendering when it is sent: the message with its addresses,
    key and custom args but an empty subject and body, and the JSON-safe context that
    `render_stored` turns into the full message. A hand-off batch stores the context, so the email
    shows the lead as it was at handoff while the batch skips the ~1.4 ms of rendering."""
    message = compose(REP_NOTIFICATION, handoff.idempotency_key, handoff.rep_email, handoff.rep_name, sender,
                      "", "", "", args={"handoff_id": str(handoff.handoff_id)})
    context = {"template": REP_NOTIFICATION, "profile": profile, "sender": _fields_of(sender),
               "handoff": {**_fields_of(handoff), "due_at": handoff.due_at.isoformat()}}
    return message, context


def _fields_of(instance: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, in field order: `asdict` without its deep copy (a batch
    serialises the context at once, so sharing the field values is safe and ~10x cheaper)."""
    return {name: getattr(instance, name) for name in _field_names(type(instance))}


@lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(item.name for item in fields(cls))


def render_stored(context: dict[str, Any]) -> EmailMessage:
    """The message a context from `rep_notification_later` describes, rendered now: the same
    message `rep_notification` would have made when the context was stored."""
    if context.get("template") != REP_NOTIFICATION:
        raise ValueError(f"no stored rendering for template {context.get('template')!r}")
    handoff = HandoffNotice(**{**context["handoff"], "due_at": parse_time(context["handoff"]["due_at"])})
    return rep_notification(context["profile"], handoff, Sender(**context["sender"]))


def escalation_notice(
    profile: dict[str, Any],
    manager_email: str,
    manager_name: str,
    rep_email: str,
    due_at: datetime,
    tz: str,
    sender: Sender,
    idempotency_key: str,
    reassign_url: str | None = None,
) -> EmailMessage:
    """The email a rep's manager gets when the rep did not answer a handoff by `due_at`.

    Times are shown in `tz`; the lead summary is the same one the rep was sent. `reassign_url`,
    when given, is the manager's signed link to give the lead to another rep.
    """
    lead = lead_summary(profile, tz)
    deadline = local_time(due_at, tz)
    context = {
        "lead": lead,
        "manager_name": manager_name,
        "rep_email": rep_email,
        "deadline": deadline,
        "sender": sender,
        "reassign_url": reassign_url,
    }
    html, text = render_template("escalation", context)
    subject = f"SLA missed: {lead['headline']} (score {lead['score_total']}) not accepted by {deadline['short']}"
    return compose(SLA_ESCALATION, idempotency_key, manager_email, manager_name, sender, subject, html, text)


def rejection_view(rejection: dict[str, Any], tz: str) -> dict[str, Any]:
    """The earlier rejection as the rep email shows it: who, when (in `tz`), why, and what changed
    since, every value display text."""
    def points(value: Any) -> str:
        return "unknown" if value is None else str(value)

    rise = rejection.get("engagement_rise")
    did = ", ".join(f"{humanize(item['kind'])} ×{item['count']}" if item["count"] > 1 else humanize(item["kind"])
                    for item in rejection.get("new_engagement") or [])
    return {
        "who": rejection["rep_name"] if rejection["rep_name"] == rejection["rep_email"]
        else f"{rejection['rep_name']} ({rejection['rep_email']})",
        "when": local_time(parse_time(rejection["at"]), tz)["long"],
        "why": rejection["reason_label"],
        "note": rejection.get("note") or "",
        "new_engagement": did or "no new engagement",
        "score": f"{points(rejection.get('score_then'))} then, {rejection['score_now']} now",
        "engagement": (f"{points(rejection.get('engagement_then'))} then, {rejection['engagement_now']} now"
                       + (f" ({signed(rise)})" if rise is not None else "")),
        "why_back": rejection["why_back"],
    }


def reassigned_notice(person: dict[str, Any], rep_email: str, rep_name: str, new_rep: str, why: str,
                      at: datetime, tz: str, sender: Sender, idempotency_key: str) -> EmailMessage:
    """The short email a rep gets when a lead they held was given to `new_rep` (a name and address)
    at `at`, shown in `tz`; `why` is one phrase ("nobody answered by the deadline"). `person` needs
    the lead's email and, when known, names, title and company."""
    context = {"rep_name": rep_name, "headline": headline(person), "new_rep": new_rep, "why": why,
               "when": local_time(at, tz)["long"], "sender": sender}
    html, text = render_template("handoff_reassigned", context)
    subject = f"Reassigned to {new_rep}: {context['headline']}"
    return compose(HANDOFF_REASSIGNED, idempotency_key, rep_email, rep_name, sender, subject, html, text)


def compose(kind: str, idempotency_key: str, to_email: str, to_name: str, sender: Sender, subject: str,
            html: str, text: str, headers: dict[str, str] | None = None, categories: tuple[str, ...] = (),
            args: dict[str, str] | None = None) -> EmailMessage:
    """An `EmailMessage` of `kind` (see `leadrelay.email.kinds`) from `sender`, every header value
    single-line. `kind` is the first category and `custom_args["kind"]`, followed by `categories`
    and `args`; custom args must hold no personal data (SendGrid shows them in event logs)."""
    return EmailMessage(
        idempotency_key=idempotency_key,
        to_email=header_safe(to_email),
        to_name=header_safe(to_name),
        from_email=header_safe(sender.from_email),
        from_name=header_safe(sender.from_name),
        subject=header_safe(subject),
        html=html,
        text=text,
        headers=dict(headers or {}),
        categories=(kind, *categories),
        custom_args={"kind": kind, **(args or {})},
    )


# ---------------------------------------------------------------------------------------------
# The view of a lead the templates show: every value already formatted as display text


def lead_summary(profile: dict[str, Any], tz: str) -> dict[str, Any]:
    """What the `_lead_summary` macros show about a lead, formatted for people; times in `tz`.
    `profile` is `leadrelay.lead_view.lead_profile()`'s mapping."""
    score = profile["score"]
    breakdown = [{"rule": line["rule"], "points": signed(line["points"])} for line in score.get("breakdown") or []]
    history = [history_view(event, tz) for event in sorted(profile["history"], key=lambda e: parse_time(e["at"]))]
    return {
        "name": display_name(profile),
        "timezone": tz,
        "headline": headline(profile),
        "email": profile["email"],
        "tier_label": (score.get("tier") or "new").capitalize(),
        "score_total": score.get("total") if score.get("total") is not None else 0,
        "score_fit": score.get("fit") or 0,
        "score_engagement": score.get("engagement") or 0,
        "stage": profile.get("stage") or NOT_GIVEN,
        "who": who_facts(profile),
        "bant": bant_facts(profile),
        "breakdown": breakdown,
        # "engagement: demo request ×2" → the rule names the engagement kind; keep it as is
        "engagement": [line for line in breakdown if line["rule"].startswith("engagement")],
        "nurture": [event for event in history if event["kind"].startswith("nurture_")],
        "history": history,
        "buying_team": [member_view(m) for m in profile.get("buying_team") or []],
    }


def headline(profile: dict[str, Any]) -> str:
    """"Carla Boss, CEO at Acme Corp", leaving out whatever is unknown."""
    text = display_name(profile)
    if profile.get("title"):
        text += f", {profile['title']}"
    if profile.get("company"):
        text += f" at {profile['company']}"
    return text


def who_facts(profile: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs about the person and company; unknown values left out."""
    size = profile.get("company_size")
    facts = [
        ("Email", profile.get("email")),
        ("Title", profile.get("title")),
        ("Company", profile.get("company")),
        ("Domain", profile.get("company_domain")),
        ("Industry", profile.get("industry")),
        ("Company size", f"{size:,} employees" if isinstance(size, int) else size),
        ("Country", profile.get("country")),
        ("Source", profile.get("source")),
    ]
    # unknown CSV columns: the rep may know what "webinar_topic" means even if we don't
    facts += [(humanize(key).capitalize(), display(value)) for key, value in sorted((profile.get("attributes") or {}).items())]
    return [(label, str(value)) for label, value in facts if value not in (None, "")]


def bant_facts(profile: dict[str, Any]) -> list[tuple[str, str]]:
    """Budget, authority, need and timeframe as (label, value), "not given" where unknown."""
    budget = profile.get("budget_usd")
    months = profile.get("timeframe_months")
    return [
        ("Budget", f"USD {budget:,.0f}" if isinstance(budget, (int, float)) else NOT_GIVEN),
        ("Authority", profile.get("title") or NOT_GIVEN),
        ("Need", profile.get("need") or NOT_GIVEN),
        ("Timeframe", timeframe(months)),
    ]


def timeframe(months: Any) -> str:
    """"within 3 months", "within 1 month", or "not given"."""
    if not isinstance(months, (int, float)):
        return NOT_GIVEN
    return f"within {months:g} month" + ("" if months == 1 else "s")


def member_view(member: dict[str, Any]) -> dict[str, str]:
    """One buying-team row with every cell as text."""
    return {
        "name": member.get("name") or member["email"],
        "email": member["email"],
        "title": member.get("title") or "",
        "stage": member.get("stage") or "",
        "score": "" if member.get("score") is None else str(member["score"]),
    }


def history_view(event: dict[str, Any], tz: str) -> dict[str, Any]:
    """One history event for display: local time, readable kind, and detail as key: value lines."""
    return {
        "at": parse_time(event["at"]).in_timezone(tz).format("D MMM YYYY HH:mm"),
        "kind": event["kind"],
        "label": humanize(event["kind"]).capitalize(),
        "actor": event.get("actor") or "",
        "detail": detail_lines(event.get("detail") or {}),
    }


def detail_lines(detail: dict[str, Any]) -> list[str]:
    """A history event's JSON detail as "key: value" lines a person can read."""
    return [f"{humanize(key)}: {display(value)}" for key, value in detail.items()]


def display(value: Any) -> str:
    """A JSON value as short text: lists joined by commas, objects as "key value" pairs."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(display(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{humanize(k)} {display(v)}" for k, v in value.items())
    return str(value)


def humanize(key: str) -> str:
    """"from_stage" → "from stage"."""
    return str(key).replace("_", " ").strip()


def signed(points: int | float) -> str:
    """Points with their sign, as a score breakdown reads: "+25", "-10", "0"."""
    return f"{points:+g}" if points else "0"


# ---------------------------------------------------------------------------------------------
# Time


def parse_time(value: str | datetime) -> pendulum.DateTime:
    """An ISO 8601 string (as `lead_profile` writes them) or an aware datetime, as pendulum."""
    moment = pendulum.parse(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no time zone; leadrelay keeps times aware")
    return pendulum.instance(moment)


def local_time(moment: datetime, tz: str) -> dict[str, str]:
    """`moment` in time zone `tz`: "short" ("Mon 30 Nov 11:00 CET", for subjects), "long"
    ("Mon 30 Nov 2026, 11:00 CET") and "zone" (the IANA name, e.g. "Europe/Berlin")."""
    local = parse_time(moment).in_timezone(tz)
    return {
        "short": local.format("ddd D MMM HH:mm zz"),
        "long": local.format("ddd D MMM YYYY, HH:mm zz"),
        "zone": tz,
    }
