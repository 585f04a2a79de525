"""`leadrelay erase`: the command's one function, so app.py only parses arguments."""
from __future__ import annotations

from datetime import datetime

from leadrelay.cli.errors import NotFound, UsageError
from leadrelay.db import unit_of_work
from leadrelay.email.backends import outbox_filename
from leadrelay.privacy.erase import ErasureRefused, NothingToErase, erase_person
from leadrelay.wiring import Services

ACTOR = "cli:erase"


def erase_from_command_line(services: Services, email: str, as_of: datetime) -> str:
    """Erase `email` in one transaction and say what was done, without repeating the address.
    With the outbox backend, the .eml copies of the emptied emails are deleted too (after the commit).

    UsageError (exit 2) for something that is not an address; NotFound (exit 1) when nothing holds it.
    """
    try:
        with unit_of_work(services.engine) as session:
            done = erase_person(session, email, as_of, ACTOR)
    except ErasureRefused as exc:
        raise UsageError(str(exc)) from None
    except NothingToErase as exc:
        raise NotFound(str(exc)) from None
    copies = 0
    if services.settings.email_backend == "outbox":
        for key in done.email_keys:
            path = services.settings.outbox_dir / outbox_filename(key)
            if path.exists():
                path.unlink()
                copies += 1
    removed = (f"{done.quarantined} quarantined inputs, {done.form_submissions} form submissions, "
               f"{done.suppressions} suppressions and {done.soft_bounces} soft bounces deleted; "
               f"{done.outbox_emails} emails emptied ({copies} .eml copies deleted)")
    if done.lead_id is None:
        return f"erased: no lead had that address; {removed}."
    return (f"erased: lead {done.lead_id} is now the anonymised tombstone {done.placeholder} "
            f"(stage, source, dates and scores kept); {removed}; {done.history_events} history details cleaned.")
