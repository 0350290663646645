"""账号管理 Users (admins only): the console users with their role, state and last
sign-in; add a user (a generated password shown once, or one the admin sets), change a
role, lift a lock-out, reset a password, disable and enable — through
`siyu.accounts.service`, as `siyu users` and ``/admin/v1/users`` do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

from nicegui import run, ui

from siyu.accounts import service as accounts
from siyu.accounts.service import ROLES
from siyu.console import context
from siyu.console.frame import Page, console_page, error_state, still_may
from siyu.exceptions import SiyuError

ROLE_COLOURS: Final = {"admin": "negative", "operator": "primary", "analyst": "accent"}

Action = Callable[[], Any]


def listing() -> list[dict[str, Any]]:
    return accounts.list_users(context.runtime().warehouse)


@console_page("/users", title="users", role="admin")
async def users(page: Page) -> None:
    t = page.texts
    ui.label(t("us_intro")).classes("text-sm text-slate-500")
    # Dialogs live here, not in the table they were opened from: a refresh redraws it.
    holder = ui.element("div")
    with ui.card().classes("w-full p-4 gap-3").mark("user-list"):
        body = ui.column().classes("w-full")

    async def refresh() -> None:
        try:
            rows = await run.io_bound(listing)
        except SiyuError as exc:
            body.clear()
            with body:
                error_state(t, exc)
            return
        body.clear()
        if rows is None:
            return
        with body:
            user_table(page, rows, act)

    async def act(kind: str, row: dict[str, Any]) -> None:
        username = str(row["username"])
        if kind == "role":
            with holder:
                await role_dialog(page, row, refresh)
        elif kind == "password":
            with holder:
                await password_dialog(page, holder, username, refresh)
        elif kind == "unlock":
            await change(page, username, refresh, t("us_unlocked", user=username), unlock=True)
        elif kind == "disable":
            await change(
                page, username, refresh, t("us_disabled_done", user=username), disabled=True
            )
        elif kind == "enable":
            await change(
                page, username, refresh, t("us_enabled_done", user=username), disabled=False
            )

    add_form(page, holder, refresh)
    await refresh()


def user_table(
    page: Page, rows: list[dict[str, Any]], act: Callable[[str, dict[str, Any]], Awaitable[None]]
) -> None:
    t = page.texts
    now = datetime.now(UTC).replace(tzinfo=None)
    counts = {r: sum(u["role"] == r for u in rows) for r in ROLES}
    ui.label(t("us_summary", n=len(rows), **{r: counts[r] for r in ROLES})).classes("font-semibold")
    shown = []
    for u in rows:
        locked = bool(u["locked_until"]) and datetime.fromisoformat(u["locked_until"]) > now
        state = "disabled" if u["disabled"] else ("locked" if locked else "active")
        shown.append(
            {
                "username": u["username"],
                "display_name": u["display_name"],
                "role": u["role"],
                "role_label": t(f"role_{u['role']}"),
                "role_colour": ROLE_COLOURS.get(u["role"], "grey"),
                "state": state,
                "state_label": (
                    t("us_locked_until", at=_local(u["locked_until"]))
                    if state == "locked"
                    else t(f"us_state_{state}")
                ),
                "last_login": _local(u["last_login_at"]) or t("us_never"),
                "created": _local(u["created_at"]),
                "self": u["username"] == page.who.username,
            }
        )
    keys = ("username", "display_name", "role", "state", "last_login", "created")
    cols = [{"name": k, "label": t(f"us_col_{k}"), "field": k, "align": "left"} for k in keys]
    cols.append({"name": "actions", "label": t("us_col_actions"), "field": "username"})
    table = ui.table(columns=cols, rows=shown, row_key="username", pagination=20)
    table.props("flat").classes("w-full").mark("user-table")
    table.add_slot(
        "body-cell-role",
        '<q-td :props="props"><q-badge :color="props.row.role_colour" '
        ':label="props.row.role_label" /></q-td>',
    )
    table.add_slot(
        "body-cell-state",
        '<q-td :props="props"><q-chip dense square '
        ":color=\"{active: 'green-1', locked: 'orange-2', disabled: 'grey-3'}[props.row.state]\" "
        ':label="props.row.state_label" /></q-td>',
    )
    button = (
        '<q-btn flat dense no-caps size="sm" color="{colour}" icon="{icon}" label="{label}" '
        'data-action="{kind}" {extra} '
        "@click=\"() => $parent.$emit('act', ['{kind}', props.row])\" />"
    )
    actions = "".join(
        button.format(
            colour=colour, icon=icon, label=t(f"us_action_{kind}"), kind=kind, extra=extra
        )
        for kind, icon, colour, extra in (
            ("role", "badge", "primary", 'v-if="!props.row.self"'),
            ("password", "key", "primary", ""),
            ("unlock", "lock_open", "warning", "v-if=\"props.row.state === 'locked'\""),
            (
                "disable",
                "block",
                "negative",
                "v-if=\"!props.row.self && props.row.state !== 'disabled'\"",
            ),
            ("enable", "check_circle", "positive", "v-if=\"props.row.state === 'disabled'\""),
        )
    )
    table.add_slot("body-cell-actions", f'<q-td :props="props">{actions}</q-td>')

    async def acted(event: Any) -> None:
        kind, row = event.args
        await act(str(kind), dict(row))

    table.on("act", acted)


def add_form(page: Page, holder: ui.element, refresh: Action) -> None:
    t = page.texts
    new: dict[str, Any] = {
        "username": "",
        "display_name": "",
        "role": "operator",
        "generate": True,
        "password": "",
        "language": page.who.language,
    }
    with ui.card().classes("w-full p-4 gap-3").mark("user-add"):
        ui.label(t("us_add")).classes("font-semibold")
        with ui.row().classes("items-end gap-3 w-full"):
            ui.input(t("username")).bind_value(new, "username").classes("w-48").mark("new-username")
            ui.input(t("us_display_name")).bind_value(new, "display_name").classes("w-48")
            ui.select({r: t(f"role_{r}") for r in ROLES}, label=t("us_role")).bind_value(
                new, "role"
            ).classes("w-40").mark("new-role")
            ui.select({"zh-CN": "中文", "en": "English"}, label=t("us_language")).bind_value(
                new, "language"
            ).classes("w-28")
        with ui.row().classes("items-end gap-3 w-full"):
            ui.radio({True: t("us_generate"), False: t("us_set_password")}, value=True).props(
                "inline"
            ).bind_value(new, "generate").mark("new-password-mode")
            ui.input(t("password"), password=True, password_toggle_button=True).bind_value(
                new, "password"
            ).bind_visibility_from(new, "generate", backward=lambda g: not g).classes("w-56").mark(
                "new-password"
            )
            ui.space()

            async def add() -> None:
                if not await still_may(page.who, "admin"):
                    ui.notify(t("us_not_admin"), type="negative")
                    return
                password = None if new["generate"] else str(new["password"])
                try:
                    made = await run.io_bound(
                        lambda: accounts.add_user(
                            context.runtime().warehouse,
                            str(new["username"]),
                            role=str(new["role"]),
                            password=password,
                            display_name=str(new["display_name"]) or None,
                            language=str(new["language"]),
                            by=page.who.username,
                        )
                    )
                except SiyuError as exc:
                    ui.notify(str(exc), type="negative", multi_line=True)
                    return
                if made is None:
                    return
                user, secret = made
                new.update(username="", display_name="", password="")
                await refresh()
                if password is None:
                    with holder:
                        show_password(page, user["username"], secret)
                else:
                    ui.notify(t("us_added", user=user["username"]), type="positive")

            ui.button(t("us_add_button"), icon="person_add", on_click=add).mark("user-add-button")


def show_password(page: Page, username: str, password: str) -> None:
    """The generated password, this once: it is stored only as an argon2 hash."""
    t = page.texts
    with ui.dialog(value=True) as dialog, ui.card().classes("p-6 gap-3 min-w-96"):
        ui.label(t("us_password_title", user=username)).classes("text-lg font-semibold")
        ui.label(t("us_password_once")).classes("text-sm text-amber-700")
        with ui.row().classes("items-center gap-2"):
            ui.label(password).classes(
                "font-mono text-xl bg-slate-100 px-3 py-1 rounded select-all"
            ).mark("shown-password")
            ui.button(icon="content_copy", on_click=lambda: ui.clipboard.write(password)).props(
                "flat dense"
            ).tooltip(t("us_copy"))
        ui.button(t("us_done"), on_click=dialog.close).props("unelevated").mark("password-done")
    dialog.on("hide", dialog.delete)


async def role_dialog(page: Page, row: dict[str, Any], refresh: Action) -> None:
    t = page.texts
    chosen = {"role": row["role"]}
    with ui.dialog(value=True) as dialog, ui.card().classes("p-6 gap-3 min-w-80"):
        ui.label(t("us_role_title", user=row["username"])).classes("text-lg font-semibold")
        ui.radio({r: t(f"role_{r}_help") for r in ROLES}).bind_value(chosen, "role").mark(
            "role-choice"
        )
        ui.label(t("us_role_note")).classes("text-xs text-slate-500")

        async def save() -> None:
            dialog.close()
            await change(
                page,
                str(row["username"]),
                refresh,
                t("us_role_done", user=row["username"], role=t(f"role_{chosen['role']}")),
                role=chosen["role"],
            )

        with ui.row().classes("w-full justify-end"):
            ui.button(t("us_cancel"), on_click=dialog.close).props("flat")
            ui.button(t("us_save"), on_click=save).props("unelevated").mark("role-save")
    dialog.on("hide", dialog.delete)


async def password_dialog(page: Page, holder: ui.element, username: str, refresh: Action) -> None:
    t = page.texts
    chosen: dict[str, Any] = {"generate": True, "password": ""}
    with ui.dialog(value=True) as dialog, ui.card().classes("p-6 gap-3 min-w-96"):
        ui.label(t("us_reset_title", user=username)).classes("text-lg font-semibold")
        ui.radio({True: t("us_generate"), False: t("us_set_password")}).props("inline").bind_value(
            chosen, "generate"
        )
        ui.input(t("password"), password=True, password_toggle_button=True).bind_value(
            chosen, "password"
        ).bind_visibility_from(chosen, "generate", backward=lambda g: not g).classes("w-full")
        ui.label(t("us_reset_note")).classes("text-xs text-slate-500")

        async def save() -> None:
            if not await still_may(page.who, "admin"):
                ui.notify(t("us_not_admin"), type="negative")
                return
            password = None if chosen["generate"] else str(chosen["password"])
            try:
                done = await run.io_bound(
                    accounts.reset_password, context.runtime().warehouse, username, password
                )
            except SiyuError as exc:
                ui.notify(str(exc), type="negative", multi_line=True)
                return
            dialog.close()
            if done is None:
                return
            await refresh()
            if password is None:
                with holder:
                    show_password(page, username, done[1])
            else:
                ui.notify(t("us_reset_done", user=username), type="positive")

        with ui.row().classes("w-full justify-end"):
            ui.button(t("us_cancel"), on_click=dialog.close).props("flat")
            ui.button(t("us_reset_button"), on_click=save).props("unelevated").mark("password-save")
    dialog.on("hide", dialog.delete)


async def change(page: Page, username: str, refresh: Action, done: str, **changes: Any) -> None:
    """One change through the accounts service, re-checking that the admin still is one."""
    if not await still_may(page.who, "admin"):
        ui.notify(page.texts("us_not_admin"), type="negative")
        return
    try:
        await run.io_bound(
            lambda: accounts.change_user(context.runtime().warehouse, username, **changes)
        )
    except SiyuError as exc:
        ui.notify(str(exc), type="negative", multi_line=True)
        return
    ui.notify(done, type="positive")
    await refresh()


def _local(moment: str | None) -> str:
    """A stored UTC moment in the project's time zone, to the minute."""
    if not moment:
        return ""
    at = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    return at.astimezone(context.runtime().settings.tz).strftime("%Y-%m-%d %H:%M")
