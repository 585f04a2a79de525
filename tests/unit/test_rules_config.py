import shutil
from pathlib import Path

import pytest

from leadrelay.config.rules import ConfigError, load_rules

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture
def config_copy(tmp_path):
    for path in CONFIG.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_the_shipped_rules_load():
    assert load_rules(CONFIG).scoring.mql_threshold > 0


@pytest.mark.parametrize("old, new, expected", [
    ("mql_threshold: 60", "mql_threshold: sixty", "scoring.yaml: mql_threshold: Input should be a valid integer"),
    ("  half_life_days: 21", "  half_life_days: -1", "scoring.yaml: engagement.half_life_days: Input should be greater than 0"),
    ("    group: seniority\n    points: 25", "    group: seniority\n    pionts: 25", "scoring.yaml: fit[0].pionts: unknown key (check its spelling)"),
    ("pattern: '\\bdirector\\b'", "pattern: '(director'", "scoring.yaml: fit[2].when[0].pattern: not a valid regular expression"),
])
def test_a_broken_scoring_file_names_the_file_and_key(config_copy, old, new, expected):
    path = config_copy / "scoring.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as error:
        load_rules(config_copy)
    assert expected in str(error.value)


def test_invalid_yaml_names_the_line(config_copy):
    (config_copy / "scoring.yaml").write_text("mql_threshold: 60\ntiers: [warm\n")
    with pytest.raises(ConfigError, match=r"scoring.yaml: not valid YAML at line 3"):
        load_rules(config_copy)
