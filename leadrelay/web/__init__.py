"""The small web app: signed rep links (and, later, unsubscribe, the SendGrid webhook, form intake).

`create_app()` builds it; each concept is one APIRouter module (`handoff_routes`, ...) whose
handlers only parse the request and call a plain function; pages are rendered by `pages`.
"""
from leadrelay.web.app import create_app

__all__ = ["create_app"]
