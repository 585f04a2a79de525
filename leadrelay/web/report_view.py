"""The managers' report page and its login, as plain functions of services, the request's
credentials and time.

Login is HTTP Basic against `LEADRELAY_REPORT_USER` / `LEADRELAY_REPORT_PASSWORD`: with either
unset the page refuses everyone (403, saying which settings to set), so it is never public by
default; wrong or missing credentials get 401 with a `WWW-Authenticate` challenge, so a browser
asks. Run it behind HTTPS in production: Basic sends the password with every request.
"""
from __future__ import annotations

import base64
import binascii
import hmac
from datetime import datetime
from enum import Enum

from leadrelay.config.settings import Settings
from leadrelay.db import unit_of_work
from leadrelay.reporting.breakdowns import TIERS
from leadrelay.reporting.charts import PALETTE, horizontal_bars, weekly_lines
from leadrelay.reporting.funnel import FUNNEL, funnel_report
from leadrelay.web.pages import Page, message_page
from leadrelay.wiring import Services

REALM = 'Basic realm="leadrelay report", charset="UTF-8"'
OFF = ("The report is switched off: set LEADRELAY_REPORT_USER and LEADRELAY_REPORT_PASSWORD "
       "to let managers sign in.")
DENIED = "Please sign in with the report's user name and password."


class Access(Enum):
    granted = "granted"
    off = "off"  # no login configured: nobody gets in
    denied = "denied"  # missing or wrong credentials


def report_access(settings: Settings, authorization: str | None) -> Access:
    """Whether an `Authorization` header opens the report (constant-time comparison of both parts)."""
    user, password = settings.report_user, settings.report_password
    if not user or password is None or not password.get_secret_value():
        return Access.off
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return Access.denied
    try:
        given_user, sep, given_password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return Access.denied
    user_ok = hmac.compare_digest(given_user.encode("utf-8"), user.encode("utf-8"))
    password_ok = hmac.compare_digest(given_password.encode("utf-8"), password.get_secret_value().encode("utf-8"))
    return Access.granted if sep and user_ok and password_ok else Access.denied


def refusal_page(access: Access) -> Page:
    return message_page("Report switched off", OFF, 403) if access is Access.off else \
        message_page("Sign in", DENIED, 401)


def report_page(services: Services, since: datetime | None, until: datetime | None, as_of: datetime) -> Page:
    """The funnel with its charts, from the same `funnel_report` as `leadrelay funnel --json`."""
    with unit_of_work(services.engine) as session:
        report = funnel_report(session, since, until, as_of)
    stages = report["stages"]
    notes = [""] + [_percent(report["conversion"].get(f"{a}->{b}")) for a, b in zip(FUNNEL, FUNNEL[1:])]
    reps = report["by_rep"]
    sla = report["sla"]
    return Page("report.html", {
        "report": report,
        "as_of": as_of,
        "since": since,
        "until": until,
        "funnel_chart": horizontal_bars(list(stages.items()), notes=notes),
        "from_contacts": {stage: _percent(rate) for stage, rate in
                          ((key.removeprefix("contacts->"), rate) for key, rate in report["conversion_overall"].items())},
        "tiers": TIERS,
        # Each stage keeps its funnel bar's colour in the trend (there is no `leads` line).
        "weekly_chart": weekly_lines(report["weekly"], ["contacts", *FUNNEL[2:]],
                                     colours=[PALETTE[0], *PALETTE[2:len(FUNNEL)]]),
        "weekly_series": ["contacts", *FUNNEL[2:]],
        "sla_chart": horizontal_bars([("met", sla["met"]), ("breached", sla["breached"]), ("open", sla["open"])],
                                     colours=("#1f9d8a", "#c0392b", "#7b8794")),
        "rep_chart": horizontal_bars([(rep, row["handoffs"]) for rep, row in reps.items()], label_width=220),
        "rejection_chart": horizontal_bars(list(report["rejections"].items())),
        "track_chart": horizontal_bars([(track, row["entered"]) for track, row in report["by_track"].items()],
                                       label_width=180),
    })


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.0%}"
