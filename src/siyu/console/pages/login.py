"""登录 Sign-in: a plain form posted to ``/auth/sign-in``, which sets the session cookie
(HttpOnly, so no script on the page can read it)."""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from siyu.console import MOUNT_PATH
from siyu.console.i18n import Texts


@ui.page("/login")
def login(request: Request) -> None:
    language = "en" if request.query_params.get("lang") == "en" else "zh-CN"
    texts = Texts(language)
    error = request.query_params.get("error")
    after = request.query_params.get("next") or f"{MOUNT_PATH}/"
    if not after.startswith(MOUNT_PATH) or any(c in after for c in "\"'<> \\"):
        after = f"{MOUNT_PATH}/"
    ui.page_title(f"{texts('sign_in')} · {texts('app')}")
    ui.colors(primary="#07c160")
    with ui.column().classes("absolute-center items-center gap-4"):
        with ui.row().classes("items-center gap-2"):
            ui.icon("eco").classes("text-4xl text-primary")
            ui.label(texts("app")).classes("text-3xl font-bold text-primary")
        with (
            ui.card().classes("w-96 p-6"),
            ui.element("form")
            .props('method=post action="/auth/sign-in"')
            .classes("w-full flex flex-col gap-3"),
        ):
            ui.input(texts("username")).props("name=username autofocus outlined").classes(
                "w-full"
            ).mark("username")
            ui.input(texts("password"), password=True).props("name=password outlined").classes(
                "w-full"
            ).mark("password")
            ui.element("input").props(f'type=hidden name=next value="{after}"')
            if error:
                ui.label(error).classes("text-red-600 text-sm").mark("sign-in-error")
            ui.button(texts("sign_in")).props("type=submit unelevated").classes("w-full").mark(
                "sign-in"
            )
        ui.label(texts("sign_in_hint")).classes("text-slate-500 text-sm max-w-md text-center")
        other = "zh-CN" if language == "en" else "en"
        ui.link("中文" if other == "zh-CN" else "English", f"{MOUNT_PATH}/login?lang={other}")
