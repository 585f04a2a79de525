"""`POST /webhooks/sendgrid`: SendGrid's Event Webhook (a JSON array of events per request)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from leadrelay.clock import now
from leadrelay.engagement.sendgrid_events import SIGNATURE_HEADER, TIMESTAMP_HEADER
from leadrelay.web.deps import current_services
from leadrelay.web.sendgrid_view import receive_events
from leadrelay.wiring import Services

router = APIRouter()


@router.post("/webhooks/sendgrid")
async def sendgrid_events(request: Request, services: Services = Depends(current_services)) -> JSONResponse:
    # Async only to read the raw bytes the signature covers; the database work runs in a thread.
    body = await request.body()
    reply = await run_in_threadpool(receive_events, services, body, request.headers.get(SIGNATURE_HEADER),
                                    request.headers.get(TIMESTAMP_HEADER), now())
    return JSONResponse(reply.body, status_code=reply.status)
