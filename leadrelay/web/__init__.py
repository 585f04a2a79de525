"""The small web app: signed rep links, unsubscribe, the SendGrid webhook and form intake.

`create_app()` builds it; each concept is one APIRouter module (`handoff_routes`, ...) whose
handlers only parse the request and call a plain function; pages are rendered by `pages`.
"""
from leadrelay.web.app import create_app

__all__ = ["create_app"]
