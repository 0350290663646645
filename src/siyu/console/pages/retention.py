"""留存 Retention: a builder (cohort kind, start and return events, period, breakdown),
the cohort heat map, the average curve and the seed-003 channel contribution."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from siyu.analytics import service
from siyu.console import context
from siyu.console.charts import line
from siyu.console.frame import Page, console_page, error_state
from siyu.exceptions import SiyuError
from siyu.segments.service import known_events

BREAKDOWNS = ("", "channel", "carrier", "lifecycle", "rfm", "value_tier")


@console_page("/retention", title="retention")
async def retention(page: Page) -> None:
    t = page.texts
    events = await run.io_bound(lambda: sorted(known_events(context.runtime())))
    if events is None:
        return
    form: dict[str, Any] = {
        "cohort": "first_seen",
        "start_event": None,
        "return_event": None,
        "period": "day",
        "periods": 14,
        "by": "carrier",
    }
    with ui.card().classes("w-full p-4"), ui.row().classes("items-end gap-3"):
        ui.select(
            {
                "first_seen": t("cohort_first_seen"),
                "first": t("cohort_first"),
                "any": t("cohort_any"),
            },
            label=t("cohort"),
        ).bind_value(form, "cohort").classes("w-40").mark("retention-cohort")
        ui.select(events, label=t("start_event"), with_input=True, clearable=True).bind_value(
            form, "start_event"
        ).classes("w-48").mark("retention-start")
        ui.select(events, label=t("return_event"), with_input=True, clearable=True).bind_value(
            form, "return_event"
        ).classes("w-48").mark("retention-return")
        ui.select(
            {"day": t("period_day"), "week": t("period_week"), "month": t("period_month")},
            label=t("period"),
        ).bind_value(form, "period").classes("w-28").mark("retention-period")
        ui.number(t("periods"), min=1, max=120, precision=0).bind_value(
            form, "periods", forward=lambda v: int(v or 1)
        ).classes("w-24").mark("retention-periods")
        ui.select(
            {b: (t(f"by_{b}") if b else t("no_breakdown")) for b in BREAKDOWNS},
            label=t("breakdown"),
        ).bind_value(form, "by").classes("w-36").mark("retention-by")
        go = ui.button(t("run"), icon="play_arrow").mark("retention-run")
    out = ui.column().classes("w-full gap-4")

    async def show() -> None:
        body = {k: v for k, v in form.items() if v not in (None, "")}
        if body.get("cohort") == "first_seen":
            body.pop("start_event", None)
        out.clear()
        with out:
            ui.spinner(size="lg")
        try:
            result = await run.io_bound(service.run, context.runtime(), "retention", body)
        except SiyuError as exc:
            out.clear()
            with out:
                error_state(t, exc)
            return
        out.clear()
        if result is not None:
            with out:
                draw(page, result)

    go.on_click(show)
    await show()


def draw(page: Page, result: dict[str, Any]) -> None:
    t, f = page.texts, page.formats
    columns = result["columns"]
    cohorts = result["cohorts"]
    cells = [
        [j, i, None if rate is None else round(rate * 100, 1)]
        for i, row in enumerate(cohorts)
        for j, rate in enumerate(row["rates"])
    ]
    with ui.card().classes("w-full p-4").mark("retention-heatmap"):
        ui.label(t("cohort_heatmap")).classes("font-semibold")
        ui.label(
            t(
                "heatmap_caption",
                period=t(f"period_{result['period']}"),
                periods=result["periods"],
                cohorts=len(cohorts),
                persons=f.number(result["average"]["size"]),
            )
        ).classes("text-sm text-slate-500").mark("heatmap-caption")
        labels = [f"{f.day(c['cohort'])} ({f.number(c['size'])})" for c in cohorts]
        ui.echart(
            {
                "animation": False,
                "tooltip": {"position": "top"},
                "grid": {"left": 120, "right": 16, "top": 16, "bottom": 70},
                "xAxis": {"type": "category", "data": columns, "splitArea": {"show": True}},
                "yAxis": {"type": "category", "data": labels, "inverse": True},
                "visualMap": {
                    "min": 0,
                    "max": 100,
                    "calculable": True,
                    "orient": "horizontal",
                    "left": "center",
                    "bottom": 0,
                    "inRange": {"color": ["#f0fdf4", "#07c160", "#065f46"]},
                },
                "series": [
                    {
                        "type": "heatmap",
                        "data": cells,
                        "label": {"show": len(columns) <= 16, "formatter": "{@[2]}%"},
                    }
                ],
            }
        ).classes("w-full").style(f"height: {max(240, 26 * len(cohorts) + 100)}px")
    curves = {t("average"): result["average"]["rates"]}
    for part in result.get("breakdowns", [])[:6]:
        curves[str(part["value"])] = part["rates"]
    with ui.card().classes("w-full p-4").mark("retention-curve"):
        ui.label(t("retention_curve")).classes("font-semibold")
        ui.echart(line(columns, curves, percent=True)).classes("w-full h-72")
    contribution = result.get("contribution")
    if contribution:
        with ui.card().classes("w-full p-4").mark("retention-contribution"):
            ui.label(t("contribution", period=contribution["period"])).classes("font-semibold")
            rows = [
                {
                    "value": r["value"],
                    "users": f.number(r["users"]),
                    "rate": f.share(r["rate"]),
                    "retained": f.number(r["retained"]),
                    "share_of_retained": f.share(r["share_of_retained"]),
                }
                for r in contribution["rows"]
            ]
            cols = [
                {"name": k, "label": t(f"col_{k}"), "field": k, "align": "left"}
                for k in ("value", "users", "rate", "retained", "share_of_retained")
            ]
            ui.table(columns=cols, rows=rows).classes("w-full")
