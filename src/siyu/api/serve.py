"""Running the server: `siyu serve`."""

from __future__ import annotations

import os
import secrets

import uvicorn

from siyu.api.app import create_app
from siyu.api.discovery import ServerInfo, read_server_info, write_server_info
from siyu.config import Settings
from siyu.runtime import Runtime


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Serve the collector and admin API until interrupted, then commit and close."""
    host = host or settings.host
    port = settings.port if port is None else port
    runtime = Runtime.open(settings)
    token = secrets.token_urlsafe(32)
    app = create_app(runtime, admin_token=token, console=settings.console)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    info = ServerInfo(f"http://{host}:{port}", os.getpid(), token)
    write_server_info(settings.server_file, info)
    try:
        server.run()
    finally:
        if read_server_info(settings) == info:
            settings.server_file.unlink(missing_ok=True)
        runtime.warehouse.close()
