"""Finding the running `siyu serve`: ``SIYU_HOME/server.json`` (URL, pid, admin token).

Kept free of web-framework imports so CLI commands start fast.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from siyu.config import Settings


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


def write_server_info(path: Path, info: ServerInfo) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"url": info.url, "pid": info.pid, "admin_token": info.admin_token}, out)
    tmp.replace(path)
