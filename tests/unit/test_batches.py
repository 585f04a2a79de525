"""Adding up what a flow's passes did."""
from leadrelay.flows.batches import add_pass


def test_a_second_pass_adds_its_counts_step_by_step_and_keeps_the_newest_pending_figure():
    totals = {"intake": {"claimed": 2, "created": 2}, "email": {"sent": 2, "failed": 0, "still_pending": 3}}
    add_pass(totals, {"intake": {"claimed": 1, "created": 0, "merged": 1},
                      "email": {"sent": 1, "failed": 0, "still_pending": 0}})
    assert totals == {"intake": {"claimed": 3, "created": 2, "merged": 1},
                      "email": {"sent": 3, "failed": 0, "still_pending": 0}}
