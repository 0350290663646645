"""分群 Segments: the list with sizes and trends, a visual rule builder with a live size
estimate, the overlap of segments, and CSV export (personal data masked unless admin)."""

from __future__ import annotations

import io
import re
from typing import Any

from nicegui import run, ui

from siyu.console import context
from siyu.console.builder import (
    KINDS,
    LAYERS,
    PROPERTY_OPS,
    BuilderError,
    Condition,
    Group,
    to_rule,
)
from siyu.console.frame import Page, console_page, error_state
from siyu.exceptions import SiyuError
from siyu.segments import export, service

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _list() -> dict[str, Any]:
    runtime = context.runtime()
    return {
        "segments": service.list_all(runtime),
        "events": sorted(service.known_events(runtime)),
    }


def _history(key: str) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = service.show(context.runtime(), key)["history"]
    return history


@console_page("/segments", title="segments")
async def segments(page: Page) -> None:
    t = page.texts
    data = await run.io_bound(_list)
    if data is None:
        return
    with ui.tabs().classes("w-full") as tabs:
        listing = ui.tab(t("segment_list"))
        building = ui.tab(t("segment_builder"))
        overlapping = ui.tab(t("segment_overlap"))
    with ui.tab_panels(tabs, value=listing).classes("w-full"):
        with ui.tab_panel(listing):
            await segment_list(page, data["segments"])
        with ui.tab_panel(building):
            builder(page, data["events"], [s["key"] for s in data["segments"]])
        with ui.tab_panel(overlapping):
            overlap(page, [s["key"] for s in data["segments"]])


async def segment_list(page: Page, rows: list[dict[str, Any]]) -> None:
    t, f = page.texts, page.formats
    columns: list[dict[str, Any]] = [
        {"name": "key", "label": "key", "field": "key", "align": "left", "sortable": True},
        {"name": "name", "label": t("segment_name"), "field": "name", "align": "left"},
        {"name": "size", "label": t("size"), "field": "size", "sortable": True},
        {"name": "entered", "label": t("entered"), "field": "entered"},
        {"name": "exited", "label": t("exited"), "field": "exited"},
        {"name": "computed_at", "label": t("computed_at"), "field": "computed_at"},
    ]
    shown = [
        {**r, "size": f.number(r["size"]), "computed_at": (r["computed_at"] or "—")[:16]}
        for r in rows
    ]
    table = ui.table(columns=columns, rows=shown, row_key="key", selection="single")
    table.classes("w-full").mark("segment-table")
    detail = ui.column().classes("w-full")

    async def chosen() -> None:
        detail.clear()
        if not table.selected:
            return
        key = table.selected[0]["key"]
        history = await run.io_bound(_history, key)
        with detail, ui.card().classes("w-full p-4"):
            ui.label(f"{key} · {t('size_trend')}").classes("font-semibold")
            ui.echart(
                {
                    "animation": False,
                    "tooltip": {"trigger": "axis"},
                    "xAxis": {
                        "type": "category",
                        "data": [h["computed_at"][:10] for h in history or []],
                    },
                    "yAxis": {"type": "value"},
                    "series": [
                        {
                            "type": "line",
                            "data": [h["size"] for h in history or []],
                            "areaStyle": {"opacity": 0.1},
                        }
                    ],
                    "color": ["#07c160"],
                }
            ).classes("w-full h-56")
            ui.button(t("export_csv"), icon="download", on_click=lambda: download(page, key)).mark(
                "segment-export"
            )

    table.on_select(chosen)


async def download(page: Page, key: str) -> None:
    def make() -> str:
        out = io.StringIO()
        for line in export.export_segment(
            context.runtime(),
            key,
            columns=None,
            reveal=page.who.reveals_pii,
            actor=page.who.username,
        ):
            out.write(line)
        return out.getvalue()

    try:
        text = await run.io_bound(make)
    except SiyuError as exc:
        ui.notify(str(exc), type="negative")
        return
    if text is not None:
        ui.download.content(text.encode("utf-8-sig"), f"{key}.csv", "text/csv")


def builder(page: Page, events: list[str], segment_keys: list[str]) -> None:
    """The visual rule builder: nested groups, rows, a live estimate, save."""
    t, f = page.texts, page.formats
    root = Group(
        "all",
        items=[Condition("event", event="view_item" if "view_item" in events else "", days=30)],
    )
    state: dict[str, Any] = {"dirty": True, "busy": False}
    estimate_label = ui.label(t("estimate_pending")).classes("text-lg").mark("segment-estimate")

    def changed() -> None:
        state["dirty"] = True

    def redraw() -> None:
        changed()
        tree.refresh()

    def layer_changed(c: Condition) -> None:
        c.value = ""
        redraw()

    @ui.refreshable
    def tree() -> None:
        draw_group(root, None, 0)

    def draw_group(group: Group, parent: Group | None, depth: int) -> None:
        with (
            ui.card()
            .classes("w-full p-3 gap-2 " + ("bg-slate-50" if depth % 2 else ""))
            .mark(f"group-{depth}")
        ):
            with ui.row().classes("items-center gap-2"):
                ui.toggle(
                    {"all": t("match_all"), "any": t("match_any")}, value=group.match
                ).bind_value(group, "match").on_value_change(changed).mark("group-match")
                ui.checkbox(t("negate"), value=group.negate).bind_value(
                    group, "negate"
                ).on_value_change(changed).mark("group-negate")
                ui.space()
                ui.button(
                    t("add_condition"), icon="add", on_click=lambda: add(group, Condition(days=30))
                ).props("flat dense no-caps").mark("add-condition")
                ui.button(
                    t("add_group"),
                    icon="account_tree",
                    on_click=lambda: add(group, Group("any", items=[Condition(days=30)])),
                ).props("flat dense no-caps").mark("add-group")
                if parent is not None:
                    ui.button(icon="delete", on_click=lambda: remove(parent, group)).props(
                        "flat dense color=negative"
                    )
            for item in group.items:
                if isinstance(item, Group):
                    draw_group(item, group, depth + 1)
                else:
                    draw_row(item, group)

    def draw_row(c: Condition, group: Group) -> None:
        with ui.row().classes("w-full items-center gap-2 flex-nowrap").mark("condition"):
            ui.select({k: t(f"kind_{k}") for k in KINDS}, value=c.kind).bind_value(
                c, "kind"
            ).on_value_change(redraw).classes("w-36").mark("condition-kind")
            if c.kind in ("event", "no_event", "last_event"):
                ui.select(
                    events, value=c.event or None, with_input=True, label=t("event")
                ).bind_value(c, "event").on_value_change(changed).classes("w-48").mark(
                    "condition-event"
                )
                label = t("more_than_days_ago") if c.kind == "last_event" else t("in_last_days")
                ui.number(label, value=c.days, min=1, max=3650, precision=0).bind_value(
                    c, "days", forward=lambda v: int(v) if v else None
                ).on_value_change(changed).classes("w-32")
                if c.kind == "event":
                    ui.number(t("at_least_times"), value=c.times, min=1, precision=0).bind_value(
                        c, "times", forward=lambda v: int(v or 1)
                    ).on_value_change(changed).classes("w-28")
                    ui.input(t("where_property")).bind_value(c, "prop").on_value_change(
                        changed
                    ).classes("w-32")
                    ui.select(list(PROPERTY_OPS), value=c.op).bind_value(c, "op").on_value_change(
                        changed
                    ).classes("w-40")
                    ui.input(t("value")).bind_value(c, "value").on_value_change(changed).classes(
                        "w-32"
                    )
            elif c.kind == "property":
                ui.input(t("property")).bind_value(c, "prop").on_value_change(changed).classes(
                    "w-44"
                ).mark("condition-property")
                ui.select(list(PROPERTY_OPS), value=c.op).bind_value(c, "op").on_value_change(
                    changed
                ).classes("w-40").mark("condition-op")
                ui.input(t("value")).bind_value(c, "value").on_value_change(changed).classes(
                    "w-44"
                ).mark("condition-value")
            elif c.kind == "spend":
                ui.number(
                    t("at_least_yuan"), value=float(c.value) if c.value else None, min=0
                ).bind_value(
                    c, "value", forward=lambda v: "" if v is None else str(v)
                ).on_value_change(changed).classes("w-40").mark("condition-spend")
                ui.number(t("in_last_days"), value=c.days, min=1, precision=0).bind_value(
                    c, "days", forward=lambda v: int(v) if v else None
                ).on_value_change(changed).classes("w-32")
            elif c.kind == "layer":
                ui.select(list(LAYERS), value=c.layer).bind_value(c, "layer").on_value_change(
                    lambda c=c: layer_changed(c)
                ).classes("w-36").mark("condition-layer")
                fixed = LAYERS.get(c.layer) or ()
                options = list(fixed) if fixed else (segment_keys if c.layer == "segment" else None)
                if options:
                    ui.select(options, value=c.value or None, with_input=True).bind_value(
                        c, "value"
                    ).on_value_change(changed).classes("w-48").mark("condition-layer-value")
                else:
                    ui.input(t("value")).bind_value(c, "value").on_value_change(changed).classes(
                        "w-48"
                    ).mark("condition-layer-value")
            ui.space()
            ui.button(icon="close", on_click=lambda: remove(group, c)).props("flat dense round")

    def add(group: Group, item: Condition | Group) -> None:
        group.items.append(item)
        changed()
        tree.refresh()

    def remove(group: Group, item: Condition | Group) -> None:
        group.items.remove(item)
        changed()
        tree.refresh()

    tree()

    async def estimate() -> None:
        if not state["dirty"] or state["busy"]:
            return
        state["dirty"], state["busy"] = False, True
        try:
            await show_estimate()
        finally:
            state["busy"] = False

    async def show_estimate() -> None:
        try:
            rule = to_rule(root)
        except BuilderError as exc:
            estimate_label.set_text(f"{t('unfinished')}: {exc}")
            return
        estimate_label.set_text(t("estimating"))
        try:
            found = await run.io_bound(service.estimate, context.runtime(), {"rule": rule})
        except SiyuError as exc:
            estimate_label.set_text(str(exc))
            return
        if found is not None:
            estimate_label.set_text(
                t("estimate_result", size=f.number(found["size"]), share=f.share(found["share"]))
            )

    ui.timer(1.0, estimate)
    if page.who.may("operator"):
        with ui.row().classes("items-end gap-2"):
            key = ui.input("key", placeholder="cart-no-order").classes("w-48").mark("segment-key")
            name = ui.input(t("segment_name")).classes("w-64").mark("segment-name")

            async def save() -> None:
                if not _KEY.match(key.value or ""):
                    ui.notify(t("bad_key"), type="negative")
                    return
                try:
                    rule = to_rule(root)
                    definition = {"key": key.value, "name": name.value or key.value, "rule": rule}
                    await run.io_bound(
                        service.save, context.runtime(), definition, page.who.username
                    )
                except (BuilderError, SiyuError) as exc:
                    ui.notify(str(exc), type="negative", multi_line=True)
                    return
                ui.notify(t("saved", key=str(key.value)), type="positive")

            ui.button(t("save"), icon="save", on_click=save).mark("segment-save")


def overlap(page: Page, keys: list[str]) -> None:
    t = page.texts
    chooser = (
        ui.select(keys, multiple=True, label=t("choose_segments"), value=keys[:4])
        .classes("w-[36rem]")
        .props("use-chips")
        .mark("overlap-select")
    )
    chart = ui.column().classes("w-full")

    async def draw() -> None:
        chart.clear()
        chosen = list(chooser.value or [])
        if len(chosen) < 2:
            return
        try:
            found = await run.io_bound(service.overlap, context.runtime(), chosen)
        except SiyuError as exc:
            with chart:
                error_state(t, exc)
            return
        if found is None:
            return
        names = [n.removeprefix("segment:") for n in found["sets"]]
        index = {n: i for i, n in enumerate(found["sets"])}
        cells = [[index[p["set_b"]], index[p["set_a"]], p["persons"]] for p in found["pairs"]]
        with chart:
            ui.echart(
                {
                    "animation": False,
                    "tooltip": {},
                    "grid": {"left": 140, "bottom": 80},
                    "xAxis": {"type": "category", "data": names, "axisLabel": {"rotate": 30}},
                    "yAxis": {"type": "category", "data": names},
                    "visualMap": {
                        "min": 0,
                        "max": max([c[2] for c in cells] or [1]),
                        "calculable": True,
                        "orient": "horizontal",
                        "left": "center",
                        "bottom": 0,
                        "inRange": {"color": ["#f0fdf4", "#07c160"]},
                    },
                    "series": [{"type": "heatmap", "data": cells, "label": {"show": True}}],
                }
            ).classes("w-full h-96").mark("overlap-chart")

    chooser.on_value_change(draw)
    ui.timer(0.1, draw, once=True)
