"""`GET /`: a small index of what this app serves; `GET /report`: the managers' funnel page,
behind HTTP Basic from settings (see `report_view`)."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from leadrelay.clock import now, parse_as_of
from leadrelay.web.deps import current_services
from leadrelay.web.pages import Page, render
from leadrelay.web.report_view import REALM, Access, refusal_page, report_access, report_page
from leadrelay.wiring import Services

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def index():
    return render(Page("index.html"))


@router.get("/report", response_class=HTMLResponse)
def report(request: Request, since: Optional[str] = None, until: Optional[str] = None,
           services: Services = Depends(current_services)):
    access = report_access(services.settings, request.headers.get("authorization"))
    if access is not Access.granted:
        response = render(refusal_page(access))
        if access is Access.denied:
            response.headers["WWW-Authenticate"] = REALM
        return response
    try:
        bounds = [parse_as_of(value) if value else None for value in (since, until)]
    except ValueError as exc:
        return JSONResponse({"error": f"since/until: {exc}"}, status_code=422)
    return render(report_page(services, bounds[0], bounds[1], as_of=now()))
