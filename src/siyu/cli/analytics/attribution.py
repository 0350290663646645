"""`siyu attribution` (归因) and `siyu attribution costs add | list | remove` (营销成本)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
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
from siyu.cli.output import console, errors, print_json

attribution_app = typer.Typer(
    help="Attribution (归因): conversions and revenue per channel, campaign, scene or "
    "content; `costs` records what each channel or campaign cost (CAC, ROI).",
    invoke_without_command=True,
)
costs_app = typer.Typer(
    help="Marketing costs (营销成本) per channel code or campaign, for CAC and ROI.",
    no_args_is_help=True,
)
attribution_app.add_typer(costs_app, name="costs")

DimensionOpt = Annotated[
    str | None, typer.Option("--dimension", help="channel (a channel code) or campaign")
]


def register(app: typer.Typer) -> None:
    app.add_typer(attribution_app, name="attribution")


@attribution_app.callback()
def attribution(
    ctx: typer.Context,
    conversion: Annotated[
        str | None,
        typer.Option("--conversion", help="orders (net revenue) or an event: $SignUp, order_paid"),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="first, last, linear, time_decay or position (40/20/40)"),
    ] = None,
    models: Annotated[
        str | None,
        typer.Option("--models", help="several models side by side: first,last,linear"),
    ] = None,
    lookback: Annotated[
        str | None, typer.Option("--lookback", help="touches this long before (default 30d)")
    ] = None,
    touch: Annotated[
        str | None, typer.Option("--touch", help="channel (default), campaign, scene or content")
    ] = None,
    half_life: Annotated[
        str | None, typer.Option("--half-life", help="time_decay half-life (default 7d)")
    ] = None,
    value_property: Annotated[
        str | None,
        typer.Option("--value-property", help="event conversions: the property holding fen"),
    ] = None,
    top: Annotated[
        int | None, typer.Option("--top", help="values shown; the rest sum into (other)")
    ] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    segment: SegmentOpt = None,
    today: TodayOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Attribution (归因): which touches brought the conversions, per model.

    Example: siyu attribution --conversion orders --models first,last,linear --lookback 30d
    """
    if ctx.invoked_subcommand is not None:
        return
    body = request(
        conversion=conversion,
        model=model,
        models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
        lookback=lookback,
        touch=touch,
        half_life=half_life,
        value_property=value_property,
        top=top,
        segment=segment,
        today=today,
        **{"from": date_from, "to": date_to},
    )
    result = analyse("attribution", body, json_out=json_out)
    if result is not None:
        render(result)


def render(result: dict[str, Any]) -> None:
    """One table per model: attributed conversions, revenue, cost, CAC and ROI."""
    totals = result["totals"]
    revenue = totals["revenue_fen"]
    console.print(
        f"[bold]Attribution 归因[/] {result['conversion']} by {result['touch']} · "
        f"{result['from']} to {result['to']} · lookback {_days(result['lookback_seconds'])}"
        + (f" · segment {result['segment']}" if result["segment"] else ""),
        highlight=False,
    )
    console.print(
        f"{totals['conversions']:,} conversions, {totals['first_conversions']:,} first ones"
        + (f", revenue ¥{_yuan(revenue)}" if revenue is not None else "")
        + f"; {totals['direct']:,} without a touch (direct)",
        highlight=False,
    )
    cells = [r["models"][m]["conversions"] for r in result["rows"] for m in result["models"]]
    top = max(cells, default=0.0)
    for m in result["models"]:
        table = Table(box=box.SIMPLE_HEAD, title=f"model {m}")
        table.add_column(f"{result['touch']} 触点")
        table.add_column("conversions 转化", justify="right")
        table.add_column("")
        table.add_column("revenue 收入", justify="right")
        table.add_column("cost 成本", justify="right")
        table.add_column("CAC 获客成本", justify="right")
        table.add_column("ROI", justify="right")
        for row in result["rows"]:
            cell = row["models"][m]
            name = (
                row["value"] if row["label"] == row["value"] else f"{row['value']} {row['label']}"
            )
            table.add_row(
                name,
                f"{cell['conversions']:,.2f}",
                bar(cell["conversions"] / top if top else None, 20),
                _yuan(cell["revenue_fen"]),
                _yuan(row["cost_fen"]),
                _yuan(cell["cac_fen"]),
                f"{cell['roi']:.0%}" if cell["roi"] is not None else "",
            )
        console.print(table)


@costs_app.command("add")
def costs_add(
    dimension: Annotated[str, typer.Argument(help="channel (a channel code) or campaign")],
    key: Annotated[str, typer.Argument(help="the channel code or campaign name")],
    date_from: Annotated[str, typer.Option("--from", help="first local day, YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="last local day, YYYY-MM-DD (included)")],
    yuan: Annotated[
        str | None, typer.Option("--yuan", help="the amount in yuan (元), e.g. 8000 or 99.50")
    ] = None,
    fen: Annotated[int | None, typer.Option("--fen", help="the amount in fen (分)")] = None,
    note: Annotated[str, typer.Option("--note", help="what it paid for")] = "",
    json_out: JsonFlag = False,
) -> None:
    """Record what a channel code or campaign cost over local days FROM..TO.

    Example: siyu attribution costs add channel qr_bookfair --from 2024-05-01
    --to 2024-05-31 --yuan 8000
    """
    body = request(
        dimension=dimension,
        key=key,
        cost_yuan=yuan,
        cost_fen=fen,
        note=note,
        actor="cli",
        **{"from": date_from, "to": date_to},
    )
    row = analyse("costs.add", body, json_out=json_out)
    if row is None:
        return
    console.print(
        f"recorded [bold]{row['cost_id']}[/]: {row['dimension']} {row['key']} "
        f"¥{_yuan(row['cost_fen'])} for {row['from']}..{row['to']}",
        highlight=False,
    )
    if row.get("warning"):
        errors.print(f"[yellow]warning:[/] {row['warning']}", highlight=False)


@costs_app.command("list")
def costs_list(
    dimension: DimensionOpt = None,
    key: Annotated[str | None, typer.Option("--key", help="one channel code or campaign")] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Cost entries, newest span first, with their total."""
    body = request(dimension=dimension, key=key, **{"from": date_from, "to": date_to})
    result = analyse("costs.list", body, json_out=json_out)
    if result is None:
        return
    table = Table("id", "dimension", "key", "from", "to", "cost 成本 ¥", "note 备注", "by")
    for c in result["costs"]:
        table.add_row(
            c["cost_id"], c["dimension"], c["key"], c["from"], c["to"], _yuan(c["cost_fen"]),
            c["note"], c["entered_by"],
        )  # fmt: skip
    console.print(table)
    console.print(f"total ¥{_yuan(result['total_fen'])}", highlight=False)


@costs_app.command("remove")
def costs_remove(
    cost_id: Annotated[str, typer.Argument(help="the entry's id, as `costs list` shows it")],
    json_out: JsonFlag = False,
) -> None:
    """Delete a cost entry (to change one, remove it and add it again)."""
    result = analyse("costs.remove", {"cost_id": cost_id}, json_out=False)
    assert result is not None
    if json_out:
        print_json(result)
        return
    gone = result["removed"]
    console.print(f"removed {gone['cost_id']} ({gone['dimension']} {gone['key']})")


def _yuan(fen: float | None) -> str:
    return "" if fen is None else f"{fen / 100:,.2f}"


def _days(seconds: int) -> str:
    return f"{seconds / 86_400:g}d" if seconds % 3600 == 0 else f"{seconds}s"
