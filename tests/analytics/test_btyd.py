"""The BG/NBD and Gamma-Gamma models alone: likelihoods, fits, predictions, simulations.

Published reference values (CDNOW sample, 2,357 customers, 39-week calibration):
BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4 (Fader, Hardie & Lee
2005, "Counting Your Customers the Easy Way", Marketing Science 24(2), table 1 — the
same numbers are the "as reported" check of CLVTools' tests/testthat/test_correctness_bgnbd.R);
Gamma-Gamma p = 6.25, q = 3.74, gamma = 15.44 (Fader, Hardie & Lee 2005, "RFM and CLV",
JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value", as checked in
CLVTools' test_correctness_gg.R, LL = -4055.92).
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, special

from siyu.analytics import btyd

PUBLISHED_BGNBD = btyd.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
PUBLISHED_GG = btyd.GammaGamma(p=6.25, q=3.74, gamma=15.44)


def lifetimes_file(name: str) -> Path | None:
    """A data file the `lifetimes` wheel installs (a dev dependency), or None."""
    try:
        path = Path(str(resources.files("lifetimes") / "datasets" / name))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


@pytest.fixture(scope="module")
def cdnow_summary() -> dict[str, np.ndarray]:
    path = lifetimes_file("cdnow_customers_summary_with_transactions.csv")
    if path is None:
        pytest.skip("lifetimes (dev dependency) is not installed: no CDNOW summary file")
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("x", "t_x", "T", "zbar")}


def test_bgnbd_reproduces_the_published_cdnow_estimates(
    cdnow_summary: dict[str, np.ndarray],
) -> None:
    s = cdnow_summary
    fit = btyd.fit_bgnbd(s["x"], s["t_x"], s["T"])
    got = fit.params
    assert fit.convergence.converged, fit.convergence
    assert fit.customers == 2357
    for name in ("r", "alpha", "a", "b"):
        assert getattr(got, name) == pytest.approx(getattr(PUBLISHED_BGNBD, name), abs=6e-4)
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    # The maximum: the published (rounded) parameters fit no better.
    rounded = btyd.bgnbd_log_likelihood(PUBLISHED_BGNBD, s["x"], s["t_x"], s["T"]).sum()
    assert rounded <= fit.log_likelihood


def test_gamma_gamma_reproduces_the_published_cdnow_estimates(
    cdnow_summary: dict[str, np.ndarray],
) -> None:
    s = cdnow_summary
    repeat = s["x"] > 0
    fit = btyd.fit_gamma_gamma(s["x"][repeat], s["zbar"][repeat])
    assert fit.convergence.converged, fit.convergence
    assert fit.customers == 946
    assert fit.params.p == pytest.approx(PUBLISHED_GG.p, abs=0.01)
    assert fit.params.q == pytest.approx(PUBLISHED_GG.q, abs=0.01)
    assert fit.params.gamma == pytest.approx(PUBLISHED_GG.gamma, abs=0.02)
    assert fit.log_likelihood == pytest.approx(-4055.92, abs=0.05)


def test_gradients_are_the_derivatives_of_the_likelihoods() -> None:
    rng = np.random.default_rng(3)
    sim = btyd.simulate_bgnbd(PUBLISHED_BGNBD, rng.uniform(5, 40, 500), rng)
    theta = np.log([0.4, 3.0, 1.3, 2.0])

    def ll(t: np.ndarray) -> float:
        return float(btyd._bgnbd_terms(t, sim.x, sim.t_x, sim.age)[0].sum())

    def grad(t: np.ndarray) -> np.ndarray:
        return np.array([g.sum() for g in btyd._bgnbd_terms(t, sim.x, sim.t_x, sim.age)[2]])

    numeric = optimize.approx_fprime(theta, ll, 1e-6)
    np.testing.assert_allclose(grad(theta), numeric, rtol=1e-4, atol=1e-3)

    money, _ = btyd.simulate_gamma_gamma(PUBLISHED_GG, np.maximum(sim.x, 1), rng)
    x = np.maximum(sim.x, 1)
    phi = np.log([5.0, 3.0, 12.0])
    numeric = optimize.approx_fprime(
        phi, lambda t: float(btyd._gg_terms(t, x, money)[0].sum()), 1e-6
    )
    analytic = np.array([g.sum() for g in btyd._gg_terms(phi, x, money)[1]])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-3)


def test_likelihood_is_the_closed_form_of_fhl_2005() -> None:
    """Equation (6) of the paper, written the obvious way, for a few customers."""
    p = btyd.BgNbd(0.5, 3.0, 0.9, 2.2)
    x, t_x, age = np.array([0.0, 1, 4]), np.array([0.0, 2.5, 7.0]), np.array([10.0, 10, 8])
    beta = special.beta
    expected = []
    for xi, ti, ai in zip(x, t_x, age, strict=True):
        common = special.gamma(p.r + xi) * p.alpha**p.r / special.gamma(p.r)
        alive = beta(p.a, p.b + xi) / beta(p.a, p.b) / (p.alpha + ai) ** (p.r + xi)
        dead = beta(p.a + 1, p.b + xi - 1) / beta(p.a, p.b) / (p.alpha + ti) ** (p.r + xi)
        expected.append(np.log(common * (alive + (dead if xi > 0 else 0.0))))
    np.testing.assert_allclose(btyd.bgnbd_log_likelihood(p, x, t_x, age), expected, rtol=1e-10)


def test_simulated_parameters_are_recovered() -> None:
    rng = np.random.default_rng(11)
    truth = btyd.BgNbd(r=0.6, alpha=6.0, a=0.7, b=3.0)
    sim = btyd.simulate_bgnbd(truth, rng.uniform(20, 60, 40_000), rng)
    got = btyd.fit_bgnbd(sim.x, sim.t_x, sim.age).params
    assert got.r == pytest.approx(truth.r, rel=0.08)
    assert got.alpha == pytest.approx(truth.alpha, rel=0.1)
    assert got.a == pytest.approx(truth.a, rel=0.2)
    assert got.b == pytest.approx(truth.b, rel=0.25)

    spend_truth = btyd.GammaGamma(p=4.0, q=5.0, gamma=300.0)
    x = rng.integers(1, 12, 20_000).astype(float)
    means, _ = btyd.simulate_gamma_gamma(spend_truth, x, rng)
    spend = btyd.fit_gamma_gamma(x, means).params
    assert spend.p == pytest.approx(spend_truth.p, rel=0.05)
    assert spend.q == pytest.approx(spend_truth.q, rel=0.1)
    assert spend.gamma == pytest.approx(spend_truth.gamma, rel=0.12)


def test_predictions_match_what_simulated_customers_then_do() -> None:
    """Mean P(alive) is the share truly alive; expected purchases the purchases made."""
    rng = np.random.default_rng(5)
    truth = PUBLISHED_BGNBD
    sim = btyd.simulate_bgnbd(truth, rng.uniform(20, 40, 100_000), rng, horizon=39.0)
    alive = btyd.p_alive(truth, sim.x, sim.t_x, sim.age)
    assert alive.mean() == pytest.approx(sim.alive.mean(), abs=0.01)
    repeat = sim.x >= 2
    assert alive[repeat].mean() == pytest.approx(sim.alive[repeat].mean(), abs=0.015)
    expected = btyd.expected_purchases(truth, 39.0, sim.x, sim.t_x, sim.age)
    assert expected.mean() == pytest.approx(sim.future.mean(), rel=0.03)
    busy = sim.x >= 3
    assert expected[busy].mean() == pytest.approx(sim.future[busy].mean(), rel=0.05)


def test_prediction_identities() -> None:
    p = PUBLISHED_BGNBD
    # Without repeat purchases nobody has died yet; with many and a long silence, most have.
    assert btyd.p_alive(p, [0.0], [0.0], [30.0])[0] == 1.0
    assert btyd.p_alive(p, [8.0], [2.0], [38.0])[0] < 0.01
    # A customer just acquired (x = t_x = T = 0) is expected to buy E[X(t)] (eq. 9).
    t = np.array([1.0, 10.0, 52.0])
    new = btyd.expected_purchases(p, t, np.zeros(3), np.zeros(3), np.zeros(3))
    np.testing.assert_allclose(new, btyd.expected_purchases_new(p, t), rtol=1e-10)
    # More recent purchases mean a better chance of being alive.
    recency = np.linspace(0, 30, 7)
    assert np.all(np.diff(btyd.p_alive(p, np.full(7, 3.0), recency, np.full(7, 30.0))) > 0)


def test_lifetime_value_discounts_monthly() -> None:
    p, spend = PUBLISHED_BGNBD, PUBLISHED_GG
    x, t_x, age, m = [2.0], [30.0], [38.0], [20.0]
    undiscounted = btyd.lifetime_value(
        p, spend, x, t_x, age, m, horizon_days=360, unit_days=7, monthly_discount=0.0
    )
    purchases = btyd.expected_purchases(p, 360 / 7, x, t_x, age)
    per_purchase = btyd.expected_spend(spend, x, m)
    np.testing.assert_allclose(undiscounted, purchases * per_purchase, rtol=1e-10)
    discounted = btyd.lifetime_value(
        p, spend, x, t_x, age, m, horizon_days=360, unit_days=7, monthly_discount=0.01
    )
    steps = [btyd.expected_purchases(p, d / 7, x, t_x, age)[0] for d in range(0, 390, 30)]
    by_hand = (
        sum((steps[k] - steps[k - 1]) / 1.01**k for k in range(1, len(steps))) * per_purchase[0]
    )
    assert discounted[0] == pytest.approx(by_hand, rel=1e-10)
    assert discounted[0] < undiscounted[0]


def test_expected_spend_shrinks_toward_the_population_mean() -> None:
    g = PUBLISHED_GG
    population = g.p * g.gamma / (g.q - 1)
    spend = btyd.expected_spend(g, [0.0, 1.0, 50.0], [0.0, 100.0, 100.0])
    assert spend[0] == pytest.approx(population)
    assert population < spend[1] < spend[2] < 100.0
    assert np.isnan(btyd.expected_spend(btyd.GammaGamma(2.0, 0.5, 10.0), [0.0], [0.0])[0])


@pytest.mark.parametrize(
    ("x", "t_x", "age", "words"),
    [
        ([-1.0], [0.0], [5.0], "whole number"),
        ([1.5], [1.0], [5.0], "whole number"),
        ([1.0], [6.0], [5.0], "between 0"),
        ([0.0], [1.0], [5.0], "recency 0"),
        ([0.0, 0.0], [0.0, 0.0], [5.0, 6.0], "repeat purchase"),
        ([], [], [], "no customers"),
    ],
)
def test_impossible_inputs_are_refused(
    x: list[float], t_x: list[float], age: list[float], words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        btyd.fit_bgnbd(x, t_x, age)


def test_matches_lifetimes_when_installed(cdnow_summary: dict[str, np.ndarray]) -> None:
    """Same predictions as the `lifetimes` package for the same parameters."""
    lifetimes = pytest.importorskip("lifetimes")
    s = cdnow_summary
    ours = btyd.fit_bgnbd(s["x"], s["t_x"], s["T"]).params
    theirs = lifetimes.BetaGeoFitter()
    theirs.params_ = {"r": ours.r, "alpha": ours.alpha, "a": ours.a, "b": ours.b}
    import pandas as pd

    theirs.params_ = pd.Series(theirs.params_)
    np.testing.assert_allclose(
        btyd.p_alive(ours, s["x"], s["t_x"], s["T"]),
        theirs.conditional_probability_alive(s["x"], s["t_x"], s["T"]),
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        btyd.expected_purchases(ours, 39.0, s["x"], s["t_x"], s["T"]),
        theirs.conditional_expected_number_of_purchases_up_to_time(39.0, s["x"], s["t_x"], s["T"]),
        rtol=1e-6,
    )
