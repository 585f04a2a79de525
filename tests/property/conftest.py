"""Hypothesis settings for the property tests.

The default profile, `ci`, is derandomized: every run tries the same examples, so a red build is
reproducible and never flaky. `LEADRELAY_HYPOTHESIS_PROFILE=explore` draws fresh random examples,
five times as many, for hunting bugs by hand.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Examples hold generated CSV files and walk calendars; timing each one would only add noise.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None, max_examples=500,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("LEADRELAY_HYPOTHESIS_PROFILE", "ci"))
