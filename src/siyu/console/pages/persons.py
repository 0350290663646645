"""用户 Persons: find a person by any identifier; profile, tags and layers, identity graph
and timeline. Phone numbers and emails stay masked unless the user is an admin."""

from __future__ import annotations

import re
from typing import Any

import orjson
from nicegui import run, ui

from siyu.console import context
from siyu.console.frame import Page, console_page, error_state
from siyu.exceptions import SiyuError
from siyu.identity import service
from siyu.storage.segment_store import person_sets

_PHONE = re.compile(r"^\+?\d[\d -]{6,}$")


def reference(text: str) -> str:
    """What the operator typed as an identity reference: ``type:value`` as is, a bare
    phone number or email with its type added.

    Example:
        >>> reference("138 0013 8000"), reference("a@b.cn"), reference("member_id:M1")
        ('phone:138 0013 8000', 'email:a@b.cn', 'member_id:M1')
    """
    text = text.strip()
    if ":" in text or (text.startswith("p") and len(text) == 21):
        return text
    if "@" in text:
        return f"email:{text}"
    if _PHONE.match(text):
        return f"phone:{text}"
    return text


def load(ref: str, reveal: bool) -> dict[str, Any]:
    runtime = context.runtime()
    person = service.person_action(runtime, "show", reference(ref), reveal=reveal)
    person["sets"] = person_sets(runtime.warehouse.cursor(), person["person_id"]).to_pylist()
    return person


@console_page("/persons", title="persons")
async def persons(page: Page) -> None:
    t = page.texts
    with ui.row().classes("w-full items-end gap-2"):
        box = (
            ui.input(t("search_person"), placeholder=t("search_hint"))
            .props("outlined clearable")
            .classes("w-[32rem]")
            .mark("person-search")
        )
        button = ui.button(t("search"), icon="search").mark("person-search-button")
    found = ui.column().classes("w-full gap-4")

    async def search() -> None:
        found.clear()
        if not box.value or not str(box.value).strip():
            return
        with found:
            spinner = ui.spinner(size="lg")
        try:
            person = await run.io_bound(load, str(box.value), page.who.reveals_pii)
        except SiyuError as exc:
            found.clear()
            with found, ui.card().classes("w-full p-4").mark("person-not-found"):
                ui.label(t("not_found")).classes("text-lg")
                ui.label(str(exc)).classes("text-slate-500")
            return
        except Exception as exc:
            found.clear()
            with found:
                error_state(t, exc)
            return
        spinner.delete()
        if person is None:  # the server is shutting down
            return
        with found:
            show(page, person)

    button.on_click(search)
    box.on("keydown.enter", search)


def show(page: Page, person: dict[str, Any]) -> None:
    t, f = page.texts, page.formats
    profile = person.get("profile") or {}
    with ui.grid(columns=3).classes("w-full gap-4"):
        with ui.card().classes("p-4 col-span-1").mark("person-profile"):
            ui.label(t("profile")).classes("font-semibold")
            facts = {
                "person_id": person["person_id"],
                "first_seen": person.get("first_seen"),
                "last_seen": person.get("last_seen"),
                "events": f.number(person.get("events")),
                "first_channel": profile.get("first_channel"),
                "latest_channel": profile.get("latest_channel"),
                "carriers": ", ".join(profile.get("carriers") or []),
                "follows_oa": profile.get("follows_oa"),
                "wecom_contact": profile.get("wecom_contact"),
            }
            for key, value in facts.items():
                with ui.row().classes("w-full justify-between text-sm"):
                    ui.label(key).classes("text-slate-500")
                    ui.label("—" if value in (None, "") else str(value))
            props = profile.get("properties") or {}
            if props:
                ui.code(orjson.dumps(props, option=orjson.OPT_INDENT_2).decode(), language="json")
        with ui.card().classes("p-4 col-span-2").mark("person-identities"):
            ui.label(t("identities")).classes("font-semibold")
            ui.echart(graph(person)).classes("w-full h-72")
            with ui.row().classes("gap-2 flex-wrap"):
                for ident in person["identities"]:
                    ui.chip(f"{ident['identity_type']}: {ident['identity_value']}").props(
                        "outline color=secondary"
                    )
    with ui.card().classes("w-full p-4").mark("person-sets"):
        ui.label(t("sets")).classes("font-semibold")
        with ui.row().classes("gap-2 flex-wrap"):
            for row in person["sets"]:
                ui.chip(row["set_key"]).props("color=primary text-color=white")
    with ui.card().classes("w-full p-4").mark("person-timeline"):
        ui.label(t("timeline")).classes("font-semibold")
        rows = [
            {
                "time": str(e["event_time"])[:19],
                "event": e["event"],
                "carrier": e["carrier"],
                "properties": str(e["properties"])[:160],
            }
            for e in person["timeline"]
        ]
        columns = (
            [{"name": k, "label": k, "field": k, "align": "left"} for k in rows[0]] if rows else []
        )
        ui.table(columns=columns, rows=rows, pagination=15).classes("w-full")


def graph(person: dict[str, Any]) -> dict[str, Any]:
    """The identity graph as an ECharts force graph: identities and the links seen."""
    nodes: dict[str, dict[str, Any]] = {}
    for ident in person["identities"]:
        key = f"{ident['identity_type']}:{ident['identity_value']}"
        nodes[key] = {
            "name": key,
            "symbolSize": 18,
            "category": ident["identity_type"].split(":")[0],
        }
    links = []
    for link in person["links"]:
        a = f"{link['a_type']}:{link['a_value']}"
        b = f"{link['b_type']}:{link['b_value']}"
        for key, kind in ((a, link["a_type"]), (b, link["b_type"])):
            nodes.setdefault(key, {"name": key, "symbolSize": 12, "category": kind.split(":")[0]})
        links.append({"source": a, "target": b, "value": link["times"]})
    categories = sorted({n["category"] for n in nodes.values()})
    return {
        "animation": False,
        "tooltip": {},
        "legend": {"data": categories, "top": 0},
        "series": [
            {
                "type": "graph",
                "layout": "force",
                "roam": True,
                "label": {"show": True, "fontSize": 10},
                "force": {"repulsion": 220, "edgeLength": 90},
                "categories": [{"name": c} for c in categories],
                "data": list(nodes.values()),
                "links": links,
            }
        ],
    }
