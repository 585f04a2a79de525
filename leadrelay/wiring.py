"""The one wiring function: builds the database engine, rules and email backend from settings.

Flows, tasks and the CLI call `services()`; tests install fakes with `use_services(...)`.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterator

from sqlalchemy.engine import Engine

from config.rules import Rules, load_rules
from config.settings import Settings, get_settings
from leadrelay.db import engine_for


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    rules: Rules


def build_services(settings: Settings) -> Services:
    """Everything with a side effect, made from settings (raises ConfigError for bad rules)."""
    return Services(settings=settings, engine=engine_for(settings.database_url), rules=load_rules(settings.rules_dir()))


_override: Services | None = None


@lru_cache
def _from_environment() -> Services:
    return build_services(get_settings())


def services() -> Services:
    return _override or _from_environment()


@contextmanager
def use_services(replacement: Services, **changes) -> Iterator[Services]:
    """Run the block with `replacement` (and any field changes) in place of the real services."""
    global _override
    previous, _override = _override, replace(replacement, **changes)
    try:
        yield _override
    finally:
        _override = previous
