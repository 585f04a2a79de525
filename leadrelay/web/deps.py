"""FastAPI dependencies shared by the routers."""
from __future__ import annotations

from fastapi import Request

from leadrelay.wiring import Services


def current_services(request: Request) -> Services:
    """The services the app was created with (see `create_app`)."""
    return request.app.state.services
