"""CDNOW through the product path: the sample's transactions as an order import, identities
resolved, `clv.fit` and `clv.score` — against the published estimates.

The CDNOW sample (2,357 customers who first bought in Q1 1997, purchases to June 1998) is
not shipped with siyu (its licence is unclear); the `lifetimes` wheel, a dev dependency,
installs ``CDNOW_sample.txt``: master id, customer id, date (YYYYMMDD), CDs, dollars. The
importer refuses times before 2000, so every date moves forward by `SHIFT` (a constant
number of days keeps every gap, hence every model input, exactly). Published estimates:
see tests/analytics/test_btyd.py.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from siyu.analytics import service
from siyu.config import Settings
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.ingest.importers import run_import
from siyu.runtime import Runtime
from siyu.storage import Warehouse
from tests.analytics.test_btyd import PUBLISHED_BGNBD, PUBLISHED_GG, lifetimes_file

SHIFT = date(2025, 1, 1) - date(1997, 1, 1)
CALIBRATION_END = date(1997, 9, 30) + SHIFT
HOLDOUT_END = date(1998, 6, 30) + SHIFT


def cdnow_transactions() -> list[tuple[str, date, str]]:
    """(customer, shifted date, dollars) per line of the sample file; skips without it."""
    path = lifetimes_file("CDNOW_sample.txt")
    if path is None:
        pytest.skip("lifetimes (dev dependency) is not installed: no CDNOW_sample.txt to import")
    out = []
    for line in path.read_text(encoding="ascii").splitlines():
        if line.strip():
            _, customer, day, _, dollars = line.split()
            when = date(int(day[:4]), int(day[4:6]), int(day[6:])) + SHIFT
            out.append((customer, when, dollars))
    return out


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, list[Any]]]:
    """A warehouse holding the CDNOW sample imported as orders, persons resolved."""
    rows = cdnow_transactions()
    folder = tmp_path_factory.mktemp("cdnow")
    path = folder / "cdnow_orders.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["order_id", "member_id", "paid_at", "amount_yuan"])
        for n, (customer, when, dollars) in enumerate(rows):
            out.writerow([f"cdnow-{n}", f"cdnow-{customer}", when.isoformat(), dollars])
    warehouse = Warehouse.in_memory()
    summary = run_import(warehouse, "orders", path, tz="Asia/Shanghai")
    assert (summary.rows_accepted, summary.rows_rejected) == (len(rows), 0)
    rebuild(warehouse, IdentityRules())
    runtime = Runtime.open(
        Settings(home=Path(folder) / "home", parse_workers=0), warehouse=warehouse
    )
    yield runtime, rows
    warehouse.close()


def test_fit_reproduces_the_published_cdnow_estimates(cdnow: tuple[Runtime, list[Any]]) -> None:
    runtime, _ = cdnow
    fit = service.run(
        runtime,
        "clv.fit",
        {"until": CALIBRATION_END.isoformat(), "unit": "week", "today": HOLDOUT_END.isoformat()},
    )
    assert fit["customers"] == 2357
    assert fit["repeat_customers"] == 946
    bg = fit["purchases"]
    assert bg["converged"], bg
    assert bg["r"] == pytest.approx(PUBLISHED_BGNBD.r, abs=6e-4)
    assert bg["alpha"] == pytest.approx(PUBLISHED_BGNBD.alpha, abs=6e-3)
    assert bg["a"] == pytest.approx(PUBLISHED_BGNBD.a, abs=6e-4)
    assert bg["b"] == pytest.approx(PUBLISHED_BGNBD.b, abs=6e-3)
    assert bg["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)
    gg = fit["spend"]
    assert gg["converged"] and gg["customers"] == 946
    assert gg["p"] == pytest.approx(PUBLISHED_GG.p, abs=0.01)
    assert gg["q"] == pytest.approx(PUBLISHED_GG.q, abs=0.01)
    # Money is fen: the dollars were imported as yuan.
    assert gg["gamma_fen"] / 100 == pytest.approx(PUBLISHED_GG.gamma, abs=0.02)
    assert fit["warnings"] == []


def test_scores_forecast_the_holdout_purchases(cdnow: tuple[Runtime, list[Any]]) -> None:
    """Scored at the end of the calibration, the 39-week forecast tracks what happened."""
    runtime, rows = cdnow
    fit = service.run(
        runtime,
        "clv.fit",
        {"until": CALIBRATION_END.isoformat(), "unit": "week", "today": HOLDOUT_END.isoformat()},
    )
    horizon = (HOLDOUT_END - CALIBRATION_END).days
    scored = service.run(
        runtime,
        "clv.score",
        {
            "fit_id": fit["fit_id"],
            "horizon_days": horizon,
            "until": CALIBRATION_END.isoformat(),
            "today": HOLDOUT_END.isoformat(),
        },
    )
    assert scored["scored"] == 2357
    # The same forecast as lifetimes computes from its own CDNOW summary and fit...
    lifetimes = pytest.importorskip("lifetimes")
    pd = pytest.importorskip("pandas")
    summary = pd.read_csv(lifetimes_file("cdnow_customers_summary.csv"))
    x, t_x, age = summary["frequency"], summary["recency"], summary["T"]
    reference = lifetimes.BetaGeoFitter().fit(x, t_x, age)
    forecast = reference.conditional_expected_number_of_purchases_up_to_time(
        horizon / 7, x, t_x, age
    ).sum()
    assert scored["expected_purchases"] == pytest.approx(forecast, rel=1e-3)
    # ... which falls about 12% short of what happened (1,882 purchase days): the model's
    # known under-forecast of this holdout, not a flaw of the scoring.
    holdout_days = {(c, d) for c, d, _ in rows if CALIBRATION_END < d <= HOLDOUT_END}
    assert len(holdout_days) == 1882
    assert 0.85 * len(holdout_days) < scored["expected_purchases"] < len(holdout_days)
    cur = runtime.warehouse.cursor()
    ((zero_alive, at_risk),) = cur.execute(
        "SELECT min(p_alive) FILTER (WHERE frequency = 0), count(*) FILTER (WHERE p_alive < 0.3)"
        " FROM clv_scores"
    ).fetchall()
    assert zero_alive == 1.0
    assert at_risk == scored["at_risk"] > 0


def test_data_after_until_is_not_seen(cdnow: tuple[Runtime, list[Any]]) -> None:
    """A fit on the first 20 weeks sees only customers who had bought by then."""
    runtime, rows = cdnow
    until = date(1997, 5, 20) + SHIFT
    fit = service.run(
        runtime, "clv.fit", {"until": until.isoformat(), "today": HOLDOUT_END.isoformat()}
    )
    first: dict[str, date] = {}
    for customer, when, _ in rows:
        first[customer] = min(when, first.get(customer, when))
    assert fit["customers"] == sum(1 for d in first.values() if d <= until)
    assert fit["until"] == until.isoformat()
    assert fit["unit"] == "week"
    assert fit["first_purchase"] == (date(1997, 1, 1) + SHIFT).isoformat()
    assert timedelta(days=0) < until - date.fromisoformat(fit["first_purchase"])
