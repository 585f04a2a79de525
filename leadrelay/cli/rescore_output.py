"""How `leadrelay rescore` and `leadrelay simulate` report to a person (plain lines; lead data is
never read as markup). `simulate --json` prints the summary dict itself."""
from __future__ import annotations

from typing import Any

import typer

from leadrelay.scoring.rescore import RunSummary


def rescore_lines(summary: RunSummary) -> list[str]:
    """What a finished `leadrelay rescore` did, in a few sentences."""
    totals = summary.totals
    when = summary.as_of.isoformat().replace("+00:00", "Z")
    lines = []
    if summary.resumed:
        lines.append(f"resumed the unfinished rescore at {when} after lead id {summary.resumed_after} "
                     f"({summary.run_totals['claimed']:,} leads in all, {summary.run_totals['written']:,} changed).")
    lines.append(f"rescored {totals['claimed']:,} leads as of {when}: {totals['written']:,} changed "
                 f"({totals['tier_changed']:,} changed tier), {totals['to_mql']:,} became MQLs, "
                 f"{totals['to_nurturing']:,} went back to nurturing, {totals['kept_by_handoff']:,} below the "
                 "MQL threshold stay MQLs because a rep holds their open handoff.")
    if totals["to_mql"]:
        lines.append("the pipeline hands the new MQLs to reps on its next run (`leadrelay run pipeline`).")
    return lines


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value:,}" for key, value in counts.items()) or "none"


def print_simulation(report: dict[str, Any]) -> None:
    mql, handoffs = report["mql"], report["handoffs"]
    echo = typer.echo
    echo(f"simulated {report['config_dir']} over {report['leads']:,} leads as of {report['as_of']} (nothing written):")
    echo(f"  score changes: {report['score_changed']:,} leads")
    echo(f"  tier moves: {report['tiers']['moved']:,} ({_counts(report['tiers']['moves'])})")
    echo(f"  MQL threshold {mql['threshold']['live']} -> {mql['threshold']['simulated']}: {mql['became']:,} would "
         f"become MQLs, {mql['stopped']:,} would stop being MQLs by score ({mql['kept_by_open_handoff']:,} of them "
         "stay MQLs because a rep holds their open handoff)")
    echo(f"  stage moves: {_counts(report['stage_moves'])}")
    echo(f"  handoffs to reps: {handoffs['total']:,} ({_counts(handoffs['by_rep'])}; unassigned {handoffs['unassigned']:,})")
    if report["biggest_movers"]:
        echo(f"  the {len(report['biggest_movers'])} biggest movers:")
    for mover in report["biggest_movers"]:
        old, new = mover["old"], mover["new"]
        echo(f"    {mover['change']:+d}  {mover['email']} ({mover['stage']}): {old['total']} {old['tier']} -> "
             f"{new['total']} {new['tier']}")
        echo("        old: " + "; ".join(f"{line['points']:+d} {line['rule']}" for line in old["breakdown"]))
        echo("        new: " + "; ".join(f"{line['points']:+d} {line['rule']}" for line in new["breakdown"]))
