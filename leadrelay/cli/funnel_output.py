"""The managers' breakdowns under `leadrelay funnel` (human output): by rep, SLA by rep and tier,
by nurture track, rejection reasons, median time in stage, and the last weeks with week over week.
Names from data (reps, tracks, reasons) are `Text`, never Rich markup."""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

WEEKS_SHOWN = 8  # `--json` has every week; the terminal gets the recent ones


def print_breakdowns(console: Console, report: dict[str, Any]) -> None:
    """Print whichever breakdowns the report has; a section with no data is one short line."""
    _by_rep(console, report.get("by_rep", {}))
    _sla_by_rep_and_tier(console, report.get("sla_by_rep_and_tier", {}))
    _by_track(console, report.get("by_track", {}))
    if "rejections" in report:
        reasons = ", ".join(f"{code} {n}" for code, n in report["rejections"].items()) or "none"
        console.print(Text(f"rejection reasons: {reasons}"))
    if "median_days_in_stage" in report:
        medians = ", ".join(f"{stage} {days:g}" for stage, days in report["median_days_in_stage"].items()
                            if days is not None) or "no stage left yet"
        console.print(Text(f"median days in stage (before leaving it): {medians}"))
    _weekly(console, report.get("weekly", []), report.get("week_over_week"))


def _by_rep(console: Console, reps: dict[str, dict[str, int]]) -> None:
    if not reps:
        return
    columns = ("handoffs", "accepted", "rejected", "open", "passed_on", "sla_met", "sla_breached")
    table = _table("by rep", "rep", ["handoffs", "acc.", "rej.", "open", "passed", "in SLA", "late"])
    for rep, row in reps.items():
        table.add_row(Text(rep), *[str(row[c]) for c in columns])
    console.print(table)


def _sla_by_rep_and_tier(console: Console, reps: dict[str, dict[str, dict[str, int]]]) -> None:
    if not reps:
        return
    tiers = list(dict.fromkeys(tier for by_tier in reps.values() for tier in by_tier))
    table = _table("SLA by rep and tier (met/breached/open)", "rep", tiers)
    for rep, by_tier in reps.items():
        table.add_row(Text(rep), *[_sla_cell(by_tier.get(tier)) for tier in tiers])
    console.print(table)


def _sla_cell(counts: dict[str, int] | None) -> str:
    if not counts or not any(counts.values()):
        return "-"
    return f"{counts['met']}/{counts['breached']}/{counts['open']}"


def _by_track(console: Console, tracks: dict[str, dict[str, int]]) -> None:
    if not tracks:
        return
    columns = ("entered", "active", "finished", "exited")
    table = _table("by nurture track", "track", columns)
    for track, row in tracks.items():
        table.add_row(Text(track), *[str(row[c]) for c in columns])
    console.print(table)


def _weekly(console: Console, weeks: list[dict[str, Any]], change: dict[str, Any] | None) -> None:
    if not weeks:
        return
    series = [key for key in weeks[-1] if key != "week"]
    shown = weeks[-WEEKS_SHOWN:]
    title = "weekly (week of Monday, UTC)" + (f", last {len(shown)} of {len(weeks)}" if len(weeks) > len(shown) else "")
    table = _table(title, "week of", series)
    for week in shown:
        table.add_row(week["week"], *[str(week.get(name, 0)) for name in series])
    console.print(table)
    if change:
        parts = [f"{name} {row['count']} ({row['change']:+d}{_pct(row['change_pct'])})"
                 for name, row in change["stages"].items()]
        console.print(Text(f"week over week ({change['week']} vs {change['previous_week']}): " + ", ".join(parts)))


def _pct(rate: float | None) -> str:
    return "" if rate is None else f", {rate:+.0%}"


def _table(title: str, first: str, columns) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    table.add_column(first, overflow="fold")
    for column in columns:
        table.add_column(column, justify="right")
    return table
