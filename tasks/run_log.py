"""What a batch did, in one line of the Prefect run's log: counts and ids, never personal data.

    hand-off batch: claimed 500, handed off 480, no rep 20; leads 12, 17, 31, … (+477 more)

Ids are the only thing a line names (a lead, an inbound row), so a rep or an admin can look the
lead up; email addresses, names and anything else a lead told us stay out of the log.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

# How many ids a line lists before it says how many more there were.
LISTED_IDS = 20


def batch_line(step: str, counts: Mapping[str, int], ids: Sequence[int] = (), ids_name: str = "leads") -> str:
    """`step: name value, …; ids_name id, id, … (+N more)`, counts in the order given (an underscore
    in a name reads as a space), at most LISTED_IDS ids. Raises ValueError/TypeError for an id that
    is not an integer, so nothing but ids can ever reach the line."""
    line = f"{step}: " + ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in counts.items())
    if ids:
        listed = ", ".join(str(int(i)) for i in ids[:LISTED_IDS])
        more = len(ids) - LISTED_IDS
        line += f"; {ids_name} {listed}" + (f", … (+{more} more)" if more > 0 else "")
    return line


def log_batch(step: str, counts: Mapping[str, int], ids: Sequence[int] = (), ids_name: str = "leads") -> None:
    """Write `batch_line` to the run's log: INFO when the batch did something, DEBUG (not shown by
    default) for the empty batch that ends every drain loop."""
    level = logging.INFO if any(counts.values()) else logging.DEBUG
    run_logger().log(level, "%s", batch_line(step, counts, ids, ids_name))


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """The Prefect run logger (its lines reach the UI), or a plain logger outside a run."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("leadrelay.run")
