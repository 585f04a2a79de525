"""The one wiring function: builds the database engine, rules and email backend from settings.

Flows, tasks and the CLI call `services()`; tests install fakes with `use_services(...)`.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterator

from sqlalchemy.engine import Engine

from leadrelay.config.rules import ConfigError, Rules, load_rules
from leadrelay.config.settings import Settings, get_settings
from leadrelay.db import engine_for
from leadrelay.email.backends import EmailSender, OutboxDirSender, SecretBlockSendGrid, SendGridSender
from leadrelay.email.rendering import Sender


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    rules: Rules
    sender: EmailSender


def build_services(settings: Settings) -> Services:
    """Everything with a side effect, made from settings (raises ConfigError for bad rules)."""
    return Services(settings=settings, engine=engine_for(settings.database_url),
                    rules=load_rules(settings.rules_dir()), sender=build_sender(settings))


def batches_in_flight(found: Services) -> int:
    """How many batches of one step a flow may run at once: `LEADRELAY_CONCURRENT_BATCHES` on
    PostgreSQL, whose claims skip each other's rows; 1 on SQLite, which has one writer at a time."""
    return found.settings.concurrent_batches if found.engine.dialect.name == "postgresql" else 1


def build_sender(settings: Settings) -> EmailSender:
    """The email backend the settings name: the outbox folder, or SendGrid with its API key."""
    if settings.email_backend == "outbox":
        return OutboxDirSender(settings.outbox_dir)
    if settings.sendgrid_api_key:
        return SendGridSender(settings.sendgrid_api_key.get_secret_value(), settings.sendgrid_host)
    if settings.sendgrid_secret_block:
        return SecretBlockSendGrid(settings.sendgrid_secret_block, settings.sendgrid_host)
    raise ConfigError("LEADRELAY_EMAIL_BACKEND is sendgrid, but neither SENDGRID_API_KEY nor "
                      "LEADRELAY_SENDGRID_SECRET_BLOCK is set.")


def sender_identity(settings: Settings) -> Sender:
    """Who emails come from and the postal address their footers show, as the settings say."""
    return Sender(settings.from_email, settings.from_name, settings.postal_address)


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
