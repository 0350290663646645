"""数据概览 Overview: KPI cards with period-over-period change, trends, carriers, channels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nicegui import run, ui

from siyu.analytics import service
from siyu.console import context
from siyu.console.charts import bars, line, pie
from siyu.console.frame import Page, console_page, empty_state, error_state

#: KPI cards: result key and how its value is written.
CARDS = (
    ("new_users", "number"),
    ("dau", "number"),
    ("wau", "number"),
    ("mau", "number"),
    ("next_day_retention", "share"),
    ("day7_retention", "share"),
    ("paying_users", "number"),
    ("gmv_fen", "money"),
)
RANGES = (7, 30, 90)


def load(days: int) -> dict[str, Any]:
    runtime = context.runtime()
    if not runtime.warehouse.cursor().execute("SELECT count(*) FROM events").fetchall()[0][0]:
        return {}
    # Figures up to yesterday, like every daily report: today is not over yet.
    last = service.today_of(runtime) - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    return service.run(runtime, "overview", {"from": first.isoformat(), "to": last.isoformat()})


@console_page("/", title="overview")
async def overview(page: Page) -> None:
    t, f = page.texts, page.formats
    chosen = {"days": 30}

    @ui.refreshable
    async def body() -> None:
        try:
            result = await run.io_bound(load, chosen["days"])
        except Exception as exc:  # shown to the operator, not swallowed
            error_state(t, exc)
            return
        if not result:
            empty_state(t)
            return
        cards(page, result)
        daily = result["daily"]
        days = [f.day(d) for d in daily["days"]]
        with ui.grid(columns=2).classes("w-full gap-4"):
            chart(
                t("active_trend"),
                line(
                    days, {t("dau"): daily["dau"], t("wau"): daily["wau"], t("mau"): daily["mau"]}
                ),
                "chart-active",
            )
            chart(
                t("new_trend"),
                line(
                    days,
                    {t("new_users"): daily["new_users"], t("paying_users"): daily["paying"]},
                    area=True,
                ),
                "chart-new",
            )
            chart(
                t("retention_trend"),
                line(
                    days,
                    {
                        t("next_day_retention"): daily["next_day_retention"],
                        t("day7_retention"): daily["day7_retention"],
                    },
                    percent=True,
                ),
                "chart-retention",
            )
            chart(
                t("gmv_trend"),
                line(days, {t("gmv"): [v / 100 for v in daily["gmv_fen"]]}, area=True),
                "chart-gmv",
            )
            carriers = result["by_carrier"]
            chart(
                t("by_carrier"),
                bars(
                    [c["carrier"] for c in carriers],
                    {
                        t("avg_dau"): [round(c["dau"], 1) for c in carriers],
                        t("new_users"): [c["new_users"] for c in carriers],
                    },
                ),
                "chart-carrier",
            )
            channels = result["by_channel"][:12]
            chart(
                t("by_channel"),
                pie({c["channel"]: c["new_users"] for c in channels}),
                "chart-channel",
            )
        rows = [
            {
                "channel": c["channel"],
                "new_users": f.number(c["new_users"]),
                "paying": f.number(c["paying"]),
                "gmv": f.money(c["gmv_fen"]),
            }
            for c in result["by_channel"]
        ]
        columns = [
            {"name": k, "label": t(k), "field": k, "align": "left" if k == "channel" else "right"}
            for k in ("channel", "new_users", "paying", "gmv")
        ]
        ui.table(columns=columns, rows=rows, row_key="channel", pagination=10).classes(
            "w-full"
        ).mark("channel-table")

    with ui.row().classes("items-center gap-2"):
        ui.label(t("range")).classes("text-slate-500")
        toggle = ui.toggle({d: t("last_days", n=d) for d in RANGES}, value=30).mark("range")

    async def changed() -> None:
        chosen["days"] = int(toggle.value)
        body.refresh()

    toggle.on_value_change(changed)
    await body()


def cards(page: Page, result: dict[str, Any]) -> None:
    t, f = page.texts, page.formats
    kpis = {k["key"]: k for k in result["kpis"]}
    with ui.grid(columns=4).classes("w-full gap-4"):
        for key, kind in CARDS:
            kpi = kpis[key]
            value = getattr(f, kind)(kpi["value"])
            with ui.card().classes("p-4").mark(f"kpi-{key}"):
                ui.label(t(key)).classes("text-slate-500 text-sm")
                ui.label(value).classes("text-2xl font-semibold")
                change = kpi["change"]
                colour = (
                    "text-slate-400"
                    if not change
                    else ("text-green-600" if change > 0 else "text-red-600")
                )
                ui.label(f"{t('vs_previous')} {f.change(change)}").classes(f"text-xs {colour}")


def chart(title: str, options: dict[str, Any], marker: str) -> None:
    with ui.card().classes("w-full p-4"):
        ui.label(title).classes("font-semibold")
        ui.echart(options).classes("w-full h-64").mark(marker)
