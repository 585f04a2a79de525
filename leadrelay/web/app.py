"""The FastAPI app factory. Add a concept (unsubscribe, webhook, form intake) as one more router."""
from __future__ import annotations

from fastapi import FastAPI, Request

from leadrelay.web.rate_limit import RateLimiter
from leadrelay.web import form_routes, handoff_routes, health_routes, report_routes, sendgrid_routes, unsubscribe_routes
from leadrelay.web import reassign_routes
from leadrelay.web import crm_routes, outcome_routes
from leadrelay.web.errors import install_error_pages
from leadrelay.wiring import Services, services as wired_services

# Pages carry signed tokens in their URL: never cache them, never leak them in a Referer.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
}


def create_app(services: Services | None = None) -> FastAPI:
    """The web app serving `services` (default: `leadrelay.wiring.services()`, resolved now)."""
    app = FastAPI(title="leadrelay", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services or wired_services()
    # One limiter per app (per process): form posts per client IP, see `leadrelay.web.rate_limit`.
    app.state.form_limiter = RateLimiter(app.state.services.settings.form_rate_per_minute)
    for router in (health_routes.router, handoff_routes.router, unsubscribe_routes.router, sendgrid_routes.router,
                   form_routes.router, report_routes.router):
        app.include_router(router)
    app.include_router(reassign_routes.router)
    app.include_router(crm_routes.router)
    app.include_router(outcome_routes.router)
    install_error_pages(app)

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
