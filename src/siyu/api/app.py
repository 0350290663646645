"""The FastAPI application `siyu serve` runs: collector protocols plus the admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from siyu import __version__
from siyu.api import segment
from siyu.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    """The application over ``runtime``; starts and stops the collector with the server."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.collector.stop()

    app = FastAPI(title="siyu", version=__version__, lifespan=lifespan)
    app.state.runtime = runtime

    @app.get("/health")
    async def health() -> dict[str, object]:
        return {"status": "ok", "version": __version__}

    app.include_router(segment.router(runtime))
    return app
