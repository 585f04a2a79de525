"""The `leadrelay` command: each command parses its arguments and calls a flow or a function."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from leadrelay.cli import output as cli_output
from leadrelay.cli.errors import NotFound, UsageError, plain_errors
from leadrelay.clock import parse_as_of

app = typer.Typer(help="leadrelay: lead nurture and marketing-to-sales handoff on Prefect.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
lead_app = typer.Typer(help="Look at one lead.", no_args_is_help=True)
app.add_typer(lead_app, name="lead")

AsOf = typer.Option(None, "--as-of", help="ISO 8601 time the run acts at (default: now).")


def _as_of(value: str | None):
    try:
        return parse_as_of(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _services():
    from leadrelay.wiring import services

    return services()


def _ready_services():
    """Settings, rules and a database that `leadrelay init` has set up."""
    from leadrelay.db import require_schema
    from leadrelay.wiring import services

    found = services()
    require_schema(found.engine)
    return found


@app.command()
@plain_errors
def init() -> None:
    """Create or upgrade the database schema and check the config files."""
    from leadrelay.db import upgrade_schema
    from leadrelay.wiring import services

    found = services()  # loads and validates every rule file
    upgrade_schema(found.engine)
    typer.echo(f"database ready; config in {found.settings.rules_dir()} is valid.")


@app.command("import")
@plain_errors
def import_(
    file: Path = typer.Argument(..., help="CSV file with an 'email' column."),
    source: Optional[str] = typer.Option(None, "--source", help="Source for rows without one (default: file name)."),
    list_kind: str = typer.Option("internal", "--list", help="internal or external list."),
    activity: bool = typer.Option(False, "--activity", help="The file is web activity (email,kind,occurred_at[,source,id]), not leads."),
    outcomes: bool = typer.Option(False, "--outcomes", help="The file is sales outcomes (email,outcome,occurred_at[,amount,reason,external_id]), as a CRM exports them."),
) -> None:
    """Load leads (or web activity, or sales outcomes) from a CSV file; bad rows go to quarantine."""
    from leadrelay.intake.importer import import_csv

    if list_kind not in ("internal", "external"):
        raise UsageError(f"--list must be internal or external, not '{list_kind}'.")
    if activity and outcomes:
        raise UsageError("--activity and --outcomes cannot be used together; a file is one or the other.")
    found = _ready_services()
    if outcomes:
        _import_outcomes(file, found.engine)
        return
    if activity:
        from leadrelay.engagement.activity_import import import_activity

        counts = import_activity(file, found.engine, _as_of(None))
        typer.echo(f"{counts.recorded} activities recorded, {counts.duplicates} duplicates skipped, "
                   f"{counts.quarantined} quarantined; `leadrelay run engagement` applies them.")
        return
    with cli_output.progress(f"importing {file.name}") as advance:
        counts = import_csv(file, _as_of(None), source, list_kind, found.engine, on_progress=advance)
    typer.echo(f"{counts.created} created, {counts.merged} merged into existing leads, {counts.quarantined} quarantined.")


@app.command()
@plain_errors
def run(flow: str = typer.Argument(..., help="pipeline, send, nurture, sla, engagement, report or rescore"), as_of: Optional[str] = AsOf) -> None:
    """Run one flow once."""
    from leadrelay.flows import registry

    if flow not in registry.FLOWS:
        raise UsageError(f"unknown flow '{flow}'; choose one of {', '.join(registry.FLOWS)}.")
    from leadrelay.orchestration.server import prefect_api

    moment = _as_of(as_of)
    _ready_services()
    with prefect_api():
        # Deployments retry a failed run; at the command line the user sees the failure at once.
        result = registry.FLOWS[flow].with_options(retries=0)(as_of=moment)
    typer.echo(json.dumps(result, indent=2, default=str))


@lead_app.command("show")
@plain_errors
def lead_show(email: str, as_json: bool = typer.Option(False, "--json", help="Stable JSON output.")) -> None:
    """The lead, its score and breakdown, owner, handoff and full history."""
    from leadrelay.db import unit_of_work
    from leadrelay.lead_view import find_lead, lead_profile

    found = _ready_services()
    with unit_of_work(found.engine) as session:
        lead = find_lead(session, email)
        if lead is None:
            raise NotFound("no lead has that email address.")
        profile = lead_profile(session, lead)
    cli_output.emit(profile, as_json, cli_output.print_lead)


@app.command()
@plain_errors
def funnel(
    as_json: bool = typer.Option(False, "--json", help="Stable JSON output."),
    since: Optional[str] = typer.Option(None, "--since", help="Only leads created at or after this date."),
    until: Optional[str] = typer.Option(None, "--until", help="Only leads created before this date."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Week over week compares the last two whole weeks before this time (default: now)."),
) -> None:
    """Counts per stage, conversion, SLA met/breached, by source."""
    from leadrelay.db import unit_of_work
    from leadrelay.reporting.funnel import funnel_report

    found = _ready_services()
    with unit_of_work(found.engine) as session:
        report = funnel_report(session, _as_of(since) if since else None, _as_of(until) if until else None,
                               _as_of(as_of))
    cli_output.emit(report, as_json, cli_output.print_funnel)


@app.command()
@plain_errors
def quarantine(as_json: bool = typer.Option(False, "--json", help="Stable JSON output.")) -> None:
    """Inputs that were not accepted, with their raw content, source and reason."""
    from leadrelay.db import unit_of_work
    from leadrelay.intake.quarantine import quarantine_entries

    found = _ready_services()
    with unit_of_work(found.engine) as session:
        entries = quarantine_entries(session)
    cli_output.emit(entries, as_json, cli_output.print_quarantine)


@app.command()
@plain_errors
def feedback(
    decision: str = typer.Argument(..., help="accept or reject"),
    email: str = typer.Argument(..., help="The lead's email."),
    rep: str = typer.Option(..., "--rep", help="The rep answering (the one the lead was handed to)."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why, for reject: " + ", ".join(
        ["no-budget", "no-authority", "no-need", "bad-timing", "not-a-fit", "duplicate", "other"]) + "."),
    note: Optional[str] = typer.Option(None, "--note", help="A few words for the record (needed with --reason other)."),
    as_of: Optional[str] = AsOf,
) -> None:
    """A rep's answer to a handoff, as from the signed link."""
    from leadrelay.db import unit_of_work
    from leadrelay.handoff.answers import FeedbackError, InvalidAnswer, answer_from_command_line

    if decision not in ("accept", "reject"):
        raise UsageError(f"the answer must be accept or reject, not '{decision}'.")
    found = _ready_services()
    moment = _as_of(as_of)
    try:
        with unit_of_work(found.engine) as session:
            outcome = answer_from_command_line(session, email, rep, decision, reason, moment, note=note)
    except InvalidAnswer as exc:
        raise UsageError(str(exc)) from None
    except FeedbackError as exc:
        raise NotFound(str(exc)) from None
    typer.echo(f"{outcome.lead_email} is now {outcome.stage}. {outcome.message}")


@app.command()
@plain_errors
def preview(
    template: str = typer.Argument(..., help="A nurture template name, e.g. nurture_timing_guide."),
    lead: Optional[str] = typer.Option(None, "--lead", help="Render for this lead (default: a sample lead)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write HTML here (and the text beside it, .txt)."),
) -> None:
    """Render an email template to HTML and text."""
    from leadrelay.db import unit_of_work
    from leadrelay.lead_view import find_lead, lead_profile
    from leadrelay.nurture.email import preview_template
    from leadrelay.email.rendering import TEMPLATES_DIR
    from leadrelay.wiring import sender_identity

    if not (TEMPLATES_DIR / f"{template}.html").exists() or not template.startswith("nurture_"):
        names = sorted(p.stem for p in TEMPLATES_DIR.glob("nurture_*.html") if p.stem != "nurture_layout")
        raise UsageError(f"no nurture template '{template}'; choose one of {', '.join(names)}.")
    found = _ready_services() if lead else None
    profile = None
    if lead:
        with unit_of_work(found.engine) as session:
            record = find_lead(session, lead)
            if record is None:
                raise NotFound("no lead has that email address.")
            profile = lead_profile(session, record)
    settings = (found or _services()).settings
    html, text = preview_template(template, profile, sender_identity(settings), settings.base_url)
    if out:
        out.write_text(html, encoding="utf-8")
        out.with_suffix(".txt").write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out} and {out.with_suffix('.txt')}")
    else:
        typer.echo(text)


@app.command()
@plain_errors
def web(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port")) -> None:
    """The web app: signed rep links, unsubscribe, SendGrid and CRM webhooks, form intake, /report."""
    from leadrelay.web.sendgrid_view import startup_problem, startup_warnings
    from leadrelay.web.server import serve as serve_web

    found = _ready_services()
    if problem := startup_problem(found.settings):
        raise UsageError(problem)
    for warning in startup_warnings(found.settings):
        typer.secho(warning, fg=typer.colors.YELLOW, err=True)
    serve_web(host, port)


@app.command()
@plain_errors
def serve(port: int = typer.Option(4200, "--port", help="Port of the Prefect server started when PREFECT_API_URL is not set.")) -> None:
    """Serve every deployment in prefect.yaml with its schedule and triggers; stop with Ctrl-C."""
    from leadrelay.flows.deployments import serve_all
    from leadrelay.orchestration.server import prefect_api

    _ready_services()
    with prefect_api(with_services=True, port=port) as url:
        typer.echo(f"Prefect API at {url}; the UI is at {url.removesuffix('/api')}")
        serve_all()


@app.command()
@plain_errors
def automations(block: str = typer.Option(..., "--block", help="The notification block, as TYPE/NAME (`prefect block ls`).")) -> None:
    """Create the automations (SLA breach, failed or crashed run) on the server PREFECT_API_URL names."""
    from leadrelay.orchestration.automations import install_automations
    from leadrelay.orchestration.server import configured_api_url

    if not configured_api_url():
        raise UsageError("automations live on a Prefect server: set PREFECT_API_URL to it first.")
    for name in install_automations(block):
        typer.echo(f"automation ready: {name} (notifies {block})")


@app.command()
@plain_errors
def demo(
    directory: Path = typer.Option(Path("demo"), "--dir", help="Where the demo database and outbox go (recreated)."),
    leads: int = typer.Option(300, "--leads", min=10, help="How many sample leads to seed."),
    seed: int = typer.Option(7, "--seed", help="Random seed, for a repeatable demo."),
) -> None:
    """Seed sample leads and run weeks of the lifecycle with as_of advancing; print the funnel."""
    import importlib.util

    if importlib.util.find_spec("faker") is None:
        raise UsageError("the demo needs its sample-data package: pip install 'leadrelay[demo]' (make demo does).")
    from leadrelay.demo.run import run_demo
    from leadrelay.orchestration.server import prefect_api

    with prefect_api():
        run_demo(directory, leads, seed, cli_output.console())


handoff_app = typer.Typer(help="Handoffs of leads to reps.", no_args_is_help=True)
app.add_typer(handoff_app, name="handoff")


@handoff_app.command("reassign")
@plain_errors
def handoff_reassign(
    email: str = typer.Argument(..., help="The lead's email."),
    to: str = typer.Option(..., "--to", help="The rep (in reps.yaml) who gets the lead."),
    as_of: Optional[str] = AsOf,
) -> None:
    """A manager moves a lead's open handoff to another rep; both reps are emailed."""
    from leadrelay.handoff.reassign import ReassignError, UnknownRep, reassign_from_command_line

    found = _ready_services()
    try:
        opened = reassign_from_command_line(found, email, to, _as_of(as_of))
    except UnknownRep as exc:
        raise UsageError(str(exc)) from None
    except ReassignError as exc:
        raise NotFound(str(exc)) from None
    typer.echo(f"reassigned to {opened.rep_email}, due {opened.due_at.isoformat()}; both reps are emailed "
               "when the outbox is sent.")


def _import_outcomes(file: Path, engine) -> None:
    from leadrelay.outcomes.csv_import import import_outcomes

    counts = import_outcomes(file, engine, _as_of(None))
    typer.echo(f"{counts.recorded} outcomes recorded, {counts.duplicates} duplicates skipped, "
               f"{counts.quarantined} quarantined (see `leadrelay quarantine`).")


@app.command()
@plain_errors
def rescore(as_of: Optional[str] = AsOf) -> None:
    """Apply the current config (and decay) to every lead, in batches; after a crash, run it again
    and it resumes after the last finished batch."""
    from leadrelay.cli.rescore_output import rescore_lines
    from leadrelay.clock import now
    from leadrelay.scoring.rescore import rescore_all

    moment = _as_of(as_of) if as_of else None
    found = _ready_services()
    with cli_output.progress("rescoring") as advance:
        summary = rescore_all(found.engine, found.rules.scoring, "full", moment, now(), found.settings.batch_size,
                              "cli:rescore", on_progress=advance)
    for line in rescore_lines(summary):
        typer.echo(line)


@app.command()
@plain_errors
def outcome(
    name: str = typer.Argument(..., metavar="OUTCOME", help="sql, won, lost or disqualified"),
    email: str = typer.Argument(..., help="The lead's email."),
    amount: Optional[str] = typer.Option(None, "--amount", help="The deal's amount, e.g. 12500 or 12500.00."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (lost: e.g. price; disqualified: bad-timing, no-budget and no-authority recycle to nurture)."),
    rep: Optional[str] = typer.Option(None, "--rep", help="The rep who says so (recorded as the actor)."),
    as_of: Optional[str] = AsOf,
) -> None:
    """What became of a lead, from sales: sql, won, lost or disqualified."""
    from leadrelay.outcomes.commands import OutcomeUsageError, parse_arguments, record_from_command_line
    from leadrelay.outcomes.rules import OutcomeError

    try:
        parse_arguments(name, amount, reason)  # a wrong argument is exit 2 before the database is opened
        found = _ready_services()
        result = record_from_command_line(found.engine, name, email, amount, reason, rep, _as_of(as_of))
    except OutcomeUsageError as exc:
        raise UsageError(str(exc)) from None
    except OutcomeError as exc:
        raise NotFound(str(exc)) from None
    typer.echo(f"{email.strip().lower()}: {name.strip().lower()} recorded; {result.message}")


@app.command()
@plain_errors
def simulate(
    config: Path = typer.Option(..., "--config", help="A config directory to try (scoring.yaml, reps.yaml, ...)."),
    as_of: Optional[str] = AsOf,
    as_json: bool = typer.Option(False, "--json", help="Stable JSON output."),
) -> None:
    """What another config would change on today's leads (tiers, MQLs, reps, biggest movers); writes nothing."""
    from leadrelay.cli.rescore_output import print_simulation
    from leadrelay.scoring.simulate import load_other_config, simulate as run_simulation

    moment = _as_of(as_of)
    other = load_other_config(config)
    found = _ready_services()
    report = run_simulation(found.engine, found.rules, other, moment, found.settings.batch_size, str(config))
    cli_output.emit(report, as_json, print_simulation)


@app.command()
@plain_errors
def erase(email: str = typer.Argument(..., help="The person's email address."), as_of: Optional[str] = AsOf) -> None:
    """Delete a person's data; keep an anonymised tombstone so the funnel counts stay right."""
    from leadrelay.privacy.cli import erase_from_command_line

    typer.echo(erase_from_command_line(_ready_services(), email, _as_of(as_of)))


outbox_app = typer.Typer(help="The outbox of emails: send again what failed.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("retry")
@plain_errors
def outbox_retry(
    since: Optional[str] = typer.Option(None, "--since", help="Only emails that failed at or after this time (ISO 8601)."),
) -> None:
    """Queue every email marked failed again (attempts reset); the next send run sends them."""
    from leadrelay.clock import now
    from leadrelay.email.outbox_retry import retry_failed

    found = _ready_services()
    outcome = retry_failed(found.engine, now(), _as_of(since) if since else None)
    typer.echo(cli_output.retry_summary(outcome.queued, outcome.kept_suppressed))


def main() -> None:
    # Prefect's telemetry heartbeat fights our runs for its SQLite file and adds nothing here.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    app()


if __name__ == "__main__":
    main()
