"""`siyu referral`: referral trees (裂变) — generations, K-factor, top inviters, one tree."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.tree import Tree

from siyu.cli.analytics import FromOpt, JsonFlag, TodayOpt, ToOpt, analyse, bar, request
from siyu.cli.output import console

#: Nodes drawn in the terminal tree (the JSON carries up to ``--max-nodes``).
_DRAWN = 40


def register(app: typer.Typer) -> None:
    app.command("referral")(referral)


def referral(
    campaign: Annotated[
        str | None,
        typer.Option("--campaign", help="a campaign, channel code or scene prefix (poster:)"),
    ] = None,
    top: Annotated[
        int | None, typer.Option("--top", help="top inviters listed (default 20)")
    ] = None,
    root: Annotated[
        str | None,
        typer.Option("--root", help="show this inviter's tree: type:value (member_id:M1) or id"),
    ] = None,
    max_depth: Annotated[
        int | None, typer.Option("--max-depth", help="deepest generation followed (default 20)")
    ] = None,
    max_nodes: Annotated[
        int | None, typer.Option("--max-nodes", help="nodes in the tree chart (default 300)")
    ] = None,
    new_within: Annotated[
        str | None,
        typer.Option("--new-within", help="an invitee must be first seen within this (1d)"),
    ] = None,
    count_existing: Annotated[
        bool, typer.Option("--count-existing", help="count existing users as invitees too")
    ] = False,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    today: TodayOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Referral trees (裂变): who brought whom, K-factor per generation, top inviters (KOC).

    Example: siyu referral --campaign 共读计划 --top 10
    """
    body = request(
        campaign=campaign,
        top=top,
        root=root,
        max_depth=max_depth,
        max_nodes=max_nodes,
        new_within=new_within,
        today=today,
        **{"from": date_from, "to": date_to},
    )
    if count_existing:
        body["new_within"] = None
    result = analyse("referral", body, json_out=json_out)
    if result is not None:
        render(result)


def render(result: dict[str, Any]) -> None:
    """Summary, generations, top inviters and the head of the tree."""
    s = result["summary"]
    scope = f"campaign {result['campaign']}" if result["campaign"] else "all invites"
    console.print(
        f"[bold]Referral 裂变[/] {scope} · to {result['to']}"
        + (f" from {result['from']}" if result["from"] else ""),
        highlight=False,
    )
    console.print(
        f"{s['seeds']:,} seeds brought {s['invitees']:,} invitees over {s['depth']} generations"
        f" · K-factor {_num(s['k_factor'])} · amplification ×{_num(s['amplification'])}"
        f" · paying invitees {s['paying_invitees']:,} ({_pct(s['paying_share'])})"
        f" · their revenue ¥{_yuan(s['invitees_revenue_fen'])}"
        + (
            f" · cost ¥{_yuan(s['cost_fen'])}, ¥{_yuan(s['cost_per_invitee_fen'])} per invitee"
            if s["cost_fen"] is not None
            else ""
        ),
        highlight=False,
    )
    refused = {k: v for k, v in result["edges"]["refused"].items() if v}
    if refused:
        console.print(
            "refused edges: " + ", ".join(f"{k} {v:,}" for k, v in refused.items()),
            highlight=False,
        )
    gens = Table(box=box.SIMPLE_HEAD, title="generations 代际")
    for name in ("gen 代", "persons 人数", "invitees 下一代", "K", "", "hours 间隔",
                 "paying 付费", "revenue 收入"):  # fmt: skip
        gens.add_column(name, justify="left" if name in ("", "gen 代") else "right")
    peak = max((g["k_factor"] or 0 for g in result["generations"]), default=0) or 1
    for g in result["generations"]:
        gens.add_row(
            str(g["generation"]),
            f"{g['persons']:,}",
            f"{g['invitees']:,}",
            _num(g["k_factor"]),
            bar((g["k_factor"] or 0) / peak, 20),
            _num(g["median_hours_from_inviter"]),
            f"{g['paying']:,} ({_pct(g['paying_share'])})",
            _yuan(g["revenue_fen"]),
        )
    console.print(gens)
    koc = Table(box=box.SIMPLE_HEAD, title="top inviters (KOC) 核心邀请人")
    for name in ("inviter 邀请人", "gen", "direct 直邀", "all 全部下级", "paying 付费",
                 "their revenue 下级收入"):  # fmt: skip
        koc.add_column(name, justify="left" if name.startswith("inviter") else "right")
    for r in result["top_inviters"]:
        koc.add_row(
            r["member_id"] or r["person_id"],
            str(r["generation"]),
            f"{r['direct_invitees']:,}",
            f"{r['descendants']:,}",
            f"{r['paying_invitees']:,}",
            _yuan(r["descendants_revenue_fen"]),
        )
    console.print(koc)
    _draw(result["tree"])


def _draw(tree: dict[str, Any]) -> None:
    nodes = tree["nodes"][:_DRAWN]
    if not nodes:
        console.print("no referral trees in this scope")
        return
    shown = {n["id"]: n for n in nodes}
    kids: dict[str, list[str]] = {}
    for link in tree["links"]:
        if link["source"] in shown and link["target"] in shown:
            kids.setdefault(link["source"], []).append(link["target"])
    tops = [n["id"] for n in nodes if n["id"] not in {t for k in kids.values() for t in k}]
    title = f"tree of {tree['root']}" if tree["root"] else "largest trees"
    view = Tree(f"[bold]{title}[/] ({min(len(nodes), _DRAWN)} of {tree['total']:,} persons)")

    def add(parent: Tree, person: str) -> None:
        n = shown[person]
        paying = " ¥" if n["paying"] else ""
        branch = parent.add(f"{n['name']} · {n['descendants']:,} below{paying}")
        for child in kids.get(person, []):
            add(branch, child)

    for person in tops:
        add(view, person)
    console.print(view)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _yuan(fen: float | None) -> str:
    return "" if fen is None else f"{fen / 100:,.2f}"
