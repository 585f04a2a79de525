"""The soft-bounce decision: N temporary failures within a window suppress, fewer or older do not."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from leadrelay.nurture.sequences import SoftBounces
from leadrelay.nurture.soft_bounces import soft_bounces_in_window, suppresses

T = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
POLICY = SoftBounces(suppress_after=3, within_days=30)


def days_before(*days: float) -> list[datetime]:
    return [T - timedelta(days=d) for d in days]


@pytest.mark.parametrize("times, expected", [
    (days_before(0), False),
    (days_before(0, 1), False),
    (days_before(0, 1, 2), True),
    (days_before(0, 10, 29.9), True),
    (days_before(0, 10, 30), False),  # exactly 30 days back is outside the window (start, latest]
    (days_before(0, 10, 45, 60), False),  # old failures age out
    (days_before(0, 0, 0), True),  # three messages failing the same day count three times
])
def test_three_within_thirty_days_suppress(times, expected):
    assert suppresses(times, T, POLICY) is expected


def test_failures_after_the_latest_one_do_not_count():
    assert soft_bounces_in_window(days_before(0, 1) + [T + timedelta(days=1)], T, POLICY) == 2


def test_the_policy_is_read_from_config_with_defaults_and_limits():
    assert (SoftBounces().suppress_after, SoftBounces().within_days) == (3, 30)
    assert suppresses(days_before(0), T, SoftBounces(suppress_after=1, within_days=1))
    for bad in ({"suppress_after": 0}, {"within_days": 0}, {"within_days": "a month"}, {"after": 3}):
        with pytest.raises(ValidationError):
            SoftBounces(**bad)


@pytest.mark.parametrize("line, message", [
    ("soft_bounces: {suppress_after: 0, within_days: 30}", "soft_bounces.suppress_after: Input should be greater than or equal to 1"),
    ("soft_bounces: {suppress_after: 3, within_days: a month}", "soft_bounces.within_days: Input should be a valid integer"),
    ("soft_bounces: {suppres_after: 3, within_days: 30}", "soft_bounces.suppres_after: unknown key (check its spelling)"),
])
def test_a_wrong_soft_bounce_setting_names_the_file_and_key(tmp_path, line, message):
    import shutil

    from leadrelay.config.rules import ConfigError, load_rules
    from tests.factories import REPO

    shutil.copytree(REPO / "config", tmp_path / "config", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = tmp_path / "config" / "sequences.yaml"
    text = path.read_text()
    assert "soft_bounces: {suppress_after: 3, within_days: 30}" in text
    path.write_text(text.replace("soft_bounces: {suppress_after: 3, within_days: 30}", line))
    with pytest.raises(ConfigError) as error:
        load_rules(tmp_path / "config")
    assert f"sequences.yaml: {message}" in str(error.value)


def test_without_the_key_the_default_applies(tmp_path):
    import shutil

    from leadrelay.config.rules import load_rules
    from tests.factories import REPO

    shutil.copytree(REPO / "config", tmp_path / "config", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = tmp_path / "config" / "sequences.yaml"
    path.write_text(path.read_text().replace("soft_bounces: {suppress_after: 3, within_days: 30}", ""))
    assert load_rules(tmp_path / "config").sequences.soft_bounces == SoftBounces(suppress_after=3, within_days=30)
