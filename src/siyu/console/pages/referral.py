"""裂变 Referral: the `referral` analysis as a builder (campaign, days, depth, new users
only), its KPIs (invitees, K-factor, generations, paying share, cost per invitee), the
K-factor and invitees of each generation, the time between generations, invitees per
person (low thresholds work), the top inviters (KOC) and the trees themselves."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Final

from nicegui import run, ui

from siyu.analytics import service
from siyu.console import context
from siyu.console.charts import PALETTE, bars
from siyu.console.frame import Page, console_page, error_state
from siyu.exceptions import SiyuError

#: Nodes drawn in the tree chart: beyond a few hundred a tree is a blur, not a picture.
MAX_NODES: Final = 300
#: Inviters listed in the KOC table.
TOP: Final = 20
#: Scene prefixes the analysis reads as "this inviter's poster" (the analysis' default).
SCENE_PREFIX: Final = "poster:"


def campaigns() -> list[str]:
    """Referral campaigns to offer: those of poster channels first, then the scene prefix
    (every personal poster), then every other campaign in the channels table."""
    rows = (
        context.runtime()
        .warehouse.cursor()
        .execute(
            "SELECT campaign, max(kind = 'poster') AS poster FROM channels "
            "WHERE campaign IS NOT NULL AND campaign <> '' GROUP BY campaign"
        )
        .fetchall()
    )
    posters = sorted(str(r[0]) for r in rows if r[1])
    others = sorted(str(r[0]) for r in rows if not r[1])
    return [*posters, SCENE_PREFIX, *others]


@console_page("/referral", title="referral")
async def referral(page: Page) -> None:
    t = page.texts
    options = await run.io_bound(campaigns)
    form: dict[str, Any] = {
        "campaign": "",
        "from": "",
        "to": "",
        "max_depth": 20,
        "new_only": True,
        "root": None,
    }
    with ui.card().classes("w-full p-4"), ui.row().classes("items-end gap-3 w-full"):
        ui.select(
            {"": t("all_campaigns"), **{c: c for c in options or []}},
            label=t("rf_campaign"),
            with_input=True,
            new_value_mode="add-unique",
        ).bind_value(form, "campaign").classes("w-56").mark("referral-campaign")
        ui.input(t("date_from")).props("type=date stack-label").bind_value(form, "from").classes(
            "w-40"
        )
        ui.input(t("date_to")).props("type=date stack-label").bind_value(form, "to").classes("w-40")
        ui.number(t("rf_max_depth"), min=1, max=50, step=1, format="%d").bind_value(
            form, "max_depth"
        ).classes("w-28")
        ui.switch(t("rf_new_only")).bind_value(form, "new_only").tooltip(t("rf_new_only_tip"))
        ui.space()
        go = ui.button(t("run"), icon="play_arrow").mark("referral-run")
    out = ui.column().classes("w-full gap-4")

    def request() -> dict[str, Any]:
        body: dict[str, Any] = {
            "top": TOP,
            "max_nodes": MAX_NODES,
            "max_depth": int(form["max_depth"] or 20),
        }
        for key in ("campaign", "from", "to", "root"):
            if form[key]:
                body[key] = form[key]
        if not form["new_only"]:
            body["new_within"] = None
        return body

    async def show() -> None:
        out.clear()
        with out:
            ui.spinner(size="lg")
        try:
            result = await run.io_bound(service.run, context.runtime(), "referral", request())
        except SiyuError as exc:
            out.clear()
            with out:
                error_state(page.texts, exc)
                ui.label(t("rf_error_hint")).classes("text-slate-500 text-sm")
            return
        out.clear()
        if result is None:
            return
        with out:
            if not result["summary"]["persons"]:
                empty(page, result)
            else:
                draw(page, result, pick_root)

    async def pick_root(person_id: str | None) -> None:
        form["root"] = person_id
        await show()

    async def run_new() -> None:
        form["root"] = None
        await show()

    go.on_click(run_new)
    await show()


def empty(page: Page, result: dict[str, Any]) -> None:
    """No trees in scope: say where invites come from and what the edges were refused for."""
    t = page.texts
    with ui.card().classes("w-full items-center p-8").mark("empty-state"):
        ui.icon("share").classes("text-5xl text-slate-400")
        ui.label(t("rf_empty")).classes("text-xl")
        ui.label(t("rf_empty_text")).classes("text-slate-500 max-w-2xl text-center")
        refused = {k: v for k, v in (result["edges"].get("refused") or {}).items() if v}
        if refused:
            ui.label(t("rf_refused", refused=_refused(page, refused))).classes(
                "text-amber-700 text-sm"
            )


def draw(page: Page, result: dict[str, Any], pick_root: Any) -> None:
    t, f = page.texts, page.formats
    summary = result["summary"]
    cost = summary.get("cost_per_invitee_fen")
    cards = (
        ("rf_invitees", f.number(summary["invitees"]), t("rf_seeds", n=f.number(summary["seeds"]))),
        (
            "rf_k_factor",
            f"{summary['k_factor']:.2f}",
            t("rf_viral") if summary["k_factor"] >= 1 else t("rf_not_viral"),
        ),
        ("rf_depth", f.number(summary["depth"]), t("rf_amplification", x=summary["amplification"])),
        (
            "rf_paying_share",
            f.share(summary["paying_share"]),
            t("rf_paying_revenue", money=f.money(summary["invitees_revenue_fen"])),
        ),
        (
            "rf_cost_per_invitee",
            f.money(cost),
            t("rf_roi", roi=f.share(summary["roi"])) if cost is not None else t("rf_no_cost"),
        ),
    )
    with ui.grid(columns=5).classes("w-full gap-4"):
        for key, value, note in cards:
            with ui.card().classes("p-4 gap-1").mark(f"kpi-{key}"):
                ui.label(t(key)).classes("text-slate-500 text-sm")
                ui.label(value).classes("text-2xl font-semibold")
                ui.label(note).classes("text-xs text-slate-400")
    refused = {k: v for k, v in (result["edges"].get("refused") or {}).items() if v}
    if refused:
        ui.label(t("rf_refused", refused=_refused(page, refused))).classes(
            "text-amber-700 text-sm"
        ).mark("referral-refused")
    generations = result["generations"]
    with ui.grid(columns=2).classes("w-full gap-4"):
        with ui.card().classes("w-full p-4"):
            ui.label(t("rf_generations")).classes("font-semibold")
            ui.echart(generation_chart(page, generations)).classes("w-full h-72").mark(
                "referral-generations"
            )
        with ui.card().classes("w-full p-4"):
            ui.label(t("rf_hours")).classes("font-semibold")
            later = [g for g in generations if g["median_hours_from_inviter"] is not None]
            ui.echart(
                bars(
                    [t("rf_generation_n", g=g["generation"]) for g in later],
                    {t("rf_days"): [round(g["median_hours_from_inviter"] / 24, 1) for g in later]},
                )
            ).classes("w-full h-72").mark("referral-hours")
    with ui.grid(columns=3).classes("w-full gap-4"):
        with ui.card().classes("w-full p-4 col-span-1"):
            ui.label(t("rf_distribution")).classes("font-semibold")
            spread = result["invitees_per_person"]
            ui.echart(
                bars(
                    [d["invitees"] for d in spread],
                    {t("persons_total"): [d["persons"] for d in spread]},
                )
            ).classes("w-full h-72")
            ui.label(t("rf_distribution_tip")).classes("text-xs text-slate-400")
        with ui.card().classes("w-full p-4 col-span-2").mark("referral-koc"):
            ui.label(t("rf_top_inviters")).classes("font-semibold")
            koc_table(page, result["top_inviters"], pick_root)
    tree = result["tree"]
    with ui.card().classes("w-full p-4").mark("referral-tree"):
        with ui.row().classes("w-full items-center"):
            ui.label(t("rf_tree")).classes("font-semibold")
            ui.space()
            if tree["root"]:
                ui.button(
                    t("rf_all_trees"), icon="account_tree", on_click=lambda: pick_root(None)
                ).props("flat dense no-caps")
        caption = t("rf_tree_shown", shown=f.number(tree["shown"]), total=f.number(tree["total"]))
        if tree["truncated"]:
            caption += " " + t("rf_tree_truncated", cap=MAX_NODES)
        ui.label(caption).classes("text-sm text-slate-500").mark("referral-tree-caption")
        ui.echart(tree_chart(page, tree, result.get("campaign"))).classes("w-full").style(
            "height: 640px"
        )


def koc_table(page: Page, inviters: list[dict[str, Any]], pick_root: Any) -> None:
    t, f = page.texts, page.formats
    rows = [
        {
            "person_id": r["person_id"],
            "member_id": r["member_id"] or r["person_id"],
            "generation": r["generation"],
            "direct_invitees": r["direct_invitees"],
            "descendants": r["descendants"],
            "depth_below": r["depth_below"],
            "paying_invitees": r["paying_invitees"],
            "descendants_revenue": f.money(r["descendants_revenue_fen"]),
            "own_revenue": f.money(r["own_revenue_fen"]),
        }
        for r in inviters
    ]
    keys = (
        "member_id",
        "generation",
        "direct_invitees",
        "descendants",
        "depth_below",
        "paying_invitees",
        "descendants_revenue",
        "own_revenue",
    )
    cols = [
        {
            "name": k,
            "label": t(f"rf_{k}"),
            "field": k,
            "align": "left" if k == "member_id" else "right",
        }
        for k in keys
    ]
    table = ui.table(columns=cols, rows=rows, row_key="person_id", pagination=8)
    table.props("dense flat").classes("w-full")
    ui.label(t("rf_pick_root")).classes("text-xs text-slate-400")

    async def clicked(event: Any) -> None:
        row = event.args[1] if isinstance(event.args, list) and len(event.args) > 1 else None
        if isinstance(row, dict) and row.get("person_id"):
            await pick_root(str(row["person_id"]))

    table.on("rowClick", clicked)


def generation_chart(page: Page, generations: list[dict[str, Any]]) -> dict[str, Any]:
    """Persons of each generation as bars, its K-factor as a line on a second axis, with
    the K = 1 line that separates a spreading campaign from one that fades."""
    t = page.texts
    labels = [t("rf_generation_n", g=g["generation"]) for g in generations]
    return {
        "animation": False,
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 48, "top": 36, "bottom": 28},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": [
            {"type": "value", "name": t("persons_total")},
            {"type": "value", "name": "K", "splitLine": {"show": False}},
        ],
        "series": [
            {
                "name": t("persons_total"),
                "type": "bar",
                "barWidth": "45%",
                "data": [g["persons"] for g in generations],
                "label": {"show": True, "position": "top"},
            },
            {
                "name": t("rf_k_factor"),
                "type": "line",
                "yAxisIndex": 1,
                "data": [round(g["k_factor"], 2) for g in generations],
                "label": {"show": True, "position": "right", "formatter": "K={c}"},
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": PALETTE[3]},
                    "data": [{"yAxis": 1, "name": "K = 1"}],
                    "label": {"formatter": "K = 1"},
                },
            },
        ],
    }


def tree_chart(page: Page, tree: dict[str, Any], campaign: str | None) -> dict[str, Any]:
    """The trees as one radial ECharts tree: paying persons green, the others grey, a
    node's size growing with everyone below it. Several seeds hang under one unnamed
    centre (the campaign)."""
    t, f = page.texts, page.formats
    nodes = {n["id"]: n for n in tree["nodes"]}
    children: dict[str, list[str]] = defaultdict(list)
    has_parent: set[str] = set()
    for link in tree["links"]:
        if link["source"] in nodes and link["target"] in nodes:
            children[link["source"]].append(link["target"])
            has_parent.add(link["target"])

    def item(node_id: str) -> dict[str, Any]:
        n = nodes[node_id]
        tip = t(
            "rf_node_tip",
            name=n["name"],
            g=n["generation"],
            invitees=n["invitees"],
            descendants=n["descendants"],
            revenue=f.money(n["revenue_fen"]),
        )
        return {
            "name": n["name"],
            "value": n["descendants"],
            "symbolSize": 6 + 4 * math.log2(1 + n["descendants"]),
            "itemStyle": {"color": PALETTE[0] if n["paying"] else "#9ca3af"},
            "label": {"show": n["invitees"] > 0},
            "tooltip": {"formatter": tip},
            "children": [item(c) for c in children.get(node_id, [])],
        }

    roots = [n["id"] for n in tree["nodes"] if n["id"] not in has_parent]
    data = (
        item(roots[0])
        if len(roots) == 1
        else {
            "name": campaign or t("all_campaigns"),
            "symbolSize": 14,
            "itemStyle": {"color": PALETTE[1]},
            "tooltip": {"formatter": t("rf_seeds", n=f.number(len(roots)))},
            "children": [item(r) for r in roots],
        }
    )
    return {
        "animation": False,
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "tree",
                "layout": "radial",
                "data": [data],
                "initialTreeDepth": -1,
                "roam": True,
                "expandAndCollapse": False,
                "lineStyle": {"color": "#cbd5e1", "width": 1},
                "label": {"fontSize": 10, "color": "#334155"},
                "top": "6%",
                "bottom": "6%",
            }
        ],
    }


def _refused(page: Page, refused: dict[str, int]) -> str:
    return ", ".join(
        f"{page.texts(f'rf_refused_{k}')} {page.formats.number(v)}" for k, v in refused.items()
    )
