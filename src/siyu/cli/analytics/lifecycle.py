"""`siyu lifecycle`: lifecycle flow (生命周期流转) per period and the stage transitions."""

from __future__ import annotations

from typing import Annotated, Any, Final

import typer
from rich.table import Table

from siyu.cli.analytics import (
    FromOpt,
    JsonFlag,
    SegmentOpt,
    TodayOpt,
    ToOpt,
    analyse,
    bar,
    request,
)
from siyu.cli.output import console

#: Status -> column heading (English and the operators' Chinese term).
_HEADINGS: Final = {
    "new": "new 新增",
    "returning": "returning 持续活跃",
    "resurrecting": "resurrecting 回流",
    "dormant": "dormant 沉睡",
    "churned": "churned 流失",
}


def register(app: typer.Typer) -> None:
    app.command("lifecycle")(lifecycle)


def lifecycle(
    period: Annotated[
        str | None, typer.Option("--period", help="day, week (default, from Monday) or month")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="channel, lifecycle, rfm, value_tier, segment:A,B ..."),
    ] = None,
    churn_days: Annotated[
        int | None,
        typer.Option("--churn-days", help="days without activity that make a person churned"),
    ] = None,
    flow_from: Annotated[
        str | None,
        typer.Option("--flow-from", help="transitions from this local time (default: --from)"),
    ] = None,
    flow_to: Annotated[
        str | None,
        typer.Option("--flow-to", help="transitions to this local time (default: end of --to)"),
    ] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    segment: SegmentOpt = None,
    today: TodayOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Lifecycle flow: new, returning, resurrecting, dormant and churned persons per period.

    Example: siyu lifecycle --period week --from 2024-05-01
    """
    body = request(
        period=period,
        by=by,
        churn_days=churn_days,
        flow_from=flow_from,
        flow_to=flow_to,
        segment=segment,
        today=today,
        **{"from": date_from, "to": date_to},
    )
    result = analyse("lifecycle", body, json_out=json_out)
    if result is not None:
        render(result)


def render(result: dict[str, Any]) -> None:
    """Per-period counts, per-value totals with a breakdown, then the transitions."""
    console.print(
        f"[bold]Lifecycle flow 生命周期流转[/] by {result['period']} · {result['from']} to "
        f"{result['to']} · churned after {result['churn_days']} days without activity"
        + (f" · segment {result['segment']}" if result["segment"] else ""),
        highlight=False,
    )
    table = Table("period 周期", *_HEADINGS.values(), "active 活跃", "")
    peak = max((p["active"] for p in result["periods"]), default=0) or 1
    for p in result["periods"]:
        mark = "" if p["complete"] else " *"
        table.add_row(
            p["period"] + mark,
            *(_count(p[status]) for status in _HEADINGS),
            f"{p['active']:,}",
            bar(p["active"] / peak, 20),
        )
    console.print(table)
    if any(not p["complete"] for p in result["periods"]):
        console.print("[dim]* not ended yet: dormant is not known until the period ends[/]")
    if result["breakdowns"]:
        _breakdowns(result)
    _transitions(result["transitions"])


def _breakdowns(result: dict[str, Any]) -> None:
    table = Table(result["by"], *_HEADINGS.values(), title="totals over the range per value")
    for b in result["breakdowns"]:
        sums = {s: sum(p[s] or 0 for p in b["periods"]) for s in _HEADINGS}
        table.add_row(b["value"], *(f"{sums[s]:,}" for s in _HEADINGS))
    console.print(table)


def _transitions(flow: dict[str, Any]) -> None:
    labels = {n["name"]: n["label"] for n in flow["nodes"]}
    table = Table(
        "from 起",
        "to 止",
        "persons 人数",
        title="stage transitions 阶段流转",
        caption=f"{flow['from']} → {flow['to']}",
    )
    for link in flow["links"]:
        table.add_row(labels[link["source"]], labels[link["target"]], f"{link['value']:,}")
    console.print(table)
    if flow["note"]:
        console.print(f"[dim]{flow['note']}[/]")


def _count(n: int | None) -> str:
    return "" if n is None else f"{n:,}"
