"""The web console (运营后台): NiceGUI pages mounted at ``/console`` on the API's app.

Pages are thin: they ask the same services the API and the CLI use (run off the event
loop) and draw the answers with Quasar widgets and ECharts. Who may see and change what
is decided by `siyu.accounts`; every page checks it on the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from fastapi import FastAPI

    from siyu.runtime import Runtime

MOUNT_PATH: Final = "/console"


def mount_console(app: FastAPI, runtime: Runtime) -> None:
    """Serve the console from ``app``. NiceGUI keeps one global UI per process: call this
    once per process (``siyu serve`` does)."""
    from nicegui import ui

    from siyu.console import context, pages

    context.bind(runtime)
    pages.register()
    ui.run_with(
        app,
        mount_path=MOUNT_PATH,
        title="私域 siyu",
        favicon="🌿",
        language="zh-CN",
        show_welcome_message=False,
        reconnect_timeout=10,
    )
