"""分层 Layers: lifecycle distribution and flow (stacked periods and a Sankey of stage
transitions), the RFM eight-class matrix with counts and revenue, value tiers, interests."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from siyu.analytics import service
from siyu.console import context
from siyu.console.charts import PALETTE, bars
from siyu.console.frame import Page, console_page, empty_state, error_state

#: The RFM classes as the classic 2 x 4 matrix: rows important / general, columns by R, F.
RFM_GRID = (
    ("important_value", "important_develop", "important_retain", "important_recall"),
    ("general_value", "general_develop", "general_retain", "general_recall"),
)


def load() -> dict[str, Any]:
    runtime = context.runtime()
    layers = service.run(runtime, "layers", {"days": 90})
    flow = service.run(runtime, "lifecycle", {"period": "week"})
    return {"layers": layers, "flow": flow}


@console_page("/layers", title="layers")
async def layers(page: Page) -> None:
    t, f = page.texts, page.formats
    try:
        data = await run.io_bound(load)
    except Exception as exc:
        error_state(t, exc)
        return
    if data is None:
        return
    found = data["layers"]
    if not found["persons"]:
        empty_state(t)
        return
    groups = found["layers"]
    with ui.grid(columns=2).classes("w-full gap-4"):
        with ui.card().classes("w-full p-4").mark("lifecycle-distribution"):
            ui.label(t("lifecycle_distribution")).classes("font-semibold")
            stages = groups["lifecycle"]
            ui.echart(
                bars(
                    [t(f"stage_{r['value']}") for r in stages],
                    {t("persons_total"): [r["persons"] for r in stages]},
                )
            ).classes("w-full h-64")
        with ui.card().classes("w-full p-4").mark("lifecycle-flow"):
            ui.label(t("lifecycle_flow")).classes("font-semibold")
            ui.echart(flow_bars(page, data["flow"])).classes("w-full h-64")
    with ui.card().classes("w-full p-4").mark("lifecycle-sankey"):
        ui.label(t("stage_transitions")).classes("font-semibold")
        ui.echart(sankey(data["flow"]["transitions"])).classes("w-full h-80")
    with ui.card().classes("w-full p-4").mark("rfm-matrix"):
        ui.label(t("rfm_matrix", days=found["days"])).classes("font-semibold")
        cells = {r["value"]: r for r in groups["rfm"]}
        with ui.grid(columns=4).classes("w-full gap-2"):
            for row in RFM_GRID:
                for key in row:
                    cell = cells.get(key, {"persons": 0, "revenue_fen": 0, "share": None})
                    tone = "bg-green-50" if key.startswith("important") else "bg-slate-50"
                    with ui.card().classes(f"p-3 {tone}"):
                        ui.label(t(f"rfm_{key}")).classes("font-semibold")
                        ui.label(f"{f.number(cell['persons'])} · {f.share(cell['share'])}").classes(
                            "text-lg"
                        )
                        ui.label(f"{t('gmv')} {f.money(cell['revenue_fen'])}").classes(
                            "text-sm text-slate-500"
                        )
    with ui.grid(columns=2).classes("w-full gap-4"):
        with ui.card().classes("w-full p-4").mark("value-tiers"):
            ui.label(t("value_tiers")).classes("font-semibold")
            tiers = groups["value_tier"]
            ui.echart(
                bars(
                    [t(f"tier_{r['value']}") for r in tiers],
                    {
                        t("persons_total"): [r["persons"] for r in tiers],
                        t("paying"): [r["paying"] for r in tiers],
                    },
                )
            ).classes("w-full h-64")
        with ui.card().classes("w-full p-4").mark("interests"):
            ui.label(t("interests")).classes("font-semibold")
            tags = list(reversed(groups["interest"][:12]))
            ui.echart(
                bars(
                    [r["value"] for r in tags],
                    {t("persons_total"): [r["persons"] for r in tags]},
                    horizontal=True,
                )
            ).classes("w-full h-64")


def flow_bars(page: Page, flow: dict[str, Any]) -> dict[str, Any]:
    """Per period: new, returning, resurrecting up; dormant down (PostHog's lifecycle)."""
    t = page.texts
    periods = flow["periods"]
    statuses = ("new", "returning", "resurrecting", "dormant")
    return {
        "animation": False,
        "color": [PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]],
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 16, "top": 32, "bottom": 28},
        "xAxis": {"type": "category", "data": [page.formats.day(p["period"]) for p in periods]},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": t(f"status_{s}"),
                "type": "bar",
                "stack": "flow",
                "data": [p[s] for p in periods],
            }
            for s in statuses
        ],
    }


def sankey(transitions: dict[str, Any]) -> dict[str, Any]:
    nodes = [{"name": n["name"], "label": {"formatter": n["label"]}} for n in transitions["nodes"]]
    links = [link for link in transitions["links"] if link["value"]]
    return {
        "animation": False,
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "sankey",
                "data": nodes,
                "links": links,
                "emphasis": {"focus": "adjacency"},
                "lineStyle": {"color": "gradient", "curveness": 0.5},
                "color": PALETTE,
            }
        ],
    }
