"""流失预警 / 生命周期价值 Churn and lifetime value: the BG/NBD + Gamma-Gamma fit, the
distribution of P(alive), CLV by decile and the repeat buyers most at risk; operators
refit and rescore here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nicegui import run, ui

from siyu.analytics import service
from siyu.console import context
from siyu.console.charts import bars
from siyu.console.frame import Page, console_page, error_state
from siyu.exceptions import SiyuError


def refit(actor: str) -> dict[str, Any]:
    runtime = context.runtime()
    until = service.today_of(runtime) - timedelta(days=1)
    fit = service.run(runtime, "clv.fit", {"until": until.isoformat(), "unit": "week"}, actor=actor)
    service.run(runtime, "clv.score", {"fit_id": fit["fit_id"]}, actor=actor)
    return fit


@console_page("/churn", title="churn")
async def churn(page: Page) -> None:
    t = page.texts
    out = ui.column().classes("w-full gap-4")

    async def show() -> None:
        out.clear()
        try:
            result = await run.io_bound(service.run, context.runtime(), "clv", {"top": 20})
        except SiyuError as exc:
            with out:
                error_state(t, exc)
            return
        if result is not None:
            with out:
                draw(page, result)

    if page.who.may("operator"):

        async def fit_now() -> None:
            button.disable()
            try:
                await run.io_bound(refit, page.who.username)
            except SiyuError as exc:
                ui.notify(str(exc), type="negative", multi_line=True)
            finally:
                button.enable()
            await show()

        button = ui.button(t("refit"), icon="model_training", on_click=fit_now).mark("clv-refit")
    await show()


def draw(page: Page, result: dict[str, Any]) -> None:
    t, f = page.texts, page.formats
    summary = result.get("summary") or {}
    with ui.grid(columns=4).classes("w-full gap-4"):
        for key, value in (
            ("scored", f.number(summary.get("persons"))),
            ("at_risk", f.number(summary.get("at_risk"))),
            ("expected_purchases", f.number(summary.get("expected_purchases"))),
            ("clv_total", f.money(summary.get("clv_fen"))),
        ):
            with ui.card().classes("p-4").mark(f"clv-{key}"):
                ui.label(t(key)).classes("text-slate-500 text-sm")
                ui.label(value).classes("text-xl font-semibold")
    with ui.grid(columns=2).classes("w-full gap-4"):
        with ui.card().classes("w-full p-4"):
            ui.label(t("p_alive_distribution")).classes("font-semibold")
            buckets = result.get("p_alive") or []
            ui.echart(
                bars(
                    [f"{b['from']:.1f}–{b['to']:.1f}" for b in buckets],
                    {t("persons_total"): [b["persons"] for b in buckets]},
                )
            ).classes("w-full h-56")
        with ui.card().classes("w-full p-4"):
            ui.label(t("clv_deciles")).classes("font-semibold")
            deciles = result.get("clv_deciles") or []
            ui.echart(
                bars(
                    [str(d["decile"]) for d in deciles],
                    {"CLV ¥": [round(d["clv_fen"] / 100) for d in deciles]},
                )
            ).classes("w-full h-56")
    with ui.card().classes("w-full p-4").mark("clv-at-risk"):
        ui.label(t("at_risk_list")).classes("font-semibold")
        rows = [
            {
                "person_id": r["person_id"],
                "p_alive": f.share(r["p_alive"]),
                "frequency": f.number(r["frequency"]),
                "spend_at_risk": f.money(r["spend_at_risk_fen"]),
                "clv": f.money(r["clv_fen"]),
            }
            for r in result.get("at_risk") or []
        ]
        cols = [
            {"name": k, "label": t(f"clv_{k}"), "field": k, "align": "left"}
            for k in ("person_id", "p_alive", "frequency", "spend_at_risk", "clv")
        ]
        ui.table(columns=cols, rows=rows, pagination=10).classes("w-full")
