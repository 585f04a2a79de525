"""The manager's signed reassign link from the escalation email: `GET /reassign/{token}` shows
the lead and the reps, `POST` moves the open handoff to the chosen rep."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse

from leadrelay.clock import now
from leadrelay.web.deps import current_services
from leadrelay.web.pages import render
from leadrelay.web.reassign_view import reassign_answer, reassign_page
from leadrelay.wiring import Services

router = APIRouter()


@router.get("/reassign/{token}", response_class=HTMLResponse)
def show_reassign(token: str, services: Services = Depends(current_services)):
    return render(reassign_page(services, token, as_of=now()))


@router.post("/reassign/{token}", response_class=HTMLResponse)
def post_reassign(token: str, to: str = Form(""), services: Services = Depends(current_services)):
    return render(reassign_answer(services, token, to, as_of=now()))
