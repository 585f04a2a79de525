"""Every failure becomes a short, polite page: never a traceback, never a 500 with details."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from leadrelay.handoff.answers import HandoffClosed, HandoffNotFound
from leadrelay.links.signing import LinkExpired, LinkInvalid
from leadrelay.web.pages import message_page, render

log = logging.getLogger("leadrelay.web")

LINK_INVALID = "This link is not valid."
LINK_EXPIRED = "This link has expired; ask your manager to reassign the lead."
SERVER_ERROR = "Something went wrong on our side; please try again in a few minutes."


def install_error_pages(app: FastAPI) -> None:
    """Map the domain's refusals and any unexpected error to pages with the right status."""

    @app.exception_handler(LinkInvalid)
    async def _link_invalid(_request: Request, _exc: LinkInvalid):
        return render(message_page("Link not valid", LINK_INVALID, 403))

    @app.exception_handler(LinkExpired)
    async def _link_expired(_request: Request, _exc: LinkExpired):
        return render(message_page("Link expired", LINK_EXPIRED, 403))

    @app.exception_handler(HandoffClosed)
    async def _closed(_request: Request, exc: HandoffClosed):
        return render(message_page("Nothing more to do", str(exc), 409))

    @app.exception_handler(HandoffNotFound)
    async def _not_found(_request: Request, exc: HandoffNotFound):
        return render(message_page("Lead not found", str(exc), 404))

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException):
        message = "There is no page here." if exc.status_code == 404 else "This request cannot be handled."
        return render(message_page("Not found" if exc.status_code == 404 else "Not possible", message, exc.status_code))

    @app.exception_handler(RequestValidationError)
    async def _malformed(_request: Request, _exc: RequestValidationError):
        return render(message_page("Not understood", "The form was incomplete; please go back and try again.", 422))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # Details go to the log only, with the route's pattern, not the URL: links carry tokens.
        route = getattr(request.scope.get("route"), "path", "(no route)")
        log.error("unhandled error on %s %s", request.method, route, exc_info=exc)
        return render(message_page("Sorry", SERVER_ERROR, 500))
