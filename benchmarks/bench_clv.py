"""Time the CLV models: our BG/NBD and Gamma-Gamma fits and the scoring, against lifetimes.

    uv run python benchmarks/bench_clv.py --customers 100000 --runs 5
    uv run python benchmarks/bench_clv.py --customers 100000 --no-lifetimes --no-warehouse

Customers are simulated from CDNOW-like parameters (FHL 2005: r 0.243, alpha 4.414,
a 0.793, b 2.426 per week; spend p 6.25, q 3.74, gamma 15.44 dollars = 1544 fen), first
purchases spread over a year, times whole days expressed in weeks (as the product path
gives them). Timed, median of ``--runs``:

* ``siyu.analytics.btyd.fit_bgnbd`` and ``fit_gamma_gamma`` on the per-customer arrays;
* scoring every customer: P(alive), expected purchases in 365 days, discounted CLV;
* lifetimes' ``BetaGeoFitter`` / ``GammaGammaFitter`` on the same arrays (one run each by
  default, ``--lifetimes-runs``; skipped when lifetimes does not import), with the
  parameters side by side;
* with the warehouse (default): the same customers' purchases as orders in an in-memory
  warehouse (loading and identity resolution are setup), then ``clv.fit`` and
  ``clv.score`` end to end through `siyu.analytics.service.run` (Ibis inputs included).

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from siyu.analytics import btyd

TRUTH = btyd.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
SPEND = btyd.GammaGamma(p=6.25, q=3.74, gamma=1544.0)
START = date(2025, 1, 1)
UNTIL = date(2025, 12, 31)


def purchases(customers: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, day offset from START, value in fen) of every purchase day, simulated."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 365, customers)
    horizon = (UNTIL - START).days + 1
    rate = rng.gamma(TRUTH.r, 1 / TRUTH.alpha, customers) / 7  # per day
    drop = rng.beta(TRUTH.a, TRUTH.b, customers)
    nu = rng.gamma(SPEND.q, 1 / SPEND.gamma, customers)
    who, when = [np.arange(customers)], [first.astype(float)]
    now = first.astype(float)
    active = np.ones(customers, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1.0, idx.size) / rate[idx]
        inside = now[idx] < horizon
        hit = idx[inside]
        who.append(hit)
        when.append(now[hit].copy())
        dies = rng.random(hit.size) < drop[hit]
        active[idx[~inside]] = False
        active[hit[dies]] = False
    customer = np.concatenate(who)
    day = np.floor(np.concatenate(when)).astype(np.int64)
    value = np.maximum(1, np.round(rng.gamma(SPEND.p, 1 / nu[customer]))).astype(np.int64)
    return customer, day, value


def summarise(
    customer: np.ndarray, day: np.ndarray, value: np.ndarray, customers: int
) -> dict[str, np.ndarray]:
    """Per customer x, t_x, T (weeks) and the mean repeat value, as the product defines them."""
    order = np.lexsort((day, customer))
    customer, day, value = customer[order], day[order], value[order]
    keep = np.ones(customer.size, dtype=bool)
    keep[1:] = (customer[1:] != customer[:-1]) | (day[1:] != day[:-1])
    # Several purchases on one day are one purchase of their summed value.
    group = np.cumsum(keep) - 1
    value = np.bincount(group, weights=value)
    customer, day = customer[keep], day[keep]
    count = np.bincount(customer, minlength=customers)
    first = np.full(customers, np.iinfo(np.int64).max)
    np.minimum.at(first, customer, day)
    last = np.zeros(customers, dtype=np.int64)
    np.maximum.at(last, customer, day)
    total = np.bincount(customer, weights=value, minlength=customers)
    first_value = value[np.r_[0, np.flatnonzero(np.diff(customer)) + 1]]
    x = (count - 1).astype(float)
    until = (UNTIL - START).days
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(x > 0, (total - first_value) / x, 0.0)
    return {"x": x, "t_x": (last - first) / 7.0, "T": (until - first) / 7.0, "m": m}


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def score_all(fit: btyd.BgNbdFit, spend: btyd.GammaGammaFit, s: dict[str, np.ndarray]) -> Any:
    alive = btyd.p_alive(fit.params, s["x"], s["t_x"], s["T"])
    expected = btyd.expected_purchases(fit.params, 365 / 7, s["x"], s["t_x"], s["T"])
    value = btyd.lifetime_value(
        fit.params,
        spend.params,
        s["x"],
        s["t_x"],
        s["T"],
        s["m"],
        horizon_days=365,
        unit_days=7,
        monthly_discount=0.01,
    )
    return alive, expected, value


def lifetimes_fits(s: dict[str, np.ndarray], runs: int) -> dict[str, Any] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lifetimes import BetaGeoFitter, GammaGammaFitter
    except Exception as exc:  # any import failure means "not comparable"
        print(f"lifetimes does not import here ({exc!r}); skipping the comparison")
        return None
    repeat = s["x"] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg_seconds, bg = timed(lambda: BetaGeoFitter().fit(s["x"], s["t_x"], s["T"]), runs)
        gg_seconds, gg = timed(lambda: GammaGammaFitter().fit(s["x"][repeat], s["m"][repeat]), runs)
    return {
        "bgnbd_seconds": bg_seconds,
        "gamma_gamma_seconds": gg_seconds,
        "bgnbd": {k: float(bg.params_[k]) for k in ("r", "alpha", "a", "b")},
        "gamma_gamma": {
            "p": float(gg.params_["p"]),
            "q": float(gg.params_["q"]),
            "gamma": float(gg.params_["v"]),
        },
    }


def warehouse_run(
    customer: np.ndarray, day: np.ndarray, value: np.ndarray, runs: int
) -> dict[str, Any]:
    """``clv.fit`` and ``clv.score`` through the service on the orders in a warehouse."""
    from siyu.analytics import service
    from siyu.config import Settings
    from siyu.identity.graph import rebuild
    from siyu.identity.rules import IdentityRules
    from siyu.runtime import Runtime
    from siyu.storage import Warehouse

    started = time.perf_counter()
    rng = np.random.default_rng(1)
    seconds = rng.integers(0, 86_400, customer.size)
    # Local midnight in Shanghai is 16:00 UTC the day before.
    base = datetime(START.year, START.month, START.day) - timedelta(hours=8)
    paid = np.datetime64(base) + (day * 86_400 + seconds).astype("timedelta64[s]")
    n = customer.size
    orders = pa.table(
        {
            "order_id": pa.array([f"o{i}" for i in range(n)], pa.string()),
            "user_id": pa.array([f"c{c}" for c in customer], pa.string()),
            "paid_at": pa.array(paid.astype("datetime64[us]"), pa.timestamp("us")),
            "amount_fen": pa.array(value, pa.int64()),
            "refund_fen": pa.array(np.zeros(n, dtype=np.int64), pa.int64()),
            "status": pa.array(["paid"] * n, pa.string()),
            "items": pa.array(["[]"] * n, pa.string()),
            "properties": pa.array(["{}"] * n, pa.string()),
            "source_id": pa.array(["bench"] * n, pa.string()),
            "loaded_at": pa.array([datetime(2026, 1, 1)] * n, pa.timestamp("us")),
        }
    )
    warehouse = Warehouse.in_memory()
    with warehouse.transaction() as cur:
        cur.register("_orders", orders)
        cur.execute("INSERT INTO orders BY NAME SELECT * FROM _orders")
        cur.unregister("_orders")
        warehouse.number_new_orders(cur)
    rebuild(warehouse, IdentityRules())
    setup = time.perf_counter() - started
    runtime = Runtime.open(
        Settings(
            home=Path(tempfile.mkdtemp()) / "home", parse_workers=0, analytics_cache_seconds=0
        ),
        warehouse=warehouse,
    )
    body = {"until": UNTIL.isoformat(), "unit": "week", "today": "2026-01-10"}
    fit_seconds, fit = timed(lambda: service.run(runtime, "clv.fit", body), runs)
    score_body = {"fit_id": fit["fit_id"], "until": UNTIL.isoformat(), "today": "2026-01-10"}
    score_seconds, scored = timed(lambda: service.run(runtime, "clv.score", score_body), runs)
    warehouse.close()
    return {
        "orders": n,
        "setup_seconds": setup,
        "fit_seconds": fit_seconds,
        "score_seconds": score_seconds,
        "customers": fit["customers"],
        "scored": scored["scored"],
        "bgnbd": {k: fit["purchases"][k] for k in ("r", "alpha", "a", "b")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lifetimes-runs", type=int, default=1)
    parser.add_argument("--no-lifetimes", action="store_true")
    parser.add_argument("--no-warehouse", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    customer, day, value = purchases(args.customers, args.seed)
    s = summarise(customer, day, value, args.customers)
    repeat = s["x"] > 0
    distinct = len(btyd.aggregate(s["x"], s["t_x"], s["T"])[1])
    print(
        f"{args.customers:,} customers, {int(repeat.sum()):,} repeat buyers, "
        f"{customer.size:,} purchases, {distinct:,} distinct (x, t_x, T)"
    )
    bg_seconds, bg = timed(lambda: btyd.fit_bgnbd(s["x"], s["t_x"], s["T"]), args.runs)
    gg_seconds, gg = timed(lambda: btyd.fit_gamma_gamma(s["x"][repeat], s["m"][repeat]), args.runs)
    score_seconds, _ = timed(lambda: score_all(bg, gg, s), args.runs)
    theirs = None if args.no_lifetimes else lifetimes_fits(s, args.lifetimes_runs)
    ours_params = {
        "bgnbd": {k: getattr(bg.params, k) for k in ("r", "alpha", "a", "b")},
        "gamma_gamma": {"p": gg.params.p, "q": gg.params.q, "gamma": gg.params.gamma},
    }

    print(f"\n{'':28}{'siyu':>12}{'lifetimes':>12}{'ratio':>8}")
    rows = [("BG/NBD fit (s)", bg_seconds, "bgnbd_seconds")]
    rows.append(("Gamma-Gamma fit (s)", gg_seconds, "gamma_gamma_seconds"))
    for label, ours, key in rows:
        other = theirs[key] if theirs else None
        ratio = f"{other / ours:7.1f}x" if other else ""
        print(f"{label:28}{ours:12.3f}{(f'{other:12.3f}' if other else ''):>12}{ratio:>8}")
    print(f"{'score all customers (s)':28}{score_seconds:12.3f}")
    print("\nparameters (3 significant digits):")
    same = True
    for model, params in ours_params.items():
        for name, mine in params.items():
            other = theirs[model][name] if theirs else None
            agree = other is not None and f"{mine:.3g}" == f"{other:.3g}"
            same &= agree or other is None
            shown = f"{other:.3g}" if other is not None else "-"
            print(f"  {model:12}{name:6}{mine:12.3g}{shown:>12}  {'same' if agree else ''}")
    print(f"  truth: {TRUTH}, {SPEND}")
    store = None if args.no_warehouse else warehouse_run(customer, day, value, args.runs)
    if store:
        print(
            f"\nwarehouse ({store['orders']:,} orders; load + identities "
            f"{store['setup_seconds']:.1f} s, not timed): clv.fit {store['fit_seconds']:.3f} s, "
            f"clv.score {store['score_seconds']:.3f} s (median of {args.runs})"
        )
    print(
        json.dumps(
            {
                "customers": args.customers,
                "runs": args.runs,
                "purchases": int(customer.size),
                "distinct_rows": distinct,
                "bgnbd_fit_seconds": bg_seconds,
                "gamma_gamma_fit_seconds": gg_seconds,
                "score_seconds": score_seconds,
                "ours": ours_params,
                "lifetimes": theirs,
                "same_to_3_digits": same if theirs else None,
                "warehouse": store,
            }
        )
    )


if __name__ == "__main__":
    main()
