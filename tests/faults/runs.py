"""What the fault tests share: seeding many leads fast, `leadrelay run FLOW` in a subprocess that
a test can kill or cut off, and the checks every fault must pass (read from the database and
the loopback SendGrid's log)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from leadrelay.clock import now
from leadrelay.email.backends import SendGridSender
from leadrelay.email.kinds import NURTURE
from leadrelay.email.message import EmailMessage
from leadrelay.email.outbox import LEASE_SECONDS, Queued, enqueue_many, send_due
from leadrelay.intake.normalise import normalise_lead
from leadrelay.models import Handoff, Lead, LeadEvent, NurtureEnrollment, OutboxEmail
from tests.conftest import REPO
from tests.factories import buyer, student
from tests.faults.conftest import Database
from tests.support.fake_sendgrid import FakeSendGrid

AS_OF = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)  # a Tuesday: 11:00 in Berlin, in every window
API_KEY = "SG.fault-suite.key"
LEADRELAY = Path(sys.executable).parent / "leadrelay"
WINDOW = 2 * SendGridSender(API_KEY, "http://127.0.0.1:1").max_in_flight
"""The most messages one killed drainer can have handed to SendGrid and not marked (README)."""


# -- seeding -------------------------------------------------------------------------------------


# Core inserts skip the models' Python defaults: the columns without a database default.
LEAD_DEFAULTS = {"list_kind": "internal", "email_status": "ok", "fit_score": 0, "engagement_score": 0,
                 "score_total": 0, "tier": "cold", "score_breakdown": [], "attributes": {}, "created_at": AS_OF,
                 "updated_at": AS_OF}


def seed_new_leads(engine, count: int, prefix: str = "lead") -> None:
    """`count` leads waiting to be scored, one buyer in three (so MQLs and handoffs too), in one
    executemany."""
    templates = [normalise_lead(buyer(email="x@x.example", country="DE")),
                 normalise_lead(student(email="y@y.example", country="DE")),
                 normalise_lead(student(email="z@z.example", country="FR"))]
    fields = {name for template in templates for name in template.fields}
    rows = []
    for i in range(count):
        template = templates[i % len(templates)]
        rows.append({**LEAD_DEFAULTS, **dict.fromkeys(fields), **template.fields,
                     "email": f"{prefix}{i}@company{i}.example", "attributes": template.attributes, "stage": "new",
                     "needs_scoring": True})
    with Session(engine) as session:
        session.execute(insert(Lead), rows)
        session.commit()


def seed_nurtured_leads(engine, count: int, prefix: str = "nurtured") -> None:
    """`count` leads in Germany in `nurturing`, each with a nurture enrollment due at AS_OF."""
    leads = [{**LEAD_DEFAULTS, "email": f"{prefix}{i}@firm{i}.example", "first_name": "Nina",
              "title": "Head of Operations", "company": "Firm", "country": "DE", "consent": True, "stage": "nurturing",
              "needs_scoring": False, "scored_at": AS_OF, "fit_score": 38, "score_total": 38, "tier": "warm"}
             for i in range(count)]
    with Session(engine) as session:
        session.execute(insert(Lead), leads)
        ids = session.scalars(select(Lead.id).where(Lead.email.like(f"{prefix}%"))).all()
        session.execute(insert(NurtureEnrollment), [
            {"lead_id": lead_id, "reason": "rejected:bad-timing", "entered_at": AS_OF, "next_due_at": AS_OF,
             "status": "active", "step_index": 0} for lead_id in ids])
        session.commit()


def seed_queued_emails(engine, count: int) -> None:
    """`count` nurture-sized messages in the outbox, due at AS_OF."""
    queued = [Queued(EmailMessage(f"fault:{i}", f"reader{i}@example.org", f"Reader {i}", "marketing@example.com",
                                  "Example", f"Step {i}", f"<p>Hello {i}</p>" * 20, f"Hello {i}\n" * 20,
                                  categories=(NURTURE,), custom_args={"kind": NURTURE}), NURTURE, None)
              for i in range(count)]
    with Session(engine) as session:
        enqueue_many(session, queued, AS_OF)
        session.commit()


# -- runs in a subprocess ------------------------------------------------------------------------


@dataclass
class Run:
    """`leadrelay run FLOW` in a process of its own, its database connections named `name`."""

    process: subprocess.Popen
    name: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait(self, timeout: float = 240) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"leadrelay run did not finish in {timeout} s:\n{self.output()}") from None

    def kill(self) -> None:
        """kill -9, and wait for the process to be gone."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


def start_run(flow: str, db: Database, api_url: str, sendgrid: FakeSendGrid, workdir: Path,
              batch_size: int = 200) -> Run:
    """Start `leadrelay run FLOW --as-of AS_OF` on `db`, sending through `sendgrid`, reporting to
    the Prefect server at `api_url`."""
    name = f"fault_{flow}_{uuid.uuid4().hex[:8]}"
    env = {**os.environ,
           "LEADRELAY_DATABASE_URL": db.url_for(name), "LEADRELAY_CONFIG_DIR": str(REPO / "config"),
           "LEADRELAY_EMAIL_BACKEND": "sendgrid", "SENDGRID_API_KEY": API_KEY,
           "LEADRELAY_SENDGRID_HOST": sendgrid.url, "LEADRELAY_SECRET_KEY": "fault-secret",
           "LEADRELAY_BASE_URL": "http://links.test", "LEADRELAY_BATCH_SIZE": str(batch_size),
           "LEADRELAY_SEND_RETRY_BASE_SECONDS": "0.05", "LEADRELAY_SEND_MAX_WAIT_SECONDS": "60",
           "PREFECT_API_URL": api_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(LEADRELAY), "run", flow, "--as-of", AS_OF.isoformat()], env=env,
                                   cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    return Run(process, name, log)


def wait_for(run: Run, condition: Callable[[], bool], what: str, timeout: float = 180) -> None:
    """Poll `condition` every 20 ms until it holds; fail if the run ends or time runs out first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if run.process.poll() is not None:
            raise AssertionError(f"the run ended before {what}:\n{run.output()}")
        if time.monotonic() > deadline:
            run.kill()
            raise AssertionError(f"no {what} within {timeout} s:\n{run.output()}")
        time.sleep(0.02)


@contextmanager
def held_back(db: Database, table: str, names: Callable[[], list[str]], timeout: float = 180):
    """Hold an exclusive lock on `table` while the block starts runs, until every run named by
    `names()` waits for it; then let them all go at once (so concurrent runs really overlap)."""
    with db.engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        yield
        deadline = time.monotonic() + timeout
        # from another connection, a statement at a time: pg_stat_activity stays as it was for
        # the rest of a transaction once read
        while count(db, text("SELECT count(DISTINCT application_name) FROM pg_stat_activity WHERE "
                             f"application_name IN ({', '.join(repr(n) for n in names())}) "
                             "AND wait_event_type = 'Lock'")) < len(names()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the runs never all waited for {table}")
            time.sleep(0.05)
        transaction.commit()


def terminate_connections(db: Database, name: str) -> int:
    """pg_terminate_backend every connection of the run named `name`, from a connection of our own."""
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                       "WHERE application_name = :name"), {"name": name}).scalar_one()


def count(db: Database, statement) -> int:
    with db.engine.connect() as connection:
        return connection.execute(statement).scalar_one()


def scored(db: Database) -> int:
    return count(db, select(func.count()).select_from(Lead).where(Lead.scored_at.is_not(None)))


def sent(db: Database) -> int:
    return count(db, select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status == "sent"))


def queued(db: Database) -> int:
    return count(db, select(func.count()).select_from(OutboxEmail))


def send_after_the_leases(db: Database, sendgrid: FakeSendGrid) -> dict[str, int]:
    """A send run after every lease ran out (its clock moved past them): what a dead run held
    comes back and is sent."""
    sender = SendGridSender(API_KEY, sendgrid.url, timeout=5)
    try:
        return send_due(db.engine, sender, AS_OF, 500, retry_base_seconds=0.05, max_wait_seconds=60,
                        clock=lambda: now() + timedelta(seconds=LEASE_SECONDS + 60))
    finally:
        sender.close()


# -- what must hold after any fault --------------------------------------------------------------


def check_invariants(db: Database, sendgrid: FakeSendGrid, duplicates_allowed: int) -> dict[str, int]:
    """Every lead scored once, at most one handoff per lead (one decision each here), nothing
    stuck (no lead waiting to be scored, no email queued, in flight or failed), every queued email
    accepted by SendGrid, at most `duplicates_allowed` of them twice. Returns what it counted."""
    with Session(db.engine) as session:
        unscored = session.scalar(select(func.count()).select_from(Lead).where(
            (Lead.scored_at.is_(None)) | (Lead.needs_scoring.is_(True))))
        scored_twice = session.execute(select(LeadEvent.lead_id).where(LeadEvent.kind == "scored")
                                       .group_by(LeadEvent.lead_id).having(func.count() > 1)).all()
        handed_twice = session.execute(select(Handoff.lead_id).group_by(Handoff.lead_id)
                                       .having(func.count() > 1)).all()
        statuses = dict(session.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all())
        keys = set(session.scalars(select(OutboxEmail.idempotency_key)))
        steps = Counter((lead_id, detail.get("enrollment"), detail.get("step")) for lead_id, detail in session.execute(
            select(LeadEvent.lead_id, LeadEvent.detail).where(LeadEvent.kind == "nurture_sent")))
        steps_twice = [step for step, n in steps.items() if n > 1]
        handoffs = session.scalar(select(func.count()).select_from(Handoff))
    accepted = Counter(sendgrid.accepted_idempotency_keys())
    assert unscored == 0, f"{unscored} leads were never scored"
    assert scored_twice == [], f"leads scored twice: {scored_twice[:5]}"
    assert handed_twice == [], f"leads handed off twice: {handed_twice[:5]}"
    assert steps_twice == [], f"nurture steps recorded twice: {steps_twice[:5]}"
    assert set(statuses) <= {"sent"}, f"emails not sent: {statuses}"
    assert set(accepted) == keys, "SendGrid's log and the outbox disagree"
    duplicates = sum(n - 1 for n in accepted.values())
    assert duplicates <= duplicates_allowed, f"{duplicates} emails accepted twice (allowed {duplicates_allowed})"
    return {"emails": len(keys), "duplicates": duplicates, "handoffs": handoffs}
