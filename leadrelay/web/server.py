"""`leadrelay web`: serve the web app with uvicorn."""
from __future__ import annotations

import uvicorn

from leadrelay.web.app import create_app


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve `create_app()` (wired from settings) on host:port until interrupted."""
    # No access log: every request line of /handoff/... would write a signed token to the log.
    uvicorn.run(create_app(), host=host, port=port, access_log=False)
