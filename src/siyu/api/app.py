"""The FastAPI application `siyu serve` runs: collector protocols plus the admin API."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from siyu import __version__
from siyu.api import admin, posthog, segment, sensors, wechat
from siyu.jobs import JobRunner
from siyu.runtime import Runtime


def create_app(runtime: Runtime, *, admin_token: str | None = None) -> FastAPI:
    """The application over ``runtime``; starts and stops the collector with the server."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(title="siyu", version=__version__, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.admin_token = admin_token or secrets.token_urlsafe(32)

    @app.get("/health")
    async def health() -> dict[str, object]:
        return {"status": "ok", "version": __version__}

    app.include_router(segment.router(runtime))
    app.include_router(wechat.router(runtime))
    app.include_router(sensors.router(runtime))
    app.include_router(posthog.router(runtime))
    app.include_router(admin.router(runtime, JobRunner(runtime), app.state.admin_token))
    return app
