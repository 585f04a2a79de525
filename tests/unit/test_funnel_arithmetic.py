"""The arithmetic behind the funnel's closing breakdowns: which ranks a median averages, the
median itself, conversion from contacts, and week over week."""
from __future__ import annotations

import random
import statistics
from datetime import datetime, timezone

import pytest

from leadrelay.reporting.breakdowns import conversion_overall, is_middle_rank, median_of_middles, sla_bucket, week_over_week


@pytest.mark.parametrize("count, middles", [(1, [1]), (2, [1, 2]), (3, [2]), (4, [2, 3]), (5, [3]), (10, [5, 6])])
def test_the_median_averages_the_one_or_two_middle_ranks(count, middles):
    assert [rank for rank in range(1, count + 1) if is_middle_rank(rank, count)] == middles


def test_middle_ranks_give_the_same_median_as_the_statistics_module():
    rng = random.Random(7)
    for count in range(1, 60):
        values = sorted(round(rng.uniform(0, 30), 2) for _ in range(count))
        middles = [v for rank, v in enumerate(values, start=1) if is_middle_rank(rank, count)]
        assert median_of_middles(middles) == round(statistics.median(values), 2)


def test_no_finished_stay_has_no_median():
    assert median_of_middles([]) is None


def test_conversion_from_contacts_to_every_later_stage():
    stages = {"contacts": 200, "leads": 150, "mql": 40, "sal": 20, "sql": 10, "won": 3}
    assert conversion_overall(stages) == {"contacts->leads": 0.75, "contacts->mql": 0.2, "contacts->sal": 0.1,
                                          "contacts->sql": 0.05, "contacts->won": 0.015}
    assert conversion_overall(dict.fromkeys(stages, 0))["contacts->won"] is None


def test_week_over_week_compares_the_last_two_whole_weeks_before_as_of():
    weeks = [{"week": "2026-11-02", "contacts": 99, "won": 9},
             {"week": "2026-11-09", "contacts": 40, "won": 0},
             {"week": "2026-11-16", "contacts": 50, "won": 2},
             {"week": "2026-11-23", "contacts": 1, "won": 0}]  # under way on Wednesday the 25th
    change = week_over_week(weeks, ["contacts", "won"], datetime(2026, 11, 25, 12, tzinfo=timezone.utc))
    assert (change["week"], change["previous_week"]) == ("2026-11-16", "2026-11-09")
    assert change["stages"]["contacts"] == {"count": 50, "previous": 40, "change": 10, "change_pct": 0.25}
    assert change["stages"]["won"] == {"count": 2, "previous": 0, "change": 2, "change_pct": None}


def test_a_week_starts_on_monday_at_midnight_utc():
    weeks = [{"week": "2026-11-16", "contacts": 50}, {"week": "2026-11-23", "contacts": 7}]
    sunday_night = week_over_week(weeks, ["contacts"], datetime(2026, 11, 29, 23, 59, tzinfo=timezone.utc))
    monday = week_over_week(weeks, ["contacts"], datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc))
    assert sunday_night["week"] == "2026-11-16" and monday["week"] == "2026-11-23"
    assert monday["stages"]["contacts"] == {"count": 7, "previous": 50, "change": -43, "change_pct": -0.86}


def test_weeks_without_rows_count_zero():
    quiet = week_over_week([{"week": "2026-09-07", "contacts": 5}], ["contacts"],
                           datetime(2026, 11, 25, tzinfo=timezone.utc))
    assert quiet == {"week": "2026-11-16", "previous_week": "2026-11-09",
                     "stages": {"contacts": {"count": 0, "previous": 0, "change": 0, "change_pct": None}}}


@pytest.mark.parametrize("status, breached, bucket", [
    ("accepted", False, "met"), ("rejected", True, "breached"), ("open", False, "open"),
    ("reassigned", True, "breached"), ("withdrawn", False, None), ("withdrawn", True, None)])
def test_sla_buckets_match_the_funnel_s_sla_counts(status, breached, bucket):
    assert sla_bucket(status, breached) == bucket
