"""Turning failures into one plain sentence and the exit codes INTERFACE.md promises."""
from __future__ import annotations

import functools
import os
from typing import Callable

import typer
from pydantic import ValidationError

from leadrelay.config.rules import ConfigError
from leadrelay.db import DatabaseError
from leadrelay.orchestration.automations import AutomationError
from leadrelay.intake.importer import ImportFailed
from leadrelay.orchestration.server import PrefectServerError

OPERATIONAL = 1  # something failed while running
USAGE = 2  # a usage or config error


class UsageError(Exception):
    """A wrong argument, said in one sentence."""


class NotFound(Exception):
    """The thing asked for does not exist (exit 1)."""


def _fail(message: str, code: int) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _settings_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    name = "LEADRELAY_" + str(first["loc"][0]).upper() if first["loc"] else "a setting"
    return f"the setting {name} is wrong: {first['msg']}."


def plain_errors(command: Callable) -> Callable:
    """Run a CLI command; known failures print one sentence and exit 1 or 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except (ConfigError, UsageError, AutomationError) as exc:
            _fail(str(exc), USAGE)
        except ValidationError as exc:
            _fail(_settings_message(exc), USAGE)
        except (DatabaseError, ImportFailed, NotFound, PrefectServerError) as exc:
            _fail(str(exc), OPERATIONAL)
        except KeyboardInterrupt:
            _fail("interrupted.", OPERATIONAL)
        except Exception as exc:  # the last line of defence: still one sentence, details on request
            if os.environ.get("LEADRELAY_DEBUG"):
                raise
            name = type(exc).__name__
            _fail(f"unexpected {name}; run again with LEADRELAY_DEBUG=1 for details.", OPERATIONAL)

    return wrapper

