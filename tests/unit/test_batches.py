"""Adding up what a flow's passes did."""
from leadrelay.flows.batches import add_pass


def test_a_second_pass_adds_its_counts_step_by_step_and_keeps_the_newest_pending_figure():
    totals = {"intake": {"claimed": 2, "created": 2}, "email": {"sent": 2, "failed": 0, "still_pending": 3}}
    add_pass(totals, {"intake": {"claimed": 1, "created": 0, "merged": 1},
                      "email": {"sent": 1, "failed": 0, "still_pending": 0}})
    assert totals == {"intake": {"claimed": 3, "created": 2, "merged": 1},
                      "email": {"sent": 3, "failed": 0, "still_pending": 0}}


def test_until_drained_hands_each_batch_the_last_id_of_the_one_before_and_leaves_it_out_of_the_counts():
    from leadrelay.flows.batches import until_drained

    rows = list(range(1, 8))
    calls = []

    def batch(size, after=None):
        calls.append(after)
        taken = [r for r in rows if after is None or r > after][:size]
        return {"claimed": len(taken), "after": max(taken, default=after)}

    assert until_drained(batch, 3) == {"claimed": 7}
    assert calls == [None, 3, 6, 7]


def test_until_drained_works_with_a_task_that_keeps_no_cursor():
    from leadrelay.flows.batches import until_drained

    left = [3, 2]
    assert until_drained(lambda: {"claimed": left.pop(0) if left else 0}) == {"claimed": 5}
