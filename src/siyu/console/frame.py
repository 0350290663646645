"""The frame every console page shares: header, navigation, language switch, sign-out,
and `console_page`, which checks the session and the role before a page is built."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import run, ui

from siyu.accounts import service as accounts
from siyu.accounts.service import Principal
from siyu.console import MOUNT_PATH, context
from siyu.console.i18n import Formats, Texts


@dataclass(frozen=True)
class Nav:
    key: str
    path: str
    icon: str
    role: str = "analyst"


#: The navigation, in the order operators work through it.
NAV: Final = (
    Nav("overview", "/", "insights"),
    Nav("persons", "/persons", "person_search"),
    Nav("segments", "/segments", "groups"),
    Nav("layers", "/layers", "layers"),
    Nav("funnels", "/funnels", "filter_alt"),
    Nav("retention", "/retention", "event_repeat"),
    Nav("referral", "/referral", "share"),
    Nav("attribution", "/attribution", "alt_route"),
    Nav("experiments", "/experiments", "science"),
    Nav("churn", "/churn", "monitor_heart"),
    Nav("sources", "/sources", "cable"),
    Nav("users", "/users", "manage_accounts", role="admin"),
)


@dataclass(frozen=True)
class Page:
    """What a page builder gets: who is signed in, their words and number formats."""

    who: Principal
    texts: Texts
    formats: Formats


Builder = Callable[[Page], Awaitable[None]]


def console_page(path: str, *, title: str, role: str = "analyst") -> Callable[[Builder], Any]:
    """Register ``builder`` as the page at ``path`` (under `MOUNT_PATH`); signed-out
    visitors go to the sign-in page, users without ``role`` see why they cannot."""

    def decorate(builder: Builder) -> Any:
        @ui.page(path, response_timeout=60)
        async def page(request: Request) -> RedirectResponse | None:
            who = context.signed_in(request)
            if who is None:
                target = quote(f"{MOUNT_PATH}{path}")
                return RedirectResponse(f"{MOUNT_PATH}/login?next={target}", status_code=303)
            texts = Texts(who.language)
            ui.page_title(f"{texts(title)} · {texts('app')}")
            _shell(who, texts, path)
            with ui.column().classes("w-full max-w-screen-2xl mx-auto p-4 gap-4"):
                ui.label(texts(title)).classes("text-2xl font-semibold text-slate-800")
                if not who.may(role):
                    _no_access(texts, role, who.role)
                else:
                    await builder(Page(who, texts, Formats(texts.language)))
            return None

        return page

    return decorate


def _shell(who: Principal, texts: Texts, active: str) -> None:
    ui.colors(primary="#07c160", secondary="#1f2937", accent="#576b95")
    with ui.header().classes("bg-white text-slate-800 shadow-sm items-center px-4 py-2"):
        ui.icon("eco").classes("text-2xl text-primary")
        ui.label(texts("app")).classes("text-lg font-bold text-primary")
        ui.space()
        ui.button(texts("language"), on_click=lambda: _switch_language(who)).props(
            "flat dense no-caps"
        ).mark("language-switch")
        ui.label(f"{who.display_name or who.username} · {who.role}").classes(
            "text-sm text-slate-500 mx-2"
        )
        with ui.element("form").props('method=post action="/auth/sign-out"'):
            ui.button(texts("sign_out"), icon="logout").props(
                "flat dense no-caps type=submit"
            ).mark("sign-out")
    drawer = ui.left_drawer(value=True, bordered=True).classes("bg-slate-50 p-0")
    with drawer.props("width=208"), ui.list().classes("w-full"):
        for item in NAV:
            if not who.may(item.role):
                continue
            current = item.path == active
            with (
                ui.item(on_click=lambda p=item.path: ui.navigate.to(p))
                .classes("text-primary bg-green-50 font-semibold" if current else "text-slate-700")
                .mark(f"nav-{item.key}")
            ):
                with ui.item_section().props("avatar"):
                    ui.icon(item.icon)
                ui.item_section(texts(item.key))


async def _switch_language(who: Principal) -> None:
    other = "en" if who.language == "zh-CN" else "zh-CN"
    await run.io_bound(
        accounts.change_user, context.runtime().warehouse, who.username, language=other
    )
    ui.navigate.reload()


async def still_may(who: Principal, role: str) -> bool:
    """Whether ``who`` may still act as ``role`` now: a page stays open while an admin
    changes roles, so changes check the stored user again."""
    now = await run.io_bound(accounts.current, context.runtime().warehouse, who.username)
    return now is not None and now.may(role)


def _no_access(texts: Texts, role: str, current: str) -> None:
    with ui.card().classes("w-full items-center p-8"):
        ui.icon("lock").classes("text-5xl text-slate-400")
        ui.label(texts("no_access")).classes("text-xl")
        ui.label(texts("no_access_text", role=role, current=current)).classes("text-slate-500")


def empty_state(texts: Texts) -> None:
    """What a page shows before any data arrived: how to get some."""
    with ui.card().classes("w-full items-center p-8").mark("empty-state"):
        ui.icon("inbox").classes("text-5xl text-slate-400")
        ui.label(texts("no_data")).classes("text-xl")
        ui.label(texts("no_data_text")).classes("text-slate-500 max-w-xl text-center")


def error_state(texts: Texts, error: Exception) -> None:
    with ui.card().classes("w-full p-6 bg-red-50").mark("error-state"):
        ui.label(texts("error")).classes("text-lg text-red-700")
        ui.label(str(error)).classes("text-red-700")
