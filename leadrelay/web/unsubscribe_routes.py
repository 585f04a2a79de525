"""`GET /unsubscribe/{token}` asks to confirm; `POST` unsubscribes (the button, and RFC 8058
one-click, whose body `List-Unsubscribe=One-Click` needs no reading: the token says who).
`GET /resubscribe/{token}` asks to confirm; `POST` re-subscribes (offered after an unsubscribe)."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from leadrelay.clock import now
from leadrelay.web.deps import current_services
from leadrelay.web.pages import render
from leadrelay.web.unsubscribe_view import (confirm_page, resubscribe_confirm_page, resubscribed_page,
                                            unsubscribed_page)
from leadrelay.wiring import Services

router = APIRouter()


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def show_unsubscribe(token: str, services: Services = Depends(current_services)):
    return render(confirm_page(services, token, as_of=now()))


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def confirm_unsubscribe(token: str, services: Services = Depends(current_services)):
    return render(unsubscribed_page(services, token, as_of=now()))


@router.get("/resubscribe/{token}", response_class=HTMLResponse)
def show_resubscribe(token: str, services: Services = Depends(current_services)):
    return render(resubscribe_confirm_page(services, token, as_of=now()))


@router.post("/resubscribe/{token}", response_class=HTMLResponse)
def confirm_resubscribe(token: str, services: Services = Depends(current_services)):
    return render(resubscribed_page(services, token, as_of=now()))
