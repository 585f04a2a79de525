"""HTML pages: one autoescaping Jinja2 environment, and the `Page` a view function returns.

Data is always passed as template variables, never as template source, so a lead named
`{{ 7*7 }}` shows literally and `<script>` is escaped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Page:
    """A page to show: which template, with what, and the HTTP status."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200


@lru_cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = format_when
    return env


def format_when(value: str | datetime | None) -> str:
    """`2026-11-02T09:00:00Z` (or an aware datetime) as `2026-11-02 09:00 UTC`; empty for None."""
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def render(page: Page) -> HTMLResponse:
    html = environment().get_template(page.template).render(**page.context)
    return HTMLResponse(html, status_code=page.status)


def message_page(title: str, message: str, status: int) -> Page:
    """A page with one title and one sentence: errors, refusals, and the like."""
    return Page("message.html", {"title": title, "message": message}, status)
