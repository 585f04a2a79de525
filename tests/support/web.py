"""The web app as a test client, wired to a test database with some settings changed."""
from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from leadrelay.web.app import create_app
from tests.factories import services_for


def web_client(engine: Engine, **settings) -> TestClient:
    """A TestClient of the app on `engine`; a server error comes back as the page a user sees."""
    services = services_for(engine)
    services = replace(services, settings=services.settings.model_copy(update=settings))
    return TestClient(create_app(services), raise_server_exceptions=False)
