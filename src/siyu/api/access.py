"""Who may call which admin route: the CLI's admin token, or a console user's session.

Every ``/admin/v1`` route runs `authorise`: the bearer admin token (written to
``SIYU_HOME/server.json`` for the CLI) acts as an admin; otherwise the ``siyu_session``
cookie names a console user. The role a route needs follows one table: reads need
``analyst``, changes ``operator``, and user management, write keys, unmasked personal
data, person export and deletion ``admin``.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Final

from fastapi import APIRouter, Cookie, Depends, Header, HTTPException, Request

from siyu.accounts.service import CLI_PRINCIPAL, Principal, principal_of
from siyu.storage import Warehouse

SESSION_COOKIE: Final = "siyu_session"
PREFIX: Final = "/admin/v1"
#: POST routes that only read (an estimate, an analysis): analysts may call them.
READ_POSTS: Final = frozenset({f"{PREFIX}/segments/estimate", f"{PREFIX}/analytics/{{name}}"})
#: GET routes that change something.
WRITE_GETS: Final = frozenset({f"{PREFIX}/pipeline/daily"})
#: Routes only admins may call, as (method, route path).
ADMIN_ROUTES: Final = frozenset(
    {
        ("POST", f"{PREFIX}/sources"),
        ("POST", f"{PREFIX}/sources/{{source_id}}/disable"),
        ("GET", f"{PREFIX}/persons/{{ref}}/export"),
        ("DELETE", f"{PREFIX}/persons/{{ref}}"),
        ("GET", f"{PREFIX}/users"),
        ("POST", f"{PREFIX}/users"),
        ("PATCH", f"{PREFIX}/users/{{username}}"),
    }
)


def required_role(method: str, path: str, reveal: bool) -> str:
    """The least role that may call route ``path`` with ``method``.

    Example:
        >>> required_role("GET", "/admin/v1/segments", False)
        'analyst'
        >>> required_role("DELETE", "/admin/v1/segments/{key}", False)
        'operator'
        >>> required_role("GET", "/admin/v1/persons/{ref}", True)
        'admin'
    """
    if reveal or (method, path) in ADMIN_ROUTES:
        return "admin"
    reads = method in ("GET", "HEAD") and path not in WRITE_GETS
    return "analyst" if reads or (method == "POST" and path in READ_POSTS) else "operator"


def admin_router(admin_token: str, warehouse: Warehouse) -> APIRouter:
    """A router under ``/admin/v1`` whose every route checks who calls and their role."""

    def authorise(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        siyu_session: Annotated[str | None, Cookie()] = None,
    ) -> Principal:
        principal: Principal | None = None
        scheme, _, token = (authorization or "").partition(" ")
        if authorization is not None:
            if scheme.lower() == "bearer" and hmac.compare_digest(token, admin_token):
                principal = CLI_PRINCIPAL
        elif siyu_session:
            principal = principal_of(warehouse, siyu_session)
        if principal is None:
            raise HTTPException(
                401,
                "sign in to the console, or send the admin token (the CLI reads it from "
                "SIYU_HOME/server.json)",
            )
        route = request.scope.get("route")
        path = getattr(route, "path", request.url.path)
        reveal = request.query_params.get("reveal", "").lower() in ("1", "true", "yes")
        role = required_role(request.method, path, reveal)
        if not principal.may(role):
            raise HTTPException(
                403,
                f"this needs the {role} role; {principal.username} is {principal.role} "
                "(ask an admin to change the role)",
            )
        request.state.principal = principal
        return principal

    return APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])


def principal(request: Request) -> Principal:
    """The caller `authorise` admitted (for routes that record who acted)."""
    found = getattr(request.state, "principal", None)
    if not isinstance(found, Principal):
        raise HTTPException(401, "not signed in")
    return found
