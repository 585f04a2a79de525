"""Loads and checks the YAML rules in the config directory; errors name the file and the key."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from leadrelay.handoff.routing_rules import RepsConfig, RoutingRules, check_routing_against_reps
from leadrelay.email.rendering import TEMPLATES_DIR
from leadrelay.scoring.score import ScoringRules
from leadrelay.nurture.sequences import SequencesConfig, check_sequences
from leadrelay.handoff.sla import SlaRules

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(Exception):
    """A config file is missing or wrong; the message is one sentence naming file and key."""


def _key_path(location: tuple) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def load_yaml_model(path: Path, model: type[Model]) -> Model:
    """Parse one YAML file into `model`, or raise ConfigError naming the file, key and problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where} ({getattr(exc, 'problem', exc)}).") from None
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        # A misspelt key also makes its real name "missing": report the misspelling first.
        first = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        message = "unknown key (check its spelling)" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {_key_path(first['loc'])}: {message}{more}.") from None


@dataclass(frozen=True)
class Rules:
    """Every rule file, validated."""

    scoring: ScoringRules
    reps: RepsConfig
    routing: RoutingRules
    sla: SlaRules
    sequences: SequencesConfig


def load_rules(config_dir: Path) -> Rules:
    rules = Rules(
        scoring=load_yaml_model(config_dir / "scoring.yaml", ScoringRules),
        reps=load_yaml_model(config_dir / "reps.yaml", RepsConfig),
        routing=load_yaml_model(config_dir / "routing.yaml", RoutingRules),
        sla=load_yaml_model(config_dir / "sla.yaml", SlaRules),
        sequences=load_yaml_model(config_dir / "sequences.yaml", SequencesConfig),
    )
    problems = check_routing_against_reps(rules.routing, rules.reps)
    if problems:
        raise ConfigError(f"{config_dir / 'routing.yaml'}: {problems[0].rstrip('.')}.")
    problems = check_sequences(rules.sequences, TEMPLATES_DIR)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ConfigError(f"{config_dir / 'sequences.yaml'}: {problems[0].rstrip('.')}{more}.")
    return rules
