"""`leadrelay demo`: seed sample leads into a fresh demo database and run weeks of the lifecycle."""
from __future__ import annotations

import logging
import random
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console
from sqlalchemy import select

from leadrelay.config.settings import Settings, get_settings
from leadrelay.cli import output as cli_output
from leadrelay.db import unit_of_work, upgrade_schema
from leadrelay.demo.data import BAD_ROWS, sample_leads, write_csv
from leadrelay.email.kinds import NURTURE
from leadrelay.engagement.record import engagement, record_engagement
from leadrelay.reporting.funnel import funnel_report
from leadrelay.intake.importer import import_csv
from leadrelay.wiring import build_services, use_services
from leadrelay.handoff.answers import answer_handoff
from leadrelay.engagement.sendgrid_events import apply_events
from leadrelay.models import Handoff, InboundLead, Lead, OutboxEmail, Stage
from leadrelay.outcomes.record import OutcomeRequest, record_outcomes

START = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)  # a Monday morning
DAYS = 21
ACTIVITY = ["email_open", "email_open", "email_click", "page_view", "pricing_page_view", "content_download",
            "webinar_attended"]


def run_demo(directory: Path, lead_count: int, seed: int, console: Console) -> None:
    """Recreate `directory` with a demo database and outbox, and simulate DAYS days of leads."""
    from leadrelay.flows.engagement import engagement as engagement_flow
    from leadrelay.flows.nurture import nurture
    from leadrelay.flows.pipeline import pipeline
    from leadrelay.flows.sla import sla

    # The day-by-day lines below say what happened; Prefect's per-task lines would drown them.
    logging.getLogger("prefect").setLevel(logging.WARNING)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    url = f"sqlite:///{directory.resolve() / 'leadrelay.db'}"
    settings = get_settings().model_copy(update={"database_url": url, "outbox_dir": directory / "outbox",
                                                 "email_backend": "outbox"})
    wired = build_services(settings)
    upgrade_schema(wired.engine)
    rng = random.Random(seed)
    outcome_rng = random.Random(seed + 1)  # its own stream: the rest of the demo draws as before
    leads = sample_leads(lead_count, seed)
    first_wave, later = leads[: lead_count * 2 // 3], leads[lead_count * 2 // 3 :]

    with use_services(wired):
        csv_path = write_csv(directory / "sample_leads.csv", first_wave + BAD_ROWS)
        counts = import_csv(csv_path, START, source="demo-import", engine=wired.engine)
        console.print(f"day 0: imported {csv_path.name}: {counts.created} leads, {counts.quarantined} quarantined")
        for day in range(DAYS):
            as_of = START + timedelta(days=day, hours=1)
            arrivals = [later.pop() for _ in range(min(len(later), rng.randint(3, 9)))] if day else []
            with unit_of_work(wired.engine) as session:
                session.add_all(InboundLead(received_at=as_of, source="form:contact-us", payload=lead) for lead in arrivals)
                record_engagement(session, _activity(session, rng, as_of))
            result = pipeline(as_of=as_of)
            with unit_of_work(wired.engine) as session:
                answers = _rep_answers(session, rng, as_of + timedelta(hours=2, minutes=30))
                deals = _sales_outcomes(session, outcome_rng, as_of + timedelta(hours=3))
            breaches = sla(as_of=as_of + timedelta(hours=9))["breaches"]
            # Nurture runs in the European morning and the American one, so windows open for both.
            nurtured = sum(nurture(as_of=as_of + timedelta(hours=h))["email"].get("sent", 0) for h in (1, 13))
            with unit_of_work(wired.engine) as session:
                reactions = _recipients_react(session, rng, as_of, as_of + timedelta(hours=14))
            back = engagement_flow(as_of=as_of + timedelta(hours=15))["handoff"].get("claimed", 0)
            moved = ", ".join(f"{n} to {k.removeprefix('to_')}" for k, n in result["scoring"].items() if k.startswith("to_"))
            console.print(f"day {day + 1:2d} ({as_of:%a %d %b}): {len(arrivals)} form fills; {moved or 'no stage changes'}; "
                          f"{result['handoff'].get('claimed', 0)} handed off; {answers['accept']} accepted, "
                          f"{answers['reject']} rejected; {_breach_summary(breaches)}; {nurtured} nurture emails, "
                          f"{reactions['click']} clicks, {reactions['unsubscribe']} unsubscribes, "
                          f"{reactions['bounce']} bounces; {back} back to sales after nurture; "
                          f"{deals['sql']} SQL, {deals['won']} won, {deals['lost']} lost")

        with unit_of_work(wired.engine) as session:
            report = funnel_report(session, as_of=START + timedelta(days=DAYS))
            hottest = session.scalars(select(Lead.email).order_by(Lead.score_total.desc())).first()
    cli_output.print_funnel(report)
    if share_with_default_database(directory / "leadrelay.db", get_settings().database_url):
        console.print("\nThe demo's database is also ./leadrelay.db (there was none), so `leadrelay funnel`, "
                      "`leadrelay lead show` and `leadrelay web` read it as they are.", soft_wrap=True)
    console.print(f"\nExplore it: LEADRELAY_DATABASE_URL={url} leadrelay lead show {hottest}", soft_wrap=True)
    console.print(report_hint(url, settings), soft_wrap=True)


def share_with_default_database(demo_database: Path, configured_url: str) -> bool:
    """Copy the demo's database to the default one (`./leadrelay.db`) when that is the database the
    commands use and it does not exist yet, so `leadrelay funnel` right after `make demo` shows the
    demo; returns whether it did. A database that exists, or one configured elsewhere, is never touched."""
    default_url = Settings.model_fields["database_url"].default
    target = Path(default_url.removeprefix("sqlite:///"))
    if configured_url != default_url or target.exists():
        return False
    source, copy = sqlite3.connect(demo_database), sqlite3.connect(target)
    try:
        source.backup(copy)  # a consistent copy, write-ahead log included
    finally:
        copy.close()
        source.close()
    return True


def report_hint(database_url: str, settings) -> str:
    """Where the managers' report of this demo is, and how to open it (never the password itself)."""
    login = ("sign in with LEADRELAY_REPORT_USER / LEADRELAY_REPORT_PASSWORD"
             if settings.report_user and settings.report_password and settings.report_password.get_secret_value()
             else "set LEADRELAY_REPORT_USER and LEADRELAY_REPORT_PASSWORD first: without them it refuses everyone")
    return (f"Report: http://127.0.0.1:8000/report (run `LEADRELAY_DATABASE_URL={database_url} leadrelay web`; "
            f"{login})")


def _rep_answers(session, rng: random.Random, as_of: datetime) -> dict[str, int]:
    """Reps answer most handoffs from their link; some stay silent and the SLA flow steps in."""
    answered = {"accept": 0, "reject": 0}
    waiting = session.scalars(select(Handoff).where(Handoff.status == "open", Handoff.created_at < as_of - timedelta(hours=1)))
    for handoff in list(waiting):
        roll = rng.random()
        if roll < 0.45:
            decision, reason = "accept", None
        elif roll < 0.7:
            decision, reason = "reject", rng.choice(["no-budget", "bad-timing", "not-a-fit", "no-authority"])
        else:
            continue  # no answer: the deadline will pass
        answer_handoff(session, handoff.id, handoff.rep_email, decision, reason, None, as_of,
                       actor=f"rep:{handoff.rep_email} (demo)")
        answered[decision] += 1
    return answered


def _sales_outcomes(session, rng: random.Random, as_of: datetime) -> dict[str, int]:
    """Sales says what became of accepted leads, as a CRM would: after two days most accepted
    leads are qualified (SQL); after three more, deals are won (with an amount) or lost."""
    rows = session.execute(select(Lead.email, Lead.stage).where(
        Lead.stage.in_([Stage.sal.value, Stage.sql.value]), Lead.updated_at <= as_of - timedelta(days=2))
        .order_by(Lead.id)).all()
    requests = []
    for email, stage in rows:
        roll = rng.random()
        if stage == Stage.sal and roll < 0.6:
            requests.append(OutcomeRequest(email, "sql", as_of))
        elif stage == Stage.sql and roll < 0.4:
            requests.append(OutcomeRequest(email, "won", as_of, amount_cents=rng.randrange(5_000, 90_000) * 100))
        elif stage == Stage.sql and roll < 0.7:
            requests.append(OutcomeRequest(email, "lost", as_of, reason=rng.choice(["price", "competitor", "no decision"])))
    done = {"sql": 0, "won": 0, "lost": 0}
    for request, result in zip(requests, record_outcomes(session, requests, as_of, actor="crm (demo)")):
        done[request.outcome] += result.status == "recorded"
    return done


def _recipients_react(session, rng: random.Random, since: datetime, as_of: datetime) -> dict[str, int]:
    """Recipients of today's nurture emails click, unsubscribe or bounce, as SendGrid's webhook
    would report it; the same code path as POST /webhooks/sendgrid applies the events."""
    sent = session.execute(select(OutboxEmail.id, OutboxEmail.to_email).where(
        OutboxEmail.kind == NURTURE, OutboxEmail.created_at >= since, OutboxEmail.created_at <= as_of)).all()
    events, counts = [], {"click": 0, "unsubscribe": 0, "bounce": 0}
    for outbox_id, email in sent:
        roll = rng.random()
        kind = "unsubscribe" if roll < 0.04 else "bounce" if roll < 0.06 else "click" if roll < 0.35 else None
        for n in range(rng.randint(2, 4) if kind == "click" else 1 if kind else 0):
            events.append({"email": email, "event": kind, "timestamp": int(as_of.timestamp()) - 600 * n,
                           "sg_event_id": f"demo-{outbox_id}-{kind}-{n}", "url": "https://example.com/pricing"})
        if kind:
            counts[kind] += 1
    apply_events(session, events, as_of)
    return counts


def _breach_summary(breaches: dict[str, int]) -> str:
    done = [f"{n} {action}" for action, n in breaches.items() if action != "claimed" and n]
    return f"SLA breaches: {', '.join(done)}" if done else "no SLA breaches"


def _activity(session, rng: random.Random, as_of: datetime) -> list[dict]:
    """Some nurtured leads open, click and visit; a few get keen enough to come back to sales."""
    nurtured = list(session.scalars(select(Lead.id).where(Lead.stage == Stage.nurturing).order_by(Lead.id)))
    events = []
    for lead_id in rng.sample(nurtured, k=min(len(nurtured), max(1, len(nurtured) // 15))):
        for _ in range(rng.randint(1, 3)):
            events.append(engagement(lead_id, rng.choice(ACTIVITY), as_of - timedelta(hours=rng.randint(1, 20)), "demo"))
        if rng.random() < 0.08:
            events.append(engagement(lead_id, "demo_request", as_of - timedelta(hours=1), "demo"))
    return events
