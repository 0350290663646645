"""Churn and lifetime value (流失预测与用户终身价值): BG/NBD and Gamma-Gamma on the orders.

Three entry points, all through `siyu.analytics.service.run`:

* ``clv.fit`` (`fit`) — per-person model inputs from the orders up to the end of local
  day ``until`` (`model_inputs`, an Ibis expression), BG/NBD and Gamma-Gamma fitted by
  maximum likelihood (`siyu.analytics.btyd`), stored in ``clv_fits``.
* ``clv.score`` (`score`) — P(alive), churn risk, expected purchases and discounted CLV
  of every customer under a fit, replacing ``clv_scores`` (which the segment language's
  ``clv`` node reads).
* ``clv`` (`analyse`) — a summary of the scores: distributions, the customers most at
  risk, the fitted parameters.

Conventions (docs/analytics-clv.md): a *purchase* is a local day with at least one paid,
not fully refunded order (same as "paying"); several orders on one day are one purchase
of their summed net amount. Frequency x is the number of purchase days minus one, recency
t_x the time from the first to the last purchase day and age T from the first purchase
day to the end of ``until``, in the chosen unit (day, week = 7 days, month = 30 days).
Gamma-Gamma reads the mean net value of the repeat purchases (the first one left out).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from siyu.analytics import btyd
from siyu.analytics.exceptions import InvalidRequest, NotFound
from siyu.analytics.scope import Context, check_segment, only_segment
from siyu.analytics.service import jsonable, parse_request
from siyu.segments.models.activity import net_orders
from siyu.segments.models.config import OrdersConfig
from siyu.segments.models.days import date_of, day_number, day_of, end_of
from siyu.storage import clv_store

if TYPE_CHECKING:
    from siyu.runtime import Runtime

#: Days per time unit of the model; a month is 30 days, as in analysis windows.
UNITS: Final = {"day": 1, "week": 7, "month": 30}
Unit = Literal["day", "week", "month"]
DEFAULT_HORIZON_DAYS: Final = 365
#: Monthly discount rate of future value: 1% a month, about 12.7% a year.
DEFAULT_MONTHLY_DISCOUNT: Final = 0.01
#: Persons with P(alive) below this are counted "at risk" in summaries.
AT_RISK_P_ALIVE: Final = 0.3
#: Fewest repeat buyers with a positive spend for which Gamma-Gamma is fitted.
MIN_SPEND_CUSTOMERS: Final = 10
#: Equal-width bins of the P(alive) histogram.
P_ALIVE_BINS: Final = 10
#: Lower edges of the expected-purchases histogram.
PURCHASE_EDGES: Final = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)


class FitRequest(BaseModel):
    """``until``: the last local day of the calibration (default today); ``unit`` of time."""

    model_config = ConfigDict(extra="forbid")

    until: date | None = None
    unit: Unit = "week"
    today: date | None = None


class ScoreRequest(BaseModel):
    """Which fit (default the latest), how far ahead, and the data's last day."""

    model_config = ConfigDict(extra="forbid")

    fit_id: str | None = None
    horizon_days: Annotated[int, Field(ge=1, le=3650)] = DEFAULT_HORIZON_DAYS
    discount_rate: Annotated[float, Field(ge=0.0, lt=1.0)] = DEFAULT_MONTHLY_DISCOUNT
    until: date | None = None
    today: date | None = None


class Request(BaseModel):
    """The ``clv`` summary: optionally of one segment's members; ``top`` at-risk rows."""

    model_config = ConfigDict(extra="forbid")

    segment: str | None = None
    top: Annotated[int, Field(ge=1, le=500)] = 20


# -- model inputs ------------------------------------------------------------------------


def model_inputs(
    orders: ir.Table,
    *,
    until: date,
    tz: str,
    unit: str,
    config: OrdersConfig | None = None,
) -> ir.Table:
    """One row per customer with a purchase by the end of local day ``until``.

    Columns: ``person_id``, ``frequency`` (purchase days - 1), ``recency`` and ``age``
    (in ``unit``), ``monetary_fen`` (mean net value of the repeat purchase days; null
    without a repeat purchase), ``first_day`` (local date of the first purchase).
    ``orders`` needs person_id, paid_at, amount_fen, refund_fen, status.
    """
    paid = net_orders(orders, config or OrdersConfig(), end_of(until, tz))
    days = paid.select("person_id", day=day_of(paid.paid_at, tz), value=paid.net_fen)
    per_day = days.group_by(["person_id", "day"]).aggregate(value=days.value.sum())
    g = per_day.group_by("person_id").aggregate(
        first=per_day.day.min(),
        last=per_day.day.max(),
        n=per_day.count(),
        total=per_day.value.sum(),
        first_value=per_day.value.argmin(per_day.day),
    )
    unit_days = float(UNITS[unit])
    repeat_value = (g.total - g.first_value).cast("float64") / (g.n - 1).cast("float64")
    return g.select(
        "person_id",
        frequency=(g.n - 1).cast("float64"),
        recency=(g.last - g.first).cast("float64") / unit_days,
        age=(ibis.literal(day_number(until)) - g.first).cast("float64") / unit_days,
        monetary_fen=ibis.ifelse(g.n > 1, repeat_value, ibis.null("float64")),
        first_day=date_of(g.first),
    )


# -- operations --------------------------------------------------------------------------


def fit(
    runtime: Runtime, until: Any = None, unit: Any = "week", today: Any = None
) -> dict[str, Any]:
    """Fit BG/NBD and Gamma-Gamma on the orders up to ``until`` and store the fit."""
    request: FitRequest = parse_request(FitRequest, _given(until=until, unit=unit, today=today))
    started = time.perf_counter()
    last = _until(runtime, request.until, request.today)
    inputs = _inputs(runtime, last, request.unit)
    x, t_x, age = inputs["frequency"], inputs["recency"], inputs["age"]
    if not np.any(x > 0):
        raise InvalidRequest(
            "until",
            f"none of the {x.size} customers bought on two different days by {last}; BG/NBD "
            "needs repeat buyers: choose a later until or import more order history",
        )
    purchases = btyd.fit_bgnbd(x, t_x, age)
    spend, spend_note = _fit_spend(x, inputs["monetary_fen"])
    params: dict[str, Any] = {
        "unit_days": UNITS[request.unit],
        "repeat_customers": int(np.count_nonzero(x > 0)),
        "first_purchase": inputs["first_purchase"],
        "purchases": _purchases_json(purchases),
        "spend": spend,
        "spend_note": spend_note,
        "warnings": _warnings(purchases, spend),
    }
    fit_id = f"clv-{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    with runtime.warehouse.transaction() as cur:
        stored = clv_store.insert_fit(
            cur,
            fit_id,
            until=last,
            unit=request.unit,
            customers=int(x.size),
            params=jsonable(params),
        )
    return {**_fit_json(stored), "seconds": round(time.perf_counter() - started, 3)}


def score(
    runtime: Runtime,
    fit_id: Any = None,
    horizon_days: Any = DEFAULT_HORIZON_DAYS,
    discount_rate: Any = DEFAULT_MONTHLY_DISCOUNT,
    until: Any = None,
    today: Any = None,
) -> dict[str, Any]:
    """Score every customer under a fit (default the latest) and replace ``clv_scores``.

    Scores describe each person as of the end of local day ``until`` (default today): the
    fit's parameters applied to their purchases up to then.
    """
    request: ScoreRequest = parse_request(
        ScoreRequest,
        _given(
            fit_id=fit_id,
            horizon_days=horizon_days,
            discount_rate=discount_rate,
            until=until,
            today=today,
        ),
    )
    started = time.perf_counter()
    stored = _stored_fit(runtime, request.fit_id)
    last = _until(runtime, request.until, request.today)
    inputs = _inputs(runtime, last, stored.unit)
    purchases = _bgnbd_of(stored)
    x, t_x, age, money = (
        inputs["frequency"],
        inputs["recency"],
        inputs["age"],
        inputs["monetary_fen"],
    )
    unit_days = float(UNITS[stored.unit])
    alive = btyd.p_alive(purchases, x, t_x, age)
    expected = btyd.expected_purchases(purchases, request.horizon_days / unit_days, x, t_x, age)
    spend = _gamma_gamma_of(stored)
    value = (
        btyd.lifetime_value(
            purchases,
            spend,
            x,
            t_x,
            age,
            np.nan_to_num(money),
            horizon_days=request.horizon_days,
            unit_days=unit_days,
            monthly_discount=request.discount_rate,
        )
        if spend is not None
        else np.full(x.size, np.nan)
    )
    table = pa.table(
        {
            "person_id": inputs["person_id"],
            "frequency": pa.array(x, pa.float64()),
            "recency": pa.array(t_x, pa.float64()),
            "age": pa.array(age, pa.float64()),
            "monetary_fen": pa.array(money, pa.float64(), mask=np.isnan(money)),
            "p_alive": pa.array(alive, pa.float64()),
            "expected_purchases": pa.array(expected, pa.float64()),
            "clv_fen": pa.array(value, pa.float64(), mask=np.isnan(value)),
        }
    )
    with runtime.warehouse.transaction() as cur:
        written = clv_store.replace_scores(
            cur, table, fit_id=stored.fit_id, horizon_days=request.horizon_days
        )
    valued = value[~np.isnan(value)]
    return {
        "fit_id": stored.fit_id,
        "until": last,
        "unit": stored.unit,
        "horizon_days": request.horizon_days,
        "discount_rate": request.discount_rate,
        "scored": written,
        "repeat_customers": int(np.count_nonzero(x > 0)),
        "at_risk": int(np.count_nonzero(alive < AT_RISK_P_ALIVE)),
        "at_risk_threshold": AT_RISK_P_ALIVE,
        "mean_p_alive": float(alive.mean()),
        "expected_purchases": float(expected.sum()),
        "clv_fen": float(valued.sum()) if valued.size else None,
        "valued": int(valued.size),
        "seconds": round(time.perf_counter() - started, 3),
    }


def fits(runtime: Runtime, limit: Any = 20) -> dict[str, Any]:
    """The most recent fits, newest first (``clv.fits``)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
        raise InvalidRequest("limit", f"{limit!r} is not a whole number from 1 to 500")
    rows = clv_store.recent_fits(runtime.warehouse.cursor(), limit)
    return {"fits": [_fit_json(f) for f in rows]}


def _given(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _until(runtime: Runtime, until: date | None, today: date | None) -> date:
    now = today or datetime.now(UTC).astimezone(runtime.settings.tz).date()
    last = until or now
    if last > now:
        raise InvalidRequest(
            "until",
            f"{last} is in the future (today is {now}); the calibration must end on a day "
            "that has begun — use today or an earlier day",
        )
    return last


def _inputs(runtime: Runtime, until: date, unit: str) -> dict[str, Any]:
    """The model inputs as numpy arrays, with checks that name the field at fault."""
    from siyu.segments.facts import facts_from
    from siyu.segments.service import models_config

    tz = runtime.settings.timezone
    con = runtime.warehouse.ibis()
    orders = facts_from(con, today=until, tz=tz).orders
    config = models_config(runtime).orders
    frame = model_inputs(orders, until=until, tz=tz, unit=unit, config=config)
    table = frame.order_by("person_id").to_pyarrow()
    if table.num_rows == 0:
        paid = net_orders(orders, config, datetime(9999, 1, 1))
        first = paid.select(day=day_of(paid.paid_at, tz)).day.min().execute()
        if first is None or np.isnan(first):
            raise InvalidRequest(
                "until",
                "no customer has a paid order yet; import orders first "
                "(`siyu import orders FILE`, docs/importing.md)",
            )
        first_day = date(1970, 1, 1) + timedelta(days=int(first))
        raise InvalidRequest(
            "until", f"{until} is before the first paid order ({first_day}); choose a later day"
        )
    out: dict[str, Any] = {"person_id": table.column("person_id")}
    for name in ("frequency", "recency", "age", "monetary_fen"):
        out[name] = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
    out["first_purchase"] = pc.min(table.column("first_day")).as_py()
    return out


def _fit_spend(x: Any, money: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Gamma-Gamma on the repeat buyers with a positive mean spend, or why not."""
    usable = (x > 0) & np.isfinite(money) & (money > 0)
    count = int(np.count_nonzero(usable))
    if count < MIN_SPEND_CUSTOMERS:
        return None, (
            f"only {count} repeat buyers with a positive spend; the spend model needs at "
            f"least {MIN_SPEND_CUSTOMERS}, so no lifetime value is given"
        )
    result = btyd.fit_gamma_gamma(x[usable], money[usable])
    p, q, gamma = result.params.p, result.params.q, result.params.gamma
    correlation = float(np.corrcoef(x[usable], money[usable])[0, 1]) if count > 2 else None
    note = None
    if q <= 1:
        note = "q <= 1: the mean spend of a customer without repeat purchases is undefined"
    return {
        "model": "Gamma-Gamma",
        "p": p,
        "q": q,
        "gamma_fen": gamma,
        "mean_spend_fen": p * gamma / (q - 1) if q > 1 else None,
        "log_likelihood": result.log_likelihood,
        "customers": result.customers,
        "frequency_spend_correlation": correlation,
        **_convergence_json(result.convergence),
    }, note


def _warnings(purchases: btyd.BgNbdFit, spend: dict[str, Any] | None) -> list[str]:
    """What an operator should know before trusting the parameters."""
    out = []
    p = purchases.params
    if not purchases.convergence.converged:
        out.append(
            f"the purchase model did not converge ({purchases.convergence.message.strip()}): "
            "the orders barely identify it; more customers or a longer history help"
        )
    extreme = [n for n, v in (("r", p.r), ("alpha", p.alpha), ("a", p.a), ("b", p.b)) if v > 1e4]
    if extreme:
        out.append(
            f"{', '.join(extreme)} ran to extreme values: the data show almost no dropout, "
            "so P(alive) stays near 1; fit again when the history is longer"
        )
    if spend is not None and not spend["converged"]:
        out.append(f"the spend model did not converge ({str(spend['message']).strip()})")
    return out


def _purchases_json(result: btyd.BgNbdFit) -> dict[str, Any]:
    params = result.params
    return {
        "model": "BG/NBD",
        "r": params.r,
        "alpha": params.alpha,
        "a": params.a,
        "b": params.b,
        "log_likelihood": result.log_likelihood,
        "customers": result.customers,
        **_convergence_json(result.convergence),
    }


def _convergence_json(c: btyd.Convergence) -> dict[str, Any]:
    return {
        "converged": c.converged,
        "message": c.message,
        "iterations": c.iterations,
        "evaluations": c.evaluations,
        "fit_seconds": c.seconds,
    }


def _fit_json(stored: clv_store.StoredFit) -> dict[str, Any]:
    return {
        "fit_id": stored.fit_id,
        "fitted_at": stored.fitted_at,
        "until": stored.until,
        "unit": stored.unit,
        "customers": stored.customers,
        **stored.params,
    }


def _stored_fit(runtime: Runtime, fit_id: str | None) -> clv_store.StoredFit:
    cur = runtime.warehouse.cursor()
    stored = clv_store.get_fit(cur, fit_id) if fit_id else clv_store.latest_fit(cur)
    if stored is None:
        if fit_id:
            raise NotFound(f"fit_id: no CLV fit {fit_id!r}; list them with `siyu clv fits`")
        raise NotFound("no CLV model has been fitted yet; run `siyu clv fit --until DATE` first")
    return stored


def _bgnbd_of(stored: clv_store.StoredFit) -> btyd.BgNbd:
    p = stored.params["purchases"]
    return btyd.BgNbd(float(p["r"]), float(p["alpha"]), float(p["a"]), float(p["b"]))


def _gamma_gamma_of(stored: clv_store.StoredFit) -> btyd.GammaGamma | None:
    s = stored.params.get("spend")
    if not s:
        return None
    return btyd.GammaGamma(float(s["p"]), float(s["q"]), float(s["gamma_fen"]))


# -- the summary -------------------------------------------------------------------------


def analyse(ctx: Context, request: Request) -> dict[str, Any]:
    """Distributions of P(alive), expected purchases and CLV; customers most at risk; the
    fitted parameters of the model the scores came from."""
    scores = ctx.table("clv_scores")
    total = int(scores.count().execute())
    if total == 0:
        raise NotFound("no CLV scores yet; run `siyu clv fit` and then `siyu clv score`")
    if request.segment is not None:
        check_segment(ctx, request.segment)
        scores = only_segment(scores, ctx, request.segment)
    scores = scores.mutate(churn_risk=1.0 - scores.p_alive)
    stats = _stats(scores)
    fit_ids = scores.select("fit_id").distinct().limit(2).execute()["fit_id"].tolist()
    horizon = scores.horizon_days.max().execute()
    return {
        "segment": request.segment,
        "fit": _fit_of(ctx, fit_ids[0]) if fit_ids else None,
        "horizon_days": None if _missing(horizon) else int(horizon),
        "summary": stats,
        "p_alive": _p_alive_histogram(scores),
        "expected_purchases": _purchase_histogram(scores),
        "clv_deciles": _clv_deciles(scores),
        "at_risk": _top_at_risk(scores, request.top),
    }


def _missing(value: Any) -> bool:
    """None, NaN or a pandas missing value."""
    return value is None or bool(pd.isna(value))


def _stats(scores: ir.Table) -> dict[str, Any]:
    row = (
        scores.aggregate(
            persons=scores.count(),
            repeat_customers=(scores.frequency > 0).sum(),
            at_risk=(scores.p_alive < AT_RISK_P_ALIVE).sum(),
            mean_p_alive=scores.p_alive.mean(),
            expected_purchases=scores.expected_purchases.sum(),
            mean_expected_purchases=scores.expected_purchases.mean(),
            valued=scores.clv_fen.count(),
            clv_fen=scores.clv_fen.sum(),
            mean_clv_fen=scores.clv_fen.mean(),
            max_clv_fen=scores.clv_fen.max(),
        )
        .execute()
        .iloc[0]
        .to_dict()
    )
    out = {k: (None if _missing(v) else v) for k, v in row.items()}
    for key in ("persons", "repeat_customers", "at_risk", "valued"):
        out[key] = int(out[key] or 0)
    out["at_risk_threshold"] = AT_RISK_P_ALIVE
    return out


def _p_alive_histogram(scores: ir.Table) -> list[dict[str, Any]]:
    bucket = ibis.least((scores.p_alive * P_ALIVE_BINS).floor(), P_ALIVE_BINS - 1).cast("int64")
    counts = (
        scores.mutate(bucket=bucket)
        .group_by("bucket")
        .aggregate(persons=lambda t: t.count())
        .execute()
    )
    found = {int(b): int(n) for b, n in zip(counts["bucket"], counts["persons"], strict=True)}
    width = 1.0 / P_ALIVE_BINS
    return [
        {"from": round(i * width, 4), "to": round((i + 1) * width, 4), "persons": found.get(i, 0)}
        for i in range(P_ALIVE_BINS)
    ]


def _purchase_histogram(scores: ir.Table) -> list[dict[str, Any]]:
    edges = PURCHASE_EDGES
    bucket = ibis.cases(
        *((scores.expected_purchases >= lo, i) for i, lo in reversed(list(enumerate(edges)))),
        else_=0,
    )
    counts = (
        scores.mutate(bucket=bucket)
        .group_by("bucket")
        .aggregate(persons=lambda t: t.count())
        .execute()
    )
    found = {int(b): int(n) for b, n in zip(counts["bucket"], counts["persons"], strict=True)}
    return [
        {"from": lo, "to": edges[i + 1] if i + 1 < len(edges) else None, "persons": found.get(i, 0)}
        for i, lo in enumerate(edges)
    ]


def _clv_deciles(scores: ir.Table) -> list[dict[str, Any]]:
    """Valued persons in ten groups by CLV, highest first: how concentrated value is."""
    valued = scores.filter(scores.clv_fen.notnull())
    ranked = valued.mutate(decile=ibis.ntile(10).over(order_by=[valued.clv_fen.desc()]))
    rows = (
        ranked.group_by("decile")
        .aggregate(
            persons=ranked.count(),
            clv_fen=ranked.clv_fen.sum(),
            min_clv_fen=ranked.clv_fen.min(),
            max_clv_fen=ranked.clv_fen.max(),
        )
        .order_by("decile")
        .execute()
    )
    total = float(rows["clv_fen"].sum()) if len(rows) else 0.0
    return [
        {
            "decile": int(r.decile) + 1,
            "persons": int(r.persons),
            "clv_fen": float(r.clv_fen),
            "share": float(r.clv_fen) / total if total > 0 else None,
            "min_clv_fen": float(r.min_clv_fen),
            "max_clv_fen": float(r.max_clv_fen),
        }
        for r in rows.itertuples()
    ]


def _top_at_risk(scores: ir.Table, top: int) -> list[dict[str, Any]]:
    """Repeat buyers by spend at risk: churn risk x what they spent on repeat purchases."""
    repeat = scores.filter(scores.frequency > 0)
    at_risk = repeat.mutate(
        spend_at_risk_fen=repeat.churn_risk * repeat.frequency * repeat.monetary_fen.fill_null(0.0)
    )
    rows = (
        at_risk.order_by([at_risk.spend_at_risk_fen.desc(), at_risk.person_id])
        .limit(top)
        .select(
            "person_id",
            "p_alive",
            "churn_risk",
            "frequency",
            "recency",
            "age",
            "monetary_fen",
            "expected_purchases",
            "clv_fen",
            "spend_at_risk_fen",
        )
        .to_pyarrow()
    )
    return list(rows.to_pylist())


def _fit_of(ctx: Context, fit_id: str) -> dict[str, Any] | None:
    import orjson

    fits = ctx.table("clv_fits")
    rows = fits.filter(fits.fit_id == fit_id).to_pyarrow().to_pylist()
    if not rows:
        return None
    row = rows[0]
    params = row["params"]
    return {
        "fit_id": row["fit_id"],
        "fitted_at": row["fitted_at"],
        "until": row["until"],
        "unit": row["unit"],
        "customers": row["customers"],
        **(orjson.loads(params) if isinstance(params, str) else {}),
    }
