"""`siyu retention`: cohort retention (留存) as a coloured table and the average curve."""

from __future__ import annotations

from typing import Annotated, Any, Final

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
from siyu.cli.output import console

#: Background colours of the heat map, from low to high retention (black text on the
#: light ones, white on the dark ones).
_HEAT: Final = (
    "black on #f7fbff",
    "black on #deebf7",
    "black on #9ecae1",
    "white on #4292c6",
    "white on #08519c",
)
#: Rates at which the next colour begins (retention is mostly low: finer steps there).
_STEPS: Final = (0.05, 0.15, 0.3, 0.5)
#: Width of one period column (" 100%" and a separator), and of the cohort and size ones.
_CELL, _LEFT = 6, 24


def register(app: typer.Typer) -> None:
    app.command("retention")(retention)


def retention(
    start_event: Annotated[
        str | None,
        typer.Option("--start-event", help="the event that starts a cohort, e.g. $SignUp"),
    ] = None,
    return_event: Annotated[
        str | None,
        typer.Option("--return-event", help="the event that counts as coming back (default: any)"),
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="day, week (from Monday) or month")
    ] = None,
    periods: Annotated[
        int | None,
        typer.Option("--periods", help="periods after the cohort period, 1-120 (default 30/12/12)"),
    ] = None,
    cohort: Annotated[
        str | None,
        typer.Option(
            "--cohort",
            help="first (first start event), first_seen (first event of any kind) or any "
            "(every period with the start event)",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="channel, carrier, lifecycle, segment:A,B, property:NAME ..."),
    ] = None,
    at_period: Annotated[
        int | None,
        typer.Option("--at", help="the period the per-value contribution table reads (default 1)"),
    ] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    segment: SegmentOpt = None,
    today: TodayOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Retention (留存): of each cohort, the share who came back in each later period.

    Example: siyu retention --start-event $SignUp --period day --periods 7 --by carrier
    """
    body = request(
        start_event=start_event,
        return_event=return_event,
        period=period,
        periods=periods,
        cohort=cohort,
        by=by,
        at_period=at_period,
        segment=segment,
        today=today,
        **{"from": date_from, "to": date_to},
    )
    result = analyse("retention", body, json_out=json_out)
    if result is not None:
        render(result)


def render(result: dict[str, Any]) -> None:
    """The cohort table, the average curve and, with a breakdown, the contributions."""
    start = result["start_event"] or "first seen"
    back = result["return_event"] or "any event"
    console.print(
        f"[bold]Retention 留存[/] {start} → {back} · cohort {result['cohort']} · "
        f"{result['from']} to {result['to']}"
        + (f" · segment {result['segment']}" if result["segment"] else ""),
        highlight=False,
    )
    columns = result["columns"]
    shown = max(2, min(len(columns), (console.width - _LEFT) // _CELL))
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 0), title="cohorts (share retained)")
    table.add_column("cohort 批次", no_wrap=True, min_width=12)
    table.add_column("size 人数", justify="right", no_wrap=True, min_width=8)
    for name in columns[:shown]:
        table.add_column(name.split()[-1], justify="right", no_wrap=True, min_width=_CELL - 1)
    for row in result["cohorts"]:
        table.add_row(row["cohort"], f"{row['size']:,}", *_cells(row["rates"][:shown]))
    average = result["average"]
    table.add_row("average 平均", f"{average['size']:,}", *_cells(average["rates"][:shown]))
    console.print(table)
    if shown < len(columns):
        console.print(
            f"[dim]{columns[shown]} to {columns[-1]} left out for width; --json has them all[/]"
        )
    curve = Table("period", "eligible 人数", "retained 留存", "rate 留存率", "", title="average")
    for name, eligible, kept, rate in zip(
        columns, average["eligible"], average["retained"], average["rates"], strict=True
    ):
        curve.add_row(name, f"{eligible:,}", _count(kept), _rate(rate), bar(rate))
    console.print(curve)
    if result["contribution"]:
        _contribution(result)


def _contribution(result: dict[str, Any]) -> None:
    share = result["contribution"]
    k = share["period"]
    table = Table(
        result["by"],
        "users 人数",
        f"rate {result['columns'][k]}",
        "retained 留存人数",
        "share of retained",
        "",
        title=f"who stays: retained users = users × rate ({result['columns'][k]})",
    )
    for row in share["rows"]:
        table.add_row(
            row["value"],
            f"{row['users']:,}",
            _rate(row["rate"]),
            f"{row['retained']:,}",
            _rate(row["share_of_retained"]),
            bar(row["share_of_retained"], 20),
        )
    table.add_row("all", f"{share['users']:,}", _rate(share["rate"]), f"{share['retained']:,}")
    console.print(table)
    if share["values_overlap"]:
        console.print("[dim]a person may have several values: the rows add up to more[/]")


def _cells(rates: list[float | None]) -> list[str]:
    return [
        "[dim]·[/]" if r is None else f"[{_HEAT[sum(r >= s for s in _STEPS)]}]{r:>5.0%}[/]"
        for r in rates
    ]


def _rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.1%}"


def _count(n: int | None) -> str:
    return "" if n is None else f"{n:,}"
