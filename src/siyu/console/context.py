"""The console's view of the process: the runtime it serves and who is signed in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from siyu.accounts.service import Principal, principal_of
from siyu.api.access import SESSION_COOKIE

if TYPE_CHECKING:
    from siyu.runtime import Runtime

_RUNTIME: list[Runtime] = []


def bind(runtime: Runtime) -> None:
    """Set the runtime the console serves (once per process, by `mount_console`)."""
    _RUNTIME.clear()
    _RUNTIME.append(runtime)


def runtime() -> Runtime:
    if not _RUNTIME:
        raise RuntimeError("the console is not mounted: call siyu.console.mount_console first")
    return _RUNTIME[0]


def signed_in(request: Request) -> Principal | None:
    """The console user of the request's session cookie, if it is valid."""
    return principal_of(runtime().warehouse, request.cookies.get(SESSION_COOKIE))
