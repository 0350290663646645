"""实验 Experiments: every experiment with its status; for the chosen one the exposure
split with the sample-ratio check and, per metric, each variant against control with
intervals, p-values (Holm), P(beat) and a sentence."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from siyu.analytics import service
from siyu.console import context
from siyu.console.charts import bars
from siyu.console.frame import Page, console_page, error_state
from siyu.exceptions import SiyuError


@console_page("/experiments", title="experiments")
async def experiments(page: Page) -> None:
    t = page.texts
    listed = await run.io_bound(service.run, context.runtime(), "experiment.list", {})
    if listed is None:
        return
    rows = [
        {
            "key": e["key"],
            "name": e["name"],
            "status": e["status"],
            "variants": " / ".join(v["key"] for v in e.get("variants", [])),
        }
        for e in listed["experiments"]
    ]
    if not rows:
        with ui.card().classes("w-full p-6").mark("no-experiments"):
            ui.label(t("no_experiments")).classes("text-slate-500")
        return
    cols = [{"name": k, "label": t(f"exp_{k}"), "field": k, "align": "left"} for k in rows[0]]
    table = ui.table(columns=cols, rows=rows, row_key="key", selection="single")
    table.classes("w-full").mark("experiment-table")
    out = ui.column().classes("w-full gap-4")

    async def chosen() -> None:
        out.clear()
        if not table.selected:
            return
        key = table.selected[0]["key"]
        try:
            result = await run.io_bound(service.run, context.runtime(), "experiment", {"key": key})
        except SiyuError as exc:
            with out:
                error_state(t, exc)
            return
        if result is not None:
            with out:
                draw(page, result)

    table.on_select(chosen)


def draw(page: Page, result: dict[str, Any]) -> None:
    t, f = page.texts, page.formats
    exposure = result.get("exposure") or {}
    srm = exposure.get("srm") or {}
    with ui.card().classes("w-full p-4").mark("experiment-exposure"):
        ui.label(t("exposure", persons=f.number(exposure.get("persons")))).classes("font-semibold")
        split = exposure.get("variants") or []
        ui.echart(
            bars(
                [v["variant"] for v in split],
                {
                    t("actual_share"): [round((v["share"] or 0) * 100, 1) for v in split],
                    t("expected_share"): [round(v["expected_share"] * 100, 1) for v in split],
                },
            )
        ).classes("w-full h-48")
        if srm.get("mismatch"):
            ui.label(t("srm_warning", p=f"{srm['p_value']:.2g}")).classes("text-red-600").mark(
                "srm"
            )
    for warning in result.get("warnings") or []:
        ui.label(warning).classes("text-amber-700 text-sm")
    for metric in result.get("metrics") or []:
        with ui.card().classes("w-full p-4").mark(f"metric-{metric['key']}"):
            title = f"{metric['key']} · {metric['method']}" + (" · ★" if metric["primary"] else "")
            ui.label(title).classes("font-semibold")
            for row in metric["variants"]:
                if row.get("verdict"):
                    ui.label(row["verdict"]).classes("text-sm")
            table_rows = [
                {
                    "variant": r["variant"],
                    "persons": f.number(r["persons"]),
                    "value": f"{r['value']:.4g}" if r["value"] is not None else "—",
                    "lift": _interval(f, r.get("relative")),
                    "p_value": "—" if r.get("p_value_holm") is None else f"{r['p_value_holm']:.3g}",
                    "p_beat": f.share(r.get("p_beat")),
                }
                for r in metric["variants"]
            ]
            cols = [
                {"name": k, "label": t(f"exp_{k}"), "field": k, "align": "left"}
                for k in table_rows[0]
            ]
            ui.table(columns=cols, rows=table_rows).classes("w-full")


def _interval(f: Any, lift: dict[str, Any] | None) -> str:
    if not lift or lift.get("lift") is None:
        return "—"
    low, high = lift.get("low"), lift.get("high")
    span = "" if low is None or high is None else f" ({f.share(low)} .. {f.share(high)})"
    return f"{f.share(lift['lift'])}{span}"
