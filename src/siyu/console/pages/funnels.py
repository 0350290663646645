"""漏斗 Funnels: a builder (steps, window, mode, breakdown), the funnel with the drop-off
of every step (seed 004: each extra step loses about 30%), time to convert, breakdown and
trend."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from siyu.analytics import service
from siyu.console import context
from siyu.console.charts import PALETTE, bars, line
from siyu.console.frame import Page, console_page, error_state
from siyu.exceptions import SiyuError
from siyu.segments.service import known_events

DEFAULT_STEPS = ("view_item", "add_to_cart", "checkout", "order_paid")
BREAKDOWNS = ("", "channel", "carrier", "lifecycle", "rfm")


@console_page("/funnels", title="funnels")
async def funnels(page: Page) -> None:
    t = page.texts
    events = await run.io_bound(lambda: sorted(known_events(context.runtime())))
    if events is None:
        return
    chosen = [s for s in DEFAULT_STEPS if s in events] or events[:2]
    form: dict[str, Any] = {
        "steps": chosen,
        "window": "7d",
        "mode": "ordered",
        "by": "",
        "trend": "day",
    }
    with ui.card().classes("w-full p-4 gap-3"):
        ui.select(events, multiple=True, label=t("funnel_steps"), with_input=True).props(
            "use-chips"
        ).bind_value(form, "steps").classes("w-full").mark("funnel-steps")
        with ui.row().classes("items-end gap-3"):
            ui.select(
                {"1h": "1 小时 / 1h", "1d": "1 天 / 1d", "7d": "7 天 / 7d", "30d": "30 天 / 30d"},
                label=t("window"),
            ).bind_value(form, "window").classes("w-36").mark("funnel-window")
            ui.select(
                {
                    "ordered": t("mode_ordered"),
                    "strict": t("mode_strict"),
                    "any_order": t("mode_any_order"),
                },
                label=t("mode"),
            ).bind_value(form, "mode").classes("w-40").mark("funnel-mode")
            ui.select(
                {b: (t(f"by_{b}") if b else t("no_breakdown")) for b in BREAKDOWNS},
                label=t("breakdown"),
            ).bind_value(form, "by").classes("w-36").mark("funnel-by")
            go = ui.button(t("run"), icon="play_arrow").mark("funnel-run")
    out = ui.column().classes("w-full gap-4")

    async def show() -> None:
        body = {k: v for k, v in form.items() if v not in (None, "", [])}
        out.clear()
        with out:
            ui.spinner(size="lg")
        try:
            result = await run.io_bound(service.run, context.runtime(), "funnel", body)
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
    steps = result["steps"]
    with ui.card().classes("w-full p-4").mark("funnel-chart"):
        ui.label(
            t(
                "funnel_summary",
                entered=f.number(result["entered"]),
                converted=f.number(result["converted"]),
                rate=f.share(result["conversion"]),
                loss=f.share(result["mean_step_drop_off"]),
            )
        ).classes("font-semibold").mark("funnel-summary")
        ui.echart(funnel_bars(page, steps)).classes("w-full h-80")
        rows = [
            {
                "step": f"{s['step']}. {s['label']}",
                "count": f.number(s["count"]),
                "conversion": f.share(s["conversion"]),
                "from_previous": f.share(s["conversion_from_previous"]),
                "drop_off": f"{f.number(s['drop_off'])} ({f.share(s['drop_off_rate'])})",
                "median": _duration((s.get("time_to_convert") or {}).get("median_seconds")),
            }
            for s in steps
        ]
        cols = [
            {"name": k, "label": t(f"funnel_{k}"), "field": k, "align": "left"} for k in rows[0]
        ]
        ui.table(columns=cols, rows=rows).classes("w-full").mark("funnel-table")
    breakdown = result.get("breakdown")
    if breakdown:
        series = breakdown["series"][:10]
        with ui.card().classes("w-full p-4").mark("funnel-breakdown"):
            ui.label(t("funnel_by", by=breakdown["by"])).classes("font-semibold")
            ui.echart(
                bars(
                    [s["value"] for s in series],
                    {
                        t("funnel_conversion"): [
                            round((s["conversion"] or 0) * 100, 1) for s in series
                        ]
                    },
                )
            ).classes("w-full h-64")
    trend = result.get("trend")
    if trend and trend["series"]:
        points = trend["series"]
        with ui.card().classes("w-full p-4").mark("funnel-trend"):
            ui.label(t("funnel_trend")).classes("font-semibold")
            ui.echart(
                line(
                    [f.day(p["period"]) for p in points],
                    {
                        t("funnel_conversion"): [
                            p["conversion"] if p["complete"] else None for p in points
                        ]
                    },
                    percent=True,
                )
            ).classes("w-full h-56")


def funnel_bars(page: Page, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars per step with the share lost since the previous step written over each."""
    f = page.formats
    return {
        "animation": False,
        "color": [PALETTE[0]],
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 56, "right": 16, "top": 32, "bottom": 28},
        "xAxis": {"type": "category", "data": [f"{s['step']}. {s['label']}" for s in steps]},
        "yAxis": {"type": "value"},
        "series": [
            {
                "type": "bar",
                "barWidth": "50%",
                "data": [
                    {
                        "value": s["count"],
                        "label": {
                            "show": True,
                            "position": "top",
                            "formatter": f.number(s["count"])
                            + (
                                ""
                                if s["drop_off_rate"] is None
                                else f"  ↓{f.share(s['drop_off_rate'])}"
                            ),
                        },
                    }
                    for s in steps
                ],
            }
        ],
    }


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
