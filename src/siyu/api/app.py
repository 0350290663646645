"""The FastAPI application `siyu serve` runs: collector protocols, the admin API and the
daily recompute of tags and segments."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from siyu import __version__
from siyu.api import admin, analytics, posthog, segment, segments, sensors, users, wechat
from siyu.jobs import JobRunner
from siyu.runtime import Runtime
from siyu.segments.schedule import DailySchedule


def create_app(
    runtime: Runtime, *, admin_token: str | None = None, console: bool = False
) -> FastAPI:
    """The application over ``runtime``; starts and stops the collector with the server.

    With ``console`` the web console is mounted at ``/console`` (NiceGUI keeps one UI per
    process, so only `siyu serve` turns it on).
    """

    jobs = JobRunner(runtime)
    schedule = DailySchedule(
        runtime.settings.segments_compute_at,
        runtime.settings.timezone,
        lambda: jobs.start("segments-compute", {}),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        schedule.start()
        try:
            yield
        finally:
            schedule.stop()
            runtime.stop()

    app = FastAPI(title="siyu", version=__version__, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.admin_token = admin_token or secrets.token_urlsafe(32)

    @app.get("/health")
    async def health() -> dict[str, object]:
        """Up; ``identity`` says whether resolution is ``ready``, ``starting``,
        ``failing`` or ``off`` (details in ``/admin/v1/status``)."""
        identity = runtime.resolver.report(runtime.resolves_identities)["state"]
        return {"status": "ok", "version": __version__, "identity": identity}

    app.include_router(segment.router(runtime))
    app.include_router(wechat.router(runtime))
    app.include_router(sensors.router(runtime))
    app.include_router(posthog.router(runtime))
    app.include_router(admin.router(runtime, jobs, app.state.admin_token))
    app.include_router(segments.router(runtime, app.state.admin_token))
    app.include_router(analytics.router(runtime, app.state.admin_token))
    auth_routes, user_routes = users.router(runtime, app.state.admin_token)
    app.include_router(auth_routes)
    app.include_router(user_routes)
    segments.install_error_handler(app)
    if console:
        from siyu.console import mount_console  # deferred: NiceGUI is heavy to import

        mount_console(app, runtime)
    return app
