"""`POST /webhooks/crm`: what sales says became of a lead, from a CRM (signed JSON)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from leadrelay.clock import now
from leadrelay.outcomes.crm_webhook import MAX_BODY_BYTES, SIGNATURE_HEADER, TIMESTAMP_HEADER
from leadrelay.web.crm_view import receive_crm_post
from leadrelay.web.deps import current_services
from leadrelay.web.form_routes import read_capped
from leadrelay.wiring import Services

router = APIRouter()


@router.post("/webhooks/crm")
async def crm_outcome(request: Request, services: Services = Depends(current_services)) -> Response:
    # Async only to read the raw bytes the signature covers, with a bound; the work runs in a thread.
    try:
        body, too_large = await read_capped(request, MAX_BODY_BYTES)
    except ClientDisconnect:
        return Response(status_code=400)
    reply = await run_in_threadpool(receive_crm_post, services, body, too_large, request.headers.get(SIGNATURE_HEADER),
                                    request.headers.get(TIMESTAMP_HEADER), now())
    return JSONResponse(reply.body, status_code=reply.status)
