"""The rep's signed link: `GET /handoff/{token}` shows the lead, `POST` records Accept / Reject."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse

from leadrelay.clock import now
from leadrelay.web.deps import current_services
from leadrelay.web.handoff_view import answer_page, handoff_page
from leadrelay.web.pages import render
from leadrelay.wiring import Services

router = APIRouter()


@router.get("/handoff/{token}", response_class=HTMLResponse)
def show_handoff(token: str, action: str | None = None, services: Services = Depends(current_services)):
    return render(handoff_page(services, token, action, as_of=now()))


@router.post("/handoff/{token}", response_class=HTMLResponse)
def answer_handoff(
    token: str,
    decision: str = Form(""),
    reason: str | None = Form(None),
    note: str | None = Form(None),
    services: Services = Depends(current_services),
):
    return render(answer_page(services, token, decision, reason, note, as_of=now()))
