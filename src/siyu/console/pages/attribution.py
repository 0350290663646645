"""渠道归因 Attribution: the `attribution` analysis as a builder (conversion, touch
dimension, models, lookback, days), attributed conversions and revenue per value with
the models side by side, a table with cost, CAC and ROI; and the marketing costs
(营销成本) those come from — operators add and remove entries, analysts read them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from nicegui import run, ui

from siyu.analytics import service
from siyu.console import context
from siyu.console.charts import bars
from siyu.console.frame import Page, console_page, error_state, still_may
from siyu.exceptions import SiyuError

MODELS: Final = ("first", "last", "linear", "time_decay", "position")
TOUCHES: Final = ("channel", "campaign", "scene", "content")
LOOKBACKS: Final = ("1d", "7d", "14d", "30d", "60d")
#: Values charted; the table lists up to `TOP` before "(other)".
CHARTED: Final = 12
TOP: Final = 30


def choices() -> dict[str, Any]:
    """What the form offers: conversion events, and the channel codes and campaigns a
    cost can be entered for (with their names)."""
    cursor = context.runtime().warehouse.cursor()
    events = [str(r[0]) for r in cursor.execute("SELECT DISTINCT event FROM events").fetchall()]
    channels = cursor.execute("SELECT code, name, campaign FROM channels ORDER BY code").fetchall()
    return {
        "events": sorted(events),
        "channel": {str(r[0]): f"{r[0]} · {r[1]}" for r in channels},
        "campaign": {str(c): str(c) for c in sorted({r[2] for r in channels if r[2]})},
    }


@console_page("/attribution", title="attribution")
async def attribution(page: Page) -> None:
    t = page.texts
    known = await run.io_bound(choices)
    if known is None:
        return
    today = await run.io_bound(service.today_of, context.runtime())
    if today is None:
        return
    form: dict[str, Any] = {
        "conversion": "orders",
        "touch": "channel",
        "models": ["first", "last", "linear"],
        "lookback": "30d",
        "from": (today - timedelta(days=29)).isoformat(),
        "to": today.isoformat(),
    }
    with ui.card().classes("w-full p-4"), ui.row().classes("items-end gap-3 w-full"):
        ui.select(
            {"orders": t("at_orders"), **{e: e for e in known["events"]}},
            label=t("at_conversion"),
            with_input=True,
        ).bind_value(form, "conversion").classes("w-48").mark("attribution-conversion")
        ui.select({k: t(f"at_touch_{k}") for k in TOUCHES}, label=t("at_touch")).bind_value(
            form, "touch"
        ).classes("w-36").mark("attribution-touch")
        ui.select(
            {m: t(f"at_model_{m}") for m in MODELS}, label=t("at_models"), multiple=True
        ).props("use-chips").bind_value(form, "models").classes("min-w-72").mark(
            "attribution-models"
        )
        ui.select(
            {w: t("at_lookback_n", w=w) for w in LOOKBACKS}, label=t("at_lookback")
        ).bind_value(form, "lookback").classes("w-32")
        ui.input(t("date_from")).props("type=date stack-label").bind_value(form, "from").classes(
            "w-40"
        )
        ui.input(t("date_to")).props("type=date stack-label").bind_value(form, "to").classes("w-40")
        ui.space()
        go = ui.button(t("run"), icon="play_arrow").mark("attribution-run")
    out = ui.column().classes("w-full gap-4")

    async def show() -> None:
        body = {k: v for k, v in form.items() if v not in (None, "", [])}
        body["top"] = TOP
        out.clear()
        with out:
            ui.spinner(size="lg")
        try:
            result = await run.io_bound(service.run, context.runtime(), "attribution", body)
        except SiyuError as exc:
            out.clear()
            with out:
                error_state(t, exc)
            return
        out.clear()
        if result is None:
            return
        with out:
            if not result["totals"]["conversions"]:
                with ui.card().classes("w-full items-center p-8").mark("empty-state"):
                    ui.icon("alt_route").classes("text-5xl text-slate-400")
                    ui.label(t("at_empty")).classes("text-xl")
                    ui.label(t("at_empty_text")).classes("text-slate-500 max-w-2xl text-center")
            else:
                draw(page, result)

    go.on_click(show)
    await show()
    await costs_card(page, known, form["from"], today.isoformat(), show)


def draw(page: Page, result: dict[str, Any]) -> None:
    t, f = page.texts, page.formats
    totals = result["totals"]
    models = result["models"]
    direct = next((r for r in result["rows"] if r["value"] == "(direct)"), None)
    cards = (
        ("at_conversions", f.number(totals["conversions"])),
        ("at_revenue", f.money(totals["revenue_fen"])),
        ("at_first_conversions", f.number(totals["first_conversions"])),
        ("at_direct_share", f.share((totals["direct"] or 0) / totals["conversions"])),
        ("at_cost", f.money(totals["cost_fen"])),
        ("at_roi", f.share(totals["roi"])),
    )
    with ui.grid(columns=6).classes("w-full gap-4"):
        for key, value in cards:
            with ui.card().classes("p-4 gap-1").mark(f"kpi-{key}"):
                ui.label(t(key)).classes("text-slate-500 text-sm")
                ui.label(value).classes("text-2xl font-semibold")
    if totals["cost_fen"] is None:
        ui.label(t("at_no_costs")).classes("text-sm text-slate-500")
    rows = [r for r in result["rows"] if r is not direct][:CHARTED]
    names = [_name(page, r) for r in rows]
    with ui.grid(columns=2).classes("w-full gap-4"):
        with ui.card().classes("w-full p-4").mark("attribution-conversions"):
            ui.label(t("at_conversions_by")).classes("font-semibold")
            ui.echart(
                _reversed(
                    bars(
                        names,
                        {
                            t(f"at_model_{m}"): [
                                round(r["models"][m]["conversions"], 1) for r in rows
                            ]
                            for m in models
                        },
                        horizontal=True,
                    )
                )
            ).classes("w-full").style(f"height: {120 + 34 * len(rows)}px")
        with ui.card().classes("w-full p-4").mark("attribution-revenue"):
            ui.label(t("at_revenue_by")).classes("font-semibold")
            ui.echart(
                _reversed(
                    bars(
                        names,
                        {
                            t(f"at_model_{m}"): [
                                round(r["models"][m]["revenue_fen"] / 100) for r in rows
                            ]
                            for m in models
                        },
                        horizontal=True,
                    )
                )
            ).classes("w-full").style(f"height: {120 + 34 * len(rows)}px")
    if direct is not None:
        ui.label(
            t("at_direct_note", n=f.number(direct["models"][models[0]]["conversions"]))
        ).classes("text-sm text-slate-500")
    with ui.card().classes("w-full p-4").mark("attribution-table"):
        with ui.row().classes("w-full items-center"):
            ui.label(t("at_table")).classes("font-semibold")
            ui.space()
            chosen = ui.toggle({m: t(f"at_model_{m}") for m in models}, value=models[0])

        @ui.refreshable
        def table() -> None:
            value_table(page, result, str(chosen.value))

        chosen.on_value_change(table.refresh)
        table()


def value_table(page: Page, result: dict[str, Any], model: str) -> None:
    t, f = page.texts, page.formats
    rows = []
    for r in result["rows"]:
        m = r["models"][model]
        rows.append(
            {
                "value": r["value"],
                "label": _name(page, r),
                "touched": f.number(r["touched"]),
                "conversions": f.number(round(m["conversions"], 1)),
                "first_conversions": f.number(round(m["first_conversions"], 1)),
                "revenue": f.money(m["revenue_fen"]),
                "cost": f.money(r["cost_fen"]),
                "cost_per_conversion": f.money(m["cost_per_conversion_fen"]),
                "cac": f.money(m["cac_fen"]),
                "roi": f.share(m["roi"]),
                "roi_class": _roi_class(m["roi"]),
            }
        )
    keys = (
        "value",
        "label",
        "touched",
        "conversions",
        "first_conversions",
        "revenue",
        "cost",
        "cost_per_conversion",
        "cac",
        "roi",
    )
    cols = [
        {
            "name": k,
            "label": t(f"at_col_{k}"),
            "field": k,
            "align": "left" if k in ("value", "label") else "right",
        }
        for k in keys
    ]
    table = ui.table(columns=cols, rows=rows, row_key="value", pagination=15)
    table.props("dense flat").classes("w-full")
    table.add_slot(
        "body-cell-roi",
        '<q-td :props="props" :class="props.row.roi_class">{{ props.value }}</q-td>',
    )


async def costs_card(
    page: Page, known: dict[str, Any], first_day: str, today: str, rerun: Any
) -> None:
    """The marketing costs entered; operators add and remove entries here."""
    t, f = page.texts, page.formats
    may_change = page.who.may("operator")
    with ui.card().classes("w-full p-4 gap-3").mark("costs"):
        ui.label(t("at_costs")).classes("font-semibold")
        ui.label(t("at_costs_help")).classes("text-xs text-slate-400")
        listing = ui.column().classes("w-full")

        async def refresh() -> None:
            try:
                answer = await run.io_bound(service.run, context.runtime(), "costs.list", {})
            except SiyuError as exc:
                listing.clear()
                with listing:
                    error_state(t, exc)
                return
            listing.clear()
            if answer is None:
                return
            with listing:
                cost_table(page, answer, remove if may_change else None)

        async def remove(cost_id: str) -> None:
            if not await still_may(page.who, "operator"):
                ui.notify(t("at_not_allowed"), type="negative")
                return
            try:
                await run.io_bound(
                    lambda: service.run(
                        context.runtime(),
                        "costs.remove",
                        {"cost_id": cost_id},
                        actor=page.who.username,
                    )
                )
            except SiyuError as exc:
                ui.notify(str(exc), type="negative", multi_line=True)
                return
            ui.notify(t("at_cost_removed"), type="positive")
            await refresh()
            await rerun()

        if may_change:
            entry: dict[str, Any] = {
                "dimension": "channel",
                "key": None,
                "from": first_day,
                "to": today,
                "cost_yuan": None,
                "note": "",
            }
            with ui.row().classes("items-end gap-3 w-full").mark("cost-form"):
                dimension = (
                    ui.select(
                        {"channel": t("at_touch_channel"), "campaign": t("at_touch_campaign")},
                        label=t("at_cost_dimension"),
                    )
                    .bind_value(entry, "dimension")
                    .classes("w-32")
                )
                key = (
                    ui.select(
                        known["channel"],
                        label=t("at_cost_key"),
                        with_input=True,
                        new_value_mode="add-unique",
                    )
                    .bind_value(entry, "key")
                    .classes("w-64")
                    .mark("cost-key")
                )

                def dimension_changed() -> None:
                    key.set_options(known[str(dimension.value)])
                    entry["key"] = None

                dimension.on_value_change(dimension_changed)
                ui.input(t("date_from")).props("type=date stack-label").bind_value(
                    entry, "from"
                ).classes("w-40")
                ui.input(t("date_to")).props("type=date stack-label").bind_value(
                    entry, "to"
                ).classes("w-40")
                ui.number(t("at_cost_yuan"), min=0, step=100, format="%.2f").bind_value(
                    entry, "cost_yuan"
                ).classes("w-36").mark("cost-yuan")
                ui.input(t("at_cost_note")).bind_value(entry, "note").classes("w-48")

                async def add() -> None:
                    if not await still_may(page.who, "operator"):
                        ui.notify(t("at_not_allowed"), type="negative")
                        return
                    if not entry["key"] or entry["cost_yuan"] is None:
                        ui.notify(t("at_cost_incomplete"), type="warning")
                        return
                    body = {**entry, "cost_yuan": f"{float(entry['cost_yuan']):.2f}"}
                    try:
                        saved = await run.io_bound(
                            lambda: service.run(
                                context.runtime(), "costs.add", body, actor=page.who.username
                            )
                        )
                    except SiyuError as exc:
                        ui.notify(str(exc), type="negative", multi_line=True)
                        return
                    if saved is None:
                        return
                    ui.notify(
                        t("at_cost_added", key=saved["key"], money=f.money(saved["cost_fen"])),
                        type="positive",
                    )
                    if saved.get("warning"):
                        ui.notify(saved["warning"], type="warning", multi_line=True)
                    await refresh()
                    await rerun()

                ui.button(t("at_cost_add"), icon="add", on_click=add).mark("cost-add")
        else:
            ui.label(t("at_costs_read_only")).classes("text-sm text-slate-500").mark(
                "costs-read-only"
            )
    await refresh()


def cost_table(page: Page, answer: dict[str, Any], remove: Any) -> None:
    t, f = page.texts, page.formats
    costs = answer["costs"]
    if not costs:
        ui.label(t("at_costs_none")).classes("text-slate-500").mark("costs-none")
        return
    rows = [
        {
            "cost_id": c["cost_id"],
            "dimension": t(f"at_touch_{c['dimension']}"),
            "key": c["key"],
            "span": f"{c['from']} – {c['to']}",
            "amount": f.money(c["cost_fen"]),
            "note": c.get("note") or "",
            "entered": f"{c.get('entered_by') or ''} · {str(c.get('entered_at') or '')[:16]}",
        }
        for c in costs
    ]
    keys = ["dimension", "key", "span", "amount", "note", "entered"]
    cols = [{"name": k, "label": t(f"at_cost_col_{k}"), "field": k, "align": "left"} for k in keys]
    if remove is not None:
        cols.append({"name": "actions", "label": "", "field": "cost_id", "align": "right"})
    table = ui.table(columns=cols, rows=rows, row_key="cost_id", pagination=10)
    table.props("dense flat").classes("w-full").mark("cost-table")
    if remove is not None:
        table.add_slot(
            "body-cell-actions",
            '<q-td :props="props"><q-btn flat dense size="sm" color="negative" icon="delete" '
            f'label="{t("at_cost_remove")}" '
            "@click=\"() => $parent.$emit('remove', props.row)\" /></q-td>",
        )

        async def removed(event: Any) -> None:
            await remove(str(event.args["cost_id"]))

        table.on("remove", removed)
    ui.label(t("at_costs_total", money=f.money(answer["total_fen"]))).classes(
        "text-sm text-slate-500"
    )


def _name(page: Page, row: dict[str, Any]) -> str:
    """What a person calls the value: the channel's name, "referral posters" for the one
    value all personal posters share, else the value itself."""
    value = str(row["value"])
    if value.endswith(":*"):
        return page.texts("at_referral_codes", prefix=value)
    return str(row.get("label") or value)


def _reversed(options: dict[str, Any]) -> dict[str, Any]:
    """Horizontal bars read top-down: the largest value first."""
    options["yAxis"]["inverse"] = True
    options["grid"]["left"] = 150
    return options


def _roi_class(roi: float | None) -> str:
    if roi is None:
        return "text-slate-400"
    return "text-green-700 font-semibold" if roi >= 0 else "text-red-600"
