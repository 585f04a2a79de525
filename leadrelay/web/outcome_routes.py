"""The rep's outcome page: `GET /handoff/{token}/outcome` shows it, `POST` records SQL / won / lost."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse

from leadrelay.clock import now
from leadrelay.web.deps import current_services
from leadrelay.web.outcome_view import outcome_page, record_outcome_page
from leadrelay.web.pages import render
from leadrelay.wiring import Services

router = APIRouter()


@router.get("/handoff/{token}/outcome", response_class=HTMLResponse)
def show_outcome(token: str, services: Services = Depends(current_services)):
    return render(outcome_page(services, token, as_of=now()))


@router.post("/handoff/{token}/outcome", response_class=HTMLResponse)
def post_outcome(
    token: str,
    outcome: str = Form(""),
    reason: str | None = Form(None),
    amount: str | None = Form(None),
    services: Services = Depends(current_services),
):
    return render(record_outcome_page(services, token, outcome, reason, amount, as_of=now()))
