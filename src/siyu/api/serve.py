"""Running the server: `siyu serve`."""

from __future__ import annotations

import gc
import os
import secrets
import threading

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
    _freeze_start_up(runtime)
    info = ServerInfo(f"http://{host}:{port}", os.getpid(), token)
    write_server_info(settings.server_file, info)
    try:
        server.run()
    finally:
        if read_server_info(settings) == info:
            settings.server_file.unlink(missing_ok=True)
        runtime.warehouse.close()


def _freeze_start_up(runtime: Runtime) -> None:
    """Move what start-up created out of the garbage collector's full passes.

    A started server holds about 236,000 objects from its imports (FastAPI, Ibis, DuckDB,
    and numba and scipy once the resolver has warmed up). Each full pass walked them all
    and stopped every thread for 135-150 ms, three times in ten seconds of a burst; frozen,
    they are never walked, and a full pass takes 2-5 ms (BENCHMARKS.md). Done now, and
    again once the resolver is warm; whatever is created later is collected as usual.
    """
    gc.freeze()

    def after_warm_up() -> None:
        runtime.resolver.ready.wait()
        gc.freeze()

    if runtime.resolves_identities:
        threading.Thread(target=after_warm_up, name="siyu-gc-freeze", daemon=True).start()
