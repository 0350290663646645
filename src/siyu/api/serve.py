"""Running the server: `siyu serve` and the ``server.json`` the CLI uses to find it."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from siyu.api.app import create_app
from siyu.config import Settings
from siyu.runtime import Runtime


@dataclass(frozen=True)
class ServerInfo:
    """Where a running `siyu serve` listens, and the admin token for its CLI calls."""

    url: str
    pid: int
    admin_token: str


def read_server_info(settings: Settings) -> ServerInfo | None:
    """The server that owns ``settings.home``, if one is alive; stale files are ignored."""
    try:
        data = json.loads(settings.server_file.read_text())
        info = ServerInfo(data["url"], int(data["pid"]), data["admin_token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return info


def _write_server_info(path: Path, info: ServerInfo) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"url": info.url, "pid": info.pid, "admin_token": info.admin_token}, out)
    tmp.replace(path)


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Serve the collector and admin API until interrupted, then commit and close."""
    host = host or settings.host
    port = settings.port if port is None else port
    runtime = Runtime.open(settings)
    token = secrets.token_urlsafe(32)
    app = create_app(runtime, admin_token=token)
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
    _write_server_info(settings.server_file, info)
    try:
        server.run()
    finally:
        if read_server_info(settings) == info:
            settings.server_file.unlink(missing_ok=True)
        runtime.warehouse.close()
