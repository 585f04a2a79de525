"""`POST /forms/{form_name}`: form intake (form-encoded, multipart or JSON), answered in JSON."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from leadrelay.clock import now
from leadrelay.intake.forms import RAW_CAP
from leadrelay.intake.form_signature import SIGNATURE_HEADER
from leadrelay.web.rate_limit import RateLimiter
from leadrelay.web.deps import current_services
from leadrelay.web.form_view import FormPost, receive_form
from leadrelay.wiring import Services

router = APIRouter()


def form_limiter(request: Request) -> RateLimiter:
    """The app's rate limiter for form posts (see `create_app`)."""
    return request.app.state.form_limiter


@router.post("/forms/{form_name}")
async def post_form(form_name: str, request: Request, services: Services = Depends(current_services),
                    limiter: RateLimiter = Depends(form_limiter)) -> Response:
    # Async only to read the body with a bound; parsing and database work run in a thread.
    try:
        body, too_large = await read_capped(request, services.settings.form_max_bytes)
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is left to answer, and no whole post to keep
    post = FormPost(form_name=form_name, content_type=request.headers.get("content-type"), body=body,
                    too_large=too_large, signature=request.headers.get(SIGNATURE_HEADER),
                    client=request.client.host if request.client else "unknown")
    reply = await run_in_threadpool(receive_form, services, limiter, post, now())
    background = BackgroundTask(reply.after) if reply.after else None  # a sync function: run in a thread
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers, background=background)


async def read_capped(request: Request, limit: int) -> tuple[bytes, bool]:
    """The body and whether it is over `limit` bytes. Never holds much more than the limit: a
    stream is read up to limit + 1 bytes; when Content-Length already says too much, only the
    first bytes (kept in quarantine) are read."""
    declared = _content_length(request)
    declared_too_large = declared is not None and declared > limit
    keep = min(RAW_CAP, limit + 1) if declared_too_large else limit + 1
    data = bytearray()
    async for chunk in request.stream():
        data += chunk[: keep - len(data)]
        if len(data) >= keep:
            break
    return bytes(data), declared_too_large or len(data) > limit


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None
