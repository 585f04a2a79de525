"""`POST /webhooks/sendgrid`: SendGrid's Event Webhook (a JSON array of events per request)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from leadrelay.clock import now
from leadrelay.engagement.sendgrid_events import SIGNATURE_HEADER, TIMESTAMP_HEADER
from leadrelay.web.deps import current_services
from leadrelay.web.form_routes import read_capped
from leadrelay.web.sendgrid_view import MAX_BODY_BYTES, receive_events
from leadrelay.wiring import Services

router = APIRouter()


@router.post("/webhooks/sendgrid")
async def sendgrid_events(request: Request, services: Services = Depends(current_services)) -> Response:
    # Async only to read the raw bytes the signature covers, up to the cap; the rest runs in a thread.
    try:
        body, too_large = await read_capped(request, MAX_BODY_BYTES)
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is left to answer
    reply = await run_in_threadpool(receive_events, services, body, request.headers.get(SIGNATURE_HEADER),
                                    request.headers.get(TIMESTAMP_HEADER), now(), too_large)
    return JSONResponse(reply.body, status_code=reply.status)
