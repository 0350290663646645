"""`siyu clv fit | score | summary | list`: churn and lifetime value (流失与终身价值)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli.analytics import JsonFlag, SegmentOpt, TodayOpt, analyse, bar, request
from siyu.cli.output import console

clv_app = typer.Typer(
    help="Churn and lifetime value: fit BG/NBD + Gamma-Gamma on the orders, score persons.",
    no_args_is_help=True,
)

UntilOpt = Annotated[
    str | None,
    typer.Option("--until", help="last local day of the data, YYYY-MM-DD (default: today)"),
]


def register(app: typer.Typer) -> None:
    app.add_typer(clv_app, name="clv")


@clv_app.command("fit")
def fit_command(
    until: UntilOpt = None,
    unit: Annotated[
        str, typer.Option("--unit", help="time unit of the model: day, week or month")
    ] = "week",
    json_out: JsonFlag = False,
    today: TodayOpt = None,
) -> None:
    """Fit the purchase (BG/NBD) and spend (Gamma-Gamma) models; print their parameters."""
    result = analyse("clv.fit", request(until=until, unit=unit, today=today), json_out=json_out)
    if result is None:
        return
    console.print(
        f"fit [bold]{result['fit_id']}[/]: {result['customers']} customers "
        f"({result['repeat_customers']} repeat) with orders up to {result['until']}, "
        f"time in {result['unit']}s"
    )
    _print_models(result)


@clv_app.command("score")
def score_command(
    fit_id: Annotated[
        str | None, typer.Option("--fit", help="the fit to score with (default: the latest)")
    ] = None,
    horizon_days: Annotated[
        int | None,
        typer.Option("--horizon-days", help="days ahead for purchases and CLV (default 365)"),
    ] = None,
    discount_rate: Annotated[
        float | None,
        typer.Option("--discount-rate", help="monthly discount rate of future value (0.01)"),
    ] = None,
    until: UntilOpt = None,
    json_out: JsonFlag = False,
    today: TodayOpt = None,
) -> None:
    """Score every customer (P(alive), churn risk, expected purchases, CLV)."""
    body = request(
        fit_id=fit_id,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        until=until,
        today=today,
    )
    result = analyse("clv.score", body, json_out=json_out)
    if result is None:
        return
    clv = result["clv_fen"]
    console.print(
        f"scored [bold]{result['scored']}[/] customers with fit {result['fit_id']} "
        f"(orders up to {result['until']}, next {result['horizon_days']} days)"
    )
    console.print(
        f"at risk (P(alive) < {result['at_risk_threshold']}): {result['at_risk']}   "
        f"expected purchases: {result['expected_purchases']:,.1f}   "
        + (f"CLV: ¥{clv / 100:,.2f}" if clv is not None else "CLV: no spend model")
    )


@clv_app.command("summary")
def summary_command(
    segment: SegmentOpt = None,
    top: Annotated[int | None, typer.Option("--top", help="at-risk customers listed (20)")] = None,
    json_out: JsonFlag = False,
    today: TodayOpt = None,
) -> None:
    """The latest scores: P(alive) distribution, value deciles, customers most at risk."""
    result = analyse("clv", request(segment=segment, top=top, today=today), json_out=json_out)
    if result is None:
        return
    s = result["summary"]
    console.print(
        f"{s['persons']} scored persons, {s['repeat_customers']} repeat buyers, "
        f"{s['at_risk']} at risk (P(alive) < {s['at_risk_threshold']})"
    )
    persons = max(1, s["persons"])
    table = Table(title="P(alive)")
    for column in ("P(alive)", "persons", ""):
        table.add_column(column, justify="right" if column == "persons" else "left")
    for row in result["p_alive"]:
        share = row["persons"] / persons
        table.add_row(f"{row['from']:.1f}–{row['to']:.1f}", str(row["persons"]), bar(share))
    console.print(table)
    deciles = Table(title=f"CLV by decile (next {result['horizon_days']} days)")
    for column in ("decile", "persons", "CLV ¥", "share", ""):
        deciles.add_column(column, justify="left" if column == "" else "right")
    for row in result["clv_deciles"]:
        share = row["share"]
        deciles.add_row(
            str(row["decile"]),
            str(row["persons"]),
            f"{row['clv_fen'] / 100:,.2f}",
            f"{share:.1%}" if share is not None else "",
            bar(share),
        )
    console.print(deciles)
    risky = Table(title="Repeat buyers most at risk (spend at risk = churn risk × repeat spend)")
    for column in ("person", "P(alive)", "repeat", "mean ¥", "at risk ¥", "CLV ¥"):
        risky.add_column(column, justify="left" if column == "person" else "right")
    for row in result["at_risk"]:
        risky.add_row(
            row["person_id"],
            f"{row['p_alive']:.2f}",
            f"{row['frequency']:.0f}",
            _yuan(row["monetary_fen"]),
            _yuan(row["spend_at_risk_fen"]),
            _yuan(row["clv_fen"]),
        )
    console.print(risky)
    if result["fit"]:
        _print_models(result["fit"])


@clv_app.command("list")
def list_command(json_out: JsonFlag = False) -> None:
    """The recent fits, newest first."""
    result = analyse("clv.list", {}, json_out=json_out)
    if result is None:
        return
    table = Table(title="CLV fits")
    for column in ("fit", "fitted at", "until", "unit", "customers", "converged"):
        table.add_column(column)
    for row in result["fits"]:
        converged = row["purchases"]["converged"] and (
            row["spend"] is None or row["spend"]["converged"]
        )
        table.add_row(
            row["fit_id"],
            str(row["fitted_at"])[:19],
            str(row["until"]),
            row["unit"],
            str(row["customers"]),
            "yes" if converged else "no",
        )
    console.print(table)


def _print_models(fit: dict[str, Any]) -> None:
    p = fit["purchases"]
    table = Table(title=f"Fitted parameters (time in {fit['unit']}s, money in fen)")
    for column in ("model", "parameters", "log-likelihood", "customers", "converged"):
        table.add_column(column)
    table.add_row(
        "BG/NBD (purchases)",
        f"r={p['r']:.4g}  alpha={p['alpha']:.4g}  a={p['a']:.4g}  b={p['b']:.4g}",
        f"{p['log_likelihood']:.2f}",
        str(p["customers"]),
        "yes" if p["converged"] else f"no ({p['message']})",
    )
    s = fit.get("spend")
    if s:
        table.add_row(
            "Gamma-Gamma (spend)",
            f"p={s['p']:.4g}  q={s['q']:.4g}  gamma={s['gamma_fen']:.4g} fen",
            f"{s['log_likelihood']:.2f}",
            str(s["customers"]),
            "yes" if s["converged"] else f"no ({s['message']})",
        )
    console.print(table)
    for note in [fit.get("spend_note"), *fit.get("warnings", [])]:
        if note:
            console.print(f"[yellow]note:[/] {note}")


def _yuan(fen: float | None) -> str:
    return "" if fen is None else f"{fen / 100:,.2f}"
