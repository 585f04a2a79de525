"""The one format of a batch's log line: counts in order, at most twenty ids, nothing but ids."""
from __future__ import annotations

import pytest

from leadrelay.email.outbox import without_recipient
from leadrelay.tasks.run_log import batch_line


def test_counts_read_as_words_and_ids_are_capped_at_twenty_with_how_many_more():
    line = batch_line("hand-off batch", {"claimed": 500, "handed_off": 480, "no_rep": 20}, list(range(1, 481)))
    listed = ", ".join(str(n) for n in range(1, 21))
    assert line == f"hand-off batch: claimed 500, handed off 480, no rep 20; leads {listed}, … (+460 more)"


def test_a_short_batch_lists_every_id_and_an_empty_one_none():
    assert batch_line("intake batch", {"claimed": 2}, [4, 5], ids_name="inbound rows") == \
        "intake batch: claimed 2; inbound rows 4, 5"
    assert batch_line("sla batch", {"claimed": 0}) == "sla batch: claimed 0"


def test_an_email_address_can_never_be_listed_as_an_id():
    with pytest.raises(ValueError):
        batch_line("nurture batch", {"claimed": 1}, ["carla@acme.example"])


def test_a_send_error_loses_the_recipient_s_address_and_name_in_any_letter_case():
    error = "550 <Carla@Acme.example> (Carla Boss) rejected: carla@acme.example unknown"
    assert without_recipient(error, "carla@acme.example", "Carla Boss") == \
        "550 <<recipient>> (<recipient>) rejected: <recipient> unknown"
