"""How the CLI shows things to a person (Rich) or a script (--json).

Lead data is wrapped in `Text`, never parsed as Rich markup, so `[bold]` in a name stays literal.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from leadrelay.cli.funnel_output import print_breakdowns
from leadrelay.lead_view import display_name

_console = Console()


def console() -> Console:
    return _console


def lit(value: Any) -> Text:
    return Text("" if value is None else str(value))


def emit(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        human(data)


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar; yields `advance(done, total)`."""
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
        bar.update(task, completed=bar.tasks[0].total or 0)


def print_lead(profile: dict[str, Any]) -> None:
    name = display_name(profile)
    score = profile["score"]
    _console.print(Text.assemble((name, "bold"), " <", profile["email"], ">"))
    facts = Table.grid(padding=(0, 2))
    for label in ("title", "company", "company_domain", "industry", "company_size", "country", "budget_usd",
                  "timeframe_months", "need", "consent", "source", "stage", "email_status", "owner"):
        facts.add_row(Text(label, style="dim"), lit(profile.get(label)))
    for key, value in profile["attributes"].items():
        facts.add_row(Text(key, style="dim"), lit(value))
    _console.print(facts)
    _console.print(Text(f"score {score['total']} ({score['tier']}): fit {score['fit']}, engagement {score['engagement']}", style="bold"))
    for line in score["breakdown"]:
        _console.print(Text(f"  {line['points']:+4d}  {line['rule']}"))
    handoff = profile["handoff"]
    if handoff:
        _console.print(Text(f"handoff: {handoff['rep']}, {handoff['status']}, due {handoff['due_at']}"))
    if profile.get("buying_team"):
        _console.print(Text("buying team:", style="bold"))
        for person in profile["buying_team"]:
            _console.print(lit(f"  {person['name'] or person['email']} ({person['title'] or '-'}), {person['stage']}"))
    table = Table(title="history", title_justify="left")
    for column in ("at", "kind", "actor", "detail"):
        table.add_column(column)
    for event in profile["history"]:
        table.add_row(lit(event["at"]), lit(event["kind"]), lit(event["actor"]),
                      lit(json.dumps(event["detail"], ensure_ascii=False)))
    _console.print(table)


def print_funnel(report: dict[str, Any]) -> None:
    table = Table(title="funnel", title_justify="left")
    table.add_column("stage")
    table.add_column("reached", justify="right")
    table.add_column("conversion", justify="right")
    table.add_column("from contacts", justify="right")
    overall = report.get("conversion_overall", {})
    previous = None
    for stage, count in report["stages"].items():
        rate = report["conversion"].get(f"{previous}->{stage}") if previous else None
        table.add_row(stage, str(count), _percent(rate), _percent(overall.get(f"contacts->{stage}")))
        previous = stage
    _console.print(table)
    sla = report["sla"]
    _console.print(f"SLA: {sla['met']} met, {sla['breached']} breached, {sla['open']} open")
    if report.get("won_amount"):
        _console.print(f"won amount: {report['won_amount']:,.2f}")
    email = report.get("email")
    if email:
        hint = " (leadrelay outbox retry sends them again)" if email["failed"] else ""
        _console.print(f"email: {email['queued']} queued, {email['sending']} sending, {email['sent']} sent, "
                       f"{email['failed']} failed{hint}")
    by_source = Table(title="by source", title_justify="left")
    by_source.add_column("source")
    for stage in report["stages"]:
        by_source.add_column(stage, justify="right")
    for source, data in report["by_source"].items():
        by_source.add_row(lit(source), *[str(n) for n in data["stages"].values()])
    _console.print(by_source)
    print_breakdowns(_console, report)


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.1%}" if 0 < rate < 0.1 else f"{rate:.0%}"


def retry_summary(queued: int, kept_suppressed: int) -> str:
    """What `leadrelay outbox retry` did, in one sentence."""
    text = f"{queued} failed email{'' if queued == 1 else 's'} queued again"
    text += "; the next send run sends them" if queued else ""
    if kept_suppressed:
        text += (f"; {kept_suppressed} left failed: marketing email to an address that has unsubscribed,"
                 " bounced or complained since")
    return text + "."


def print_quarantine(entries: list[dict[str, Any]]) -> None:
    if not entries:
        _console.print("quarantine is empty.")
        return
    table = Table(title=f"quarantine ({len(entries)})", title_justify="left")
    for column in ("id", "at", "source", "reason", "raw"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        raw = entry["raw"] if len(entry["raw"]) <= 200 else entry["raw"][:200] + f"… ({len(entry['raw'])} characters)"
        table.add_row(lit(entry["id"]), lit(entry["at"]), lit(entry["source"]), lit(entry["reason"]), lit(raw))
    _console.print(table)
