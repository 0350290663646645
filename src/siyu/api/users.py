"""Console users over HTTP: sign-in and sign-out (``/auth``) and user management
(``/admin/v1/users``, admins only).

Sign-in answers a form post (the console's sign-in page) with a redirect, and a JSON
post with JSON; both set the ``siyu_session`` cookie (HttpOnly, SameSite=Strict), which
the console and the admin API accept.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Cookie, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from siyu.accounts import service
from siyu.accounts.exceptions import AccountError, AccountExists, AccountNotFound, SignInFailed
from siyu.api.access import SESSION_COOKIE, admin_router, principal
from siyu.runtime import Runtime

#: Where the console lives; sign-in redirects back into it.
CONSOLE_PATH = "/console"


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64)
    role: Literal["admin", "operator", "analyst"]
    password: str | None = Field(default=None, max_length=256)
    display_name: str | None = Field(default=None, max_length=64)
    language: Literal["zh-CN", "en"] = "zh-CN"


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["admin", "operator", "analyst"] | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=256)
    unlock: bool = False
    language: Literal["zh-CN", "en"] | None = None


def router(runtime: Runtime, admin_token: str) -> tuple[APIRouter, APIRouter]:
    """(the sign-in routes, the admin user routes)."""
    auth = APIRouter(prefix="/auth")
    api = admin_router(admin_token, runtime.warehouse)

    @auth.post("/sign-in", response_model=None)
    async def sign_in(request: Request) -> Response:
        form = request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        )
        if form:
            data: Any = dict(await request.form())
        else:
            try:
                data = await request.json()
            except ValueError:
                raise HTTPException(
                    422, "send a JSON object or a form with username and password"
                ) from None
        if not isinstance(data, dict):
            raise HTTPException(422, "send a JSON object with username and password")
        username, password = str(data.get("username", "")), str(data.get("password", ""))
        after = _safe_next(str(data.get("next") or f"{CONSOLE_PATH}/"))
        try:
            token = await run_in_threadpool(
                service.sign_in, runtime.settings, runtime.warehouse, username, password
            )
        except SignInFailed as exc:
            if form:
                target = f"{CONSOLE_PATH}/login?error={quote(str(exc))}&next={quote(after)}"
                return RedirectResponse(target, status_code=303)
            raise HTTPException(401, str(exc)) from None
        answer: Response
        if form:
            answer = RedirectResponse(after, status_code=303)
        else:
            who = await run_in_threadpool(service.principal_of, runtime.warehouse, token)
            assert who is not None
            answer = JSONResponse({"username": who.username, "role": who.role})
        answer.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(runtime.settings.session_hours * 3600),
            httponly=True,
            samesite="strict",
            path="/",
        )
        return answer

    @auth.post("/sign-out", response_model=None)
    async def sign_out(
        siyu_session: Annotated[str | None, Cookie()] = None,
    ) -> Response:
        await run_in_threadpool(service.sign_out, runtime.warehouse, siyu_session)
        answer = RedirectResponse(f"{CONSOLE_PATH}/login", status_code=303)
        answer.delete_cookie(SESSION_COOKIE, path="/")
        return answer

    @api.get("/users")
    async def list_users() -> Any:
        return await run_in_threadpool(service.list_users, runtime.warehouse)

    @api.post("/users", status_code=201)
    async def add_user(body: UserCreate, request: Request) -> Any:
        by = principal(request).username
        user, password = await _accounts(
            lambda: service.add_user(
                runtime.warehouse,
                body.username,
                role=body.role,
                password=body.password,
                display_name=body.display_name,
                language=body.language,
                by=by,
            )
        )
        # A generated password is shown this once.
        return {**user, "password": password if body.password is None else None}

    @api.patch("/users/{username}")
    async def change_user(username: str, body: UserChange) -> Any:
        return await _accounts(
            lambda: service.change_user(
                runtime.warehouse,
                username,
                role=body.role,
                disabled=body.disabled,
                password=body.password,
                unlock=body.unlock,
                language=body.language,
            )
        )

    return auth, api


def _safe_next(target: str) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    if target.startswith(CONSOLE_PATH) and not target.startswith("//") and "\\" not in target:
        return target
    return f"{CONSOLE_PATH}/"


async def _accounts(fn: Any) -> Any:
    try:
        return await run_in_threadpool(fn)
    except AccountNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except AccountExists as exc:
        raise HTTPException(409, str(exc)) from None
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
