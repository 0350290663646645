"""`siyu funnel`: conversion through ordered steps (漏斗) as a table with bars.

Example:
    siyu funnel --steps view_item,add_to_cart,checkout,order_paid --window 7d --by channel
"""

from __future__ import annotations

import json
from typing import Annotated, Any

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
from siyu.cli.output import console, fail


def register(app: typer.Typer) -> None:
    app.command("funnel")(funnel)


def funnel(
    steps: Annotated[
        str,
        typer.Option(
            "--steps",
            help="event names in order, comma-separated (view_item,add_to_cart,order_paid), "
            'or a JSON list of steps with filters: [{"event": "view_item", "where": '
            '[{"property": "price_fen", "op": "gt", "value": 5000}]}, "order_paid"]',
        ),
    ],
    window: Annotated[
        str | None, typer.Option("--window", help="conversion window: 30m, 12h, 7d, 2w, 1mo (7d)")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="ordered (default; other events may come between steps), strict (a later "
            "step before its previous step ends the funnel) or any_order",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="channel, lifecycle, segment:A,B, property:NAME, carrier, event:NAME ..."
        ),
    ] = None,
    trend: Annotated[
        str | None,
        typer.Option(
            "--trend", help="conversion of the persons entering in each day, week or month"
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="EVENT:FROM-TO, e.g. refund:2-4: a path with EVENT after step FROM does not "
            "count as reaching steps up to TO (repeatable)",
        ),
    ] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    segment: SegmentOpt = None,
    today: TodayOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Funnel (漏斗): how many persons reach each step, in order, within the window."""
    body = request(
        steps=_steps(steps),
        window=window,
        mode=mode,
        by=by,
        trend=trend,
        exclusions=[_exclusion(x) for x in exclude] if exclude else None,
        **{"from": date_from, "to": date_to},
        segment=segment,
        today=today,
    )
    result = analyse("funnel", body, json_out=json_out)
    if result is not None:
        render(result)


def _steps(text: str) -> Any:
    if text.lstrip().startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            fail(f"--steps is not valid JSON: {exc}")
            raise AssertionError from exc
    return [s.strip() for s in text.split(",") if s.strip()]


def _exclusion(text: str) -> dict[str, Any]:
    event, sep, span = text.rpartition(":")
    start, dash, end = span.partition("-")
    if not sep or not dash or not start.strip().isdigit() or not end.strip().isdigit():
        fail(f"--exclude {text!r}: write EVENT:FROM-TO with step numbers, e.g. refund:2-4")
        raise AssertionError
    return {"event": event, "between": [int(start), int(end)]}


def render(result: dict[str, Any]) -> None:
    """The steps as a table with bars, then the breakdown and the trend if asked."""
    span = f"{result['from']} – {result['to']}"
    title = f"Funnel 漏斗 ({result['mode']}, window {result['window']}, {span})"
    table = Table(title=title)
    for column in ("step", "persons", "conversion", "from previous", "drop-off", "median time", ""):
        table.add_column(column, justify="left" if column in ("step", "") else "right")
    for row in result["steps"]:
        timing = row.get("time_to_convert") or {}
        median = timing.get("median_seconds")
        table.add_row(
            f"{row['step']}. {row['label']}",
            f"{row['count']:,}",
            _percent(row["conversion"]),
            _percent(row["conversion_from_previous"]),
            f"{row['drop_off']:,} ({_percent(row['drop_off_rate'])})" if row["step"] > 1 else "",
            _duration(median),
            bar(row["conversion"]),
        )
    console.print(table)
    loss = result.get("mean_step_drop_off")
    console.print(
        f"overall conversion {_percent(result['conversion'])}"
        + (f"; each step loses {_percent(loss)} on average" if loss is not None else "")
        + ("" if result["complete"] else " (the window after the last days has not passed yet)")
    )
    if "breakdown" in result:
        _series_table(f"by {result['breakdown']['by']}", "value", result["breakdown"]["series"])
    if "trend" in result:
        _series_table(f"trend by {result['trend']['period']}", "period", result["trend"]["series"])


def _series_table(title: str, key: str, series: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for column in (key, "entered", "converted", "conversion", ""):
        table.add_column(column, justify="left" if column in (key, "") else "right")
    for row in series:
        mark = "" if row.get("complete", True) else " *"
        table.add_row(
            f"{row[key]}{mark}",
            f"{row['entered']:,}",
            f"{row['converted']:,}",
            _percent(row["conversion"]),
            bar(row["conversion"]),
        )
    console.print(table)


def _percent(share: float | None) -> str:
    return "" if share is None else f"{share:.1%}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"
