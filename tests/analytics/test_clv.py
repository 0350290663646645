"""Churn and lifetime value through the warehouse: model inputs, fit, score, the summary,
the segment leaf, and requests that must be refused.

`simulated_orders` draws customers from known BG/NBD and Gamma-Gamma parameters (in
days and fen) and writes their purchases as orders, so a fit through the product path
can be checked against the truth.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from siyu.analytics import btyd, service
from siyu.analytics.clv import model_inputs
from siyu.analytics.exceptions import InvalidRequest, NotFound
from siyu.config import Settings
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.runtime import Runtime
from siyu.segments.compile import members
from siyu.segments.definition import parse_definition
from siyu.segments.facts import facts_from
from siyu.storage import Warehouse
from tests.segments.models.warehouse import Order, append, build, rows

TZ = "Asia/Shanghai"
#: Truth of the simulation: time in days, money in fen.
TRUTH = btyd.BgNbd(r=0.5, alpha=20.0, a=0.8, b=3.0)
SPEND = btyd.GammaGamma(p=4.0, q=5.0, gamma=20_000.0)
START = date(2024, 1, 1)
UNTIL = date(2024, 12, 31)
TODAY = date(2025, 1, 10)


def simulated_orders(customers: int, seed: int) -> list[Order]:
    """Orders of ``customers`` people who first bought in the first half of 2024 and then
    followed BG/NBD (``TRUTH``) with Gamma-Gamma spend (``SPEND``) until ``UNTIL``."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 182, customers)
    rate = rng.gamma(TRUTH.r, 1 / TRUTH.alpha, customers)
    drop = rng.beta(TRUTH.a, TRUTH.b, customers)
    nu = rng.gamma(SPEND.q, 1 / SPEND.gamma, customers)
    end = (UNTIL - START).days + 1
    orders: list[Order] = []
    for n in range(customers):
        at = float(first[n])
        while at < end:
            day = START + timedelta(days=int(at))
            seconds = int((at % 1) * 86_400)
            when = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
            amount = max(1, round(rng.gamma(SPEND.p, 1 / nu[n])))
            orders.append(Order(f"c{n:05d}", when.isoformat(sep=" "), amount))
            if at > first[n] and rng.random() < drop[n]:
                break
            at += rng.exponential(1 / rate[n])
    return orders


def runtime_over(warehouse: Warehouse, home: Path) -> Runtime:
    rebuild(warehouse, IdentityRules())
    return Runtime.open(Settings(home=home, parse_workers=0), warehouse=warehouse)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """4,000 simulated customers; tests may fit and score (each rewrites the scores)."""
    warehouse = build([], simulated_orders(4000, seed=7))
    yield runtime_over(warehouse, tmp_path_factory.mktemp("clv") / "home")
    warehouse.close()


def run(runtime: Runtime, name: str, **body: Any) -> dict[str, Any]:
    return service.run(runtime, name, {"today": TODAY.isoformat(), **body})


# -- model inputs ------------------------------------------------------------------------


def test_model_inputs_by_hand() -> None:
    """Purchase days are local days; refunds, unpaid orders and later orders do not count."""
    warehouse = build(
        [],
        [
            Order("u1", "2024-01-01 10:00", 1000),
            Order("u1", "2024-01-01 20:00", 500),  # same day: one purchase of 1,500
            Order("u1", "2024-01-15 23:30", 2000),
            Order("u1", "2024-01-16 00:30", 3000),  # same UTC day, next local day
            Order("u1", "2024-02-01 12:00", 4000, refund=4000),  # fully refunded
            Order("u1", "2024-03-01 12:00", 1000, refund=400),  # net 600
            Order("u1", "2024-04-01 00:00", 9999),  # after until
            Order("u2", "2024-03-31 23:59", 800),
            Order("u3", "2024-02-01 12:00", 700, status="cancelled"),
            Order("u4", "2024-03-10 12:00", 0),
            Order("u4", "2024-03-20 12:00", 0),
        ],
    )
    rebuild(warehouse, IdentityRules())
    con = warehouse.ibis()
    orders = facts_from(con, today=date(2024, 3, 31), tz=TZ).orders
    ids = con.table("identities").to_pyarrow().to_pylist()
    person = {r["person_id"]: r["identity_value"] for r in ids if r["identity_type"] == "login_id"}
    got = {
        person[r["person_id"]]: r
        for r in rows(model_inputs(orders, until=date(2024, 3, 31), tz=TZ, unit="week"))
    }
    assert set(got) == {"u1", "u2", "u4"}
    u1 = got["u1"]
    assert (u1["frequency"], u1["recency"], u1["age"]) == (3.0, 60 / 7, 90 / 7)
    assert u1["monetary_fen"] == pytest.approx((2000 + 3000 + 600) / 3)
    assert u1["first_day"] == date(2024, 1, 1)
    assert (got["u2"]["frequency"], got["u2"]["recency"], got["u2"]["age"]) == (0.0, 0.0, 0.0)
    assert got["u2"]["monetary_fen"] is None
    assert (got["u4"]["frequency"], got["u4"]["monetary_fen"]) == (1.0, 0.0)
    by_day = rows(model_inputs(orders, until=date(2024, 3, 31), tz=TZ, unit="day"))
    assert sorted(r["age"] for r in by_day) == [0.0, 21.0, 90.0]
    warehouse.close()


# -- fit and score -----------------------------------------------------------------------


def test_fit_recovers_the_simulated_parameters(simulated: Runtime) -> None:
    by_day = run(simulated, "clv.fit", until=UNTIL.isoformat(), unit="day")
    assert by_day["customers"] == 4000
    bg, gg = by_day["purchases"], by_day["spend"]
    assert bg["converged"] and gg["converged"], by_day
    assert bg["r"] == pytest.approx(TRUTH.r, rel=0.2)
    assert bg["alpha"] == pytest.approx(TRUTH.alpha, rel=0.25)
    assert bg["a"] == pytest.approx(TRUTH.a, rel=0.4)
    assert bg["b"] == pytest.approx(TRUTH.b, rel=0.4)
    # Dropout odds a / (a + b) are pinned far better than a and b apart.
    assert bg["a"] / (bg["a"] + bg["b"]) == pytest.approx(0.8 / 3.8, rel=0.15)
    assert gg["p"] == pytest.approx(SPEND.p, rel=0.25)
    assert gg["q"] == pytest.approx(SPEND.q, rel=0.3)
    assert gg["gamma_fen"] == pytest.approx(SPEND.gamma, rel=0.35)
    assert gg["mean_spend_fen"] == pytest.approx(SPEND.p * SPEND.gamma / (SPEND.q - 1), rel=0.1)
    # The unit only rescales time: alpha by 7, nothing else, the same likelihood up to
    # the constant sum(x) * log(7).
    by_week = run(simulated, "clv.fit", until=UNTIL.isoformat(), unit="week")["purchases"]
    for name in ("r", "a", "b"):
        assert by_week[name] == pytest.approx(bg[name], rel=1e-3)
    assert by_week["alpha"] == pytest.approx(bg["alpha"] / 7, rel=1e-3)
    listed = service.run(simulated, "clv.list", {"limit": 2})["fits"]
    assert [f["unit"] for f in listed[:2]] == ["week", "day"]


def test_score_writes_one_row_per_customer_and_replaces(simulated: Runtime) -> None:
    fit = run(simulated, "clv.fit", until=UNTIL.isoformat(), unit="week")
    first = run(simulated, "clv.score", horizon_days=30, until=UNTIL.isoformat())
    assert first["fit_id"] == fit["fit_id"] and first["scored"] == 4000
    second = run(simulated, "clv.score", fit_id=fit["fit_id"], until=UNTIL.isoformat())
    cur = simulated.warehouse.cursor()
    ((count, fits, horizons, nulls),) = cur.execute(
        "SELECT count(*), count(DISTINCT fit_id), count(DISTINCT horizon_days),"
        " count(*) FILTER (WHERE clv_fen IS NULL) FROM clv_scores"
    ).fetchall()
    assert (count, fits, horizons, nulls) == (4000, 1, 1, 0)
    assert second["horizon_days"] == 365
    assert second["expected_purchases"] > first["expected_purchases"] * 5
    # The stored scores are the model's formulas applied to each person's inputs.
    table = cur.execute(
        "SELECT frequency, recency, age, coalesce(monetary_fen, 0), p_alive,"
        " expected_purchases, clv_fen FROM clv_scores ORDER BY person_id LIMIT 200"
    ).fetchall()
    x, t_x, age, money, alive, expected, value = (
        np.array(c, dtype=float) for c in zip(*table, strict=True)
    )
    p = fit["purchases"]
    model = btyd.BgNbd(p["r"], p["alpha"], p["a"], p["b"])
    s = fit["spend"]
    spend = btyd.GammaGamma(s["p"], s["q"], s["gamma_fen"])
    np.testing.assert_allclose(alive, btyd.p_alive(model, x, t_x, age), rtol=1e-12)
    np.testing.assert_allclose(
        expected, btyd.expected_purchases(model, 365 / 7, x, t_x, age), rtol=1e-12
    )
    np.testing.assert_allclose(
        value,
        btyd.lifetime_value(
            model, spend, x, t_x, age, money, horizon_days=365, unit_days=7, monthly_discount=0.01
        ),
        rtol=1e-12,
    )
    assert np.all(alive[x == 0] == 1.0)


def test_summary_of_the_scores(simulated: Runtime) -> None:
    run(simulated, "clv.fit", until=UNTIL.isoformat())
    scored = run(simulated, "clv.score", until=UNTIL.isoformat(), horizon_days=180)
    answer = run(simulated, "clv", top=5)
    s = answer["summary"]
    assert s["persons"] == 4000 and s["at_risk"] == scored["at_risk"]
    assert s["clv_fen"] == pytest.approx(scored["clv_fen"])
    assert sum(b["persons"] for b in answer["p_alive"]) == 4000
    assert sum(b["persons"] for b in answer["expected_purchases"]) == 4000
    deciles = answer["clv_deciles"]
    assert [d["decile"] for d in deciles] == list(range(1, 11))
    assert sum(d["clv_fen"] for d in deciles) == pytest.approx(s["clv_fen"])
    assert all(a["min_clv_fen"] >= b["max_clv_fen"] for a, b in itertools.pairwise(deciles))
    top = answer["at_risk"]
    assert len(top) == 5 and all(r["frequency"] >= 1 for r in top)
    risk = [r["spend_at_risk_fen"] for r in top]
    assert risk == sorted(risk, reverse=True)
    assert top[0]["churn_risk"] == pytest.approx(1 - top[0]["p_alive"])
    assert answer["fit"]["fit_id"] == scored["fit_id"] and answer["horizon_days"] == 180
    with pytest.raises(InvalidRequest) as caught:
        run(simulated, "clv", segment="segment:nope")
    assert caught.value.field == "segment"


def test_segment_leaf_reads_the_latest_scores(simulated: Runtime) -> None:
    """ "P(alive) < 0.3 and bought more than once" picks exactly those scored persons."""
    run(simulated, "clv.fit", until=UNTIL.isoformat())
    run(simulated, "clv.score", until=UNTIL.isoformat())
    definition = parse_definition(
        {
            "key": "win-back",
            "rule": {
                "all": [
                    {"clv": {"field": "p_alive", "op": "lt", "value": 0.3}},
                    {"aggregate": {"fn": "count", "source": "orders", "op": "gte", "value": 2}},
                ]
            },
        }
    )
    facts = facts_from(simulated.warehouse.ibis(), today=TODAY, tz=TZ)
    got = {r["person_id"] for r in rows(members(facts, definition))}
    want = {
        r[0]
        for r in simulated.warehouse.cursor()
        .execute("SELECT person_id FROM clv_scores WHERE p_alive < 0.3 AND frequency >= 1")
        .fetchall()
    }
    assert got == want and len(want) > 50
    risky = parse_definition(
        {"key": "risky", "rule": {"clv": {"field": "churn_risk", "op": "gte", "value": 0.7}}}
    )
    assert {r["person_id"] for r in rows(members(facts, risky))} == want


# -- refused requests --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "field", "words"),
    [
        ("clv.fit", {"until": "2025-02-01"}, "until", "in the future"),
        ("clv.fit", {"until": "2023-12-31"}, "until", "before the first paid order (2024-01-"),
        ("clv.fit", {"until": "31/12/2024"}, "until", "date"),
        ("clv.fit", {"unit": "fortnight"}, "unit", "'day', 'week' or 'month'"),
        ("clv.score", {"horizon_days": 0}, "horizon_days", "greater than or equal to 1"),
        ("clv.score", {"discount_rate": 1.5}, "discount_rate", "less than 1"),
        ("clv.score", {"until": "2025-03-01"}, "until", "in the future"),
        ("clv", {"top": 0}, "top", "greater than or equal to 1"),
        ("clv", {"from": "2024-01-01"}, "from", "unknown field"),
    ],
)
def test_invalid_requests_name_the_field(
    simulated: Runtime, name: str, body: dict[str, Any], field: str, words: str
) -> None:
    if name != "clv.fit":
        run(simulated, "clv.fit", until=UNTIL.isoformat())
    with pytest.raises(InvalidRequest) as caught:
        run(simulated, name, **body)
    assert caught.value.field == field, str(caught.value)
    assert words in str(caught.value)


def test_an_unknown_argument_is_refused(simulated: Runtime) -> None:
    with pytest.raises(InvalidRequest, match="unexpected keyword argument 'horizon'"):
        run(simulated, "clv.score", horizon=30)
    with pytest.raises(NotFound, match="no CLV fit 'clv-nope'"):
        run(simulated, "clv.score", fit_id="clv-nope")


def test_without_orders_or_repeat_buyers(tmp_path: Path) -> None:
    empty = Warehouse.in_memory()
    runtime = runtime_over(empty, tmp_path / "empty")
    with pytest.raises(InvalidRequest, match="no customer has a paid order yet") as caught:
        run(runtime, "clv.fit", until="2024-12-31")
    assert caught.value.field == "until"
    with pytest.raises(NotFound, match="no CLV model has been fitted yet"):
        run(runtime, "clv.score")
    with pytest.raises(NotFound, match="no CLV scores yet"):
        run(runtime, "clv")
    append(
        empty,
        [],
        [Order("a", "2024-05-01 10:00", 100), Order("b", "2024-05-02 10:00", 100)],
        prefix="x",
    )
    rebuild(empty, IdentityRules())
    with pytest.raises(InvalidRequest, match="none of the 2 customers bought on two") as caught:
        run(runtime, "clv.fit", until="2024-12-31")
    assert caught.value.field == "until"
    empty.close()
