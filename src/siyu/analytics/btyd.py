"""Buy-till-you-die models: BG/NBD for purchases and Gamma-Gamma for spend, in numpy.

Per customer the models read ``x`` (repeat purchases), ``t_x`` (time of the last
purchase since the first) and ``T``, here ``age`` (time since the first purchase to the
end of the calibration period), all in one time unit, and for spend ``m`` (the mean value of the
repeat purchases).

* BG/NBD — Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An
  Alternative to the Pareto/NBD Model", Marketing Science 24(2): while alive a customer
  buys as a Poisson process with rate ~ Gamma(r, alpha); after each purchase they die
  with probability p ~ Beta(a, b).
* Gamma-Gamma — Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for
  Customer Base Analysis", J. Marketing Research 42(4); Fader & Hardie (2013), "The
  Gamma-Gamma Model of Monetary Value": transaction values ~ Gamma(p, nu) with
  nu ~ Gamma(q, gamma), independent of the purchase process.

Both are fitted by maximum likelihood over log-parameters with analytic gradients
(L-BFGS-B); customers with identical inputs are fitted once with a weight, so a fit over
100,000 customers takes a fraction of a second.

Example:
    >>> import numpy as np
    >>> truth = BgNbd(r=0.5, alpha=5.0, a=0.8, b=2.5)
    >>> sim = simulate_bgnbd(truth, np.full(20_000, 40.0), np.random.default_rng(1))
    >>> fit = fit_bgnbd(sim.x, sim.t_x, sim.age)
    >>> bool(abs(fit.params.r - 0.5) < 0.05 and fit.convergence.converged)
    True
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

Array = npt.NDArray[np.float64]

#: Bounds of every log-parameter: parameters between e^-15 and e^15.
_LOG_BOUND: Final = 15.0
#: Largest time in the (rescaled) data the optimiser sees; alpha is rescaled back.
_TIME_SCALE: Final = 10.0


@dataclass(frozen=True)
class BgNbd:
    """BG/NBD parameters: purchase rate ~ Gamma(r, alpha), dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGamma:
    """Gamma-Gamma parameters: spend ~ Gamma(p, nu), nu ~ Gamma(q, gamma) (money units)."""

    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class Convergence:
    """How the optimiser ended."""

    converged: bool
    message: str
    iterations: int
    evaluations: int
    seconds: float


@dataclass(frozen=True)
class BgNbdFit:
    params: BgNbd
    log_likelihood: float
    customers: int
    convergence: Convergence


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGamma
    log_likelihood: float
    customers: int
    convergence: Convergence


# -- data --------------------------------------------------------------------------------


def _floats(*arrays: npt.ArrayLike) -> list[Array]:
    out = [np.asarray(a, dtype=np.float64) for a in arrays]
    if len({a.shape for a in out}) != 1 or out[0].ndim != 1:
        raise ValueError("the model inputs must be one-dimensional arrays of one length")
    return out


def aggregate(*columns: npt.ArrayLike) -> tuple[list[Array], Array]:
    """The distinct rows of ``columns`` and how many times each occurs.

    Example:
        >>> (xs, ts), n = aggregate([0, 1, 1, 0], [0.0, 2.0, 2.0, 0.0])
        >>> xs.tolist(), ts.tolist(), n.tolist()
        ([0.0, 1.0], [0.0, 2.0], [2.0, 2.0])
    """
    stacked = np.column_stack(_floats(*columns))
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return [rows[:, i].copy() for i in range(rows.shape[1])], counts.astype(np.float64)


def check_inputs(x: Array, t_x: Array, age: Array) -> None:
    """Refuse inputs no customer can have (negative counts, recency beyond age...)."""
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(age)):
        raise ValueError("the inputs hold missing or infinite values")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("frequency must be a whole number >= 0")
    if np.any(t_x < 0) or np.any(t_x > age + 1e-9):
        raise ValueError("recency must lie between 0 and the customer's age")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("a customer without repeat purchases has recency 0")


# -- BG/NBD ------------------------------------------------------------------------------


def _bgnbd_terms(
    log_params: Array, x: Array, t_x: Array, age: Array
) -> tuple[Array, Array, list[Array]]:
    """Per-row log-likelihood and its gradient w.r.t. the log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    repeat = x > 0
    xm1 = np.where(repeat, x - 1.0, 0.0)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    log_at = np.log(alpha + age)
    log_ax = np.log(alpha + t_x)
    a3 = -(r + x) * log_at
    a4 = np.where(repeat, np.log(a) - np.log(b + xm1) - (r + x) * log_ax, -np.inf)
    mix = np.logaddexp(a3, a4)
    w3 = np.exp(a3 - mix)
    w4 = np.where(repeat, np.exp(a4 - mix), 0.0)
    psi_ab, psi_abx = special.digamma(a + b), special.digamma(a + b + x)
    d_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha) - w3 * log_at - w4 * log_ax
    d_alpha = r / alpha - w3 * (r + x) / (alpha + age) - w4 * (r + x) / (alpha + t_x)
    d_a = psi_ab - psi_abx + w4 / a
    d_b = (
        psi_ab
        + special.digamma(b + x)
        - special.digamma(b)
        - psi_abx
        - np.where(repeat, w4 / (b + xm1), 0.0)
    )
    grads = [d_r * r, d_alpha * alpha, d_a * a, d_b * b]
    return a1 + a2 + mix, mix, grads


def bgnbd_log_likelihood(
    params: BgNbd, x: npt.ArrayLike, t_x: npt.ArrayLike, age: npt.ArrayLike
) -> Array:
    """The log-likelihood of each customer's (x, t_x, T) under ``params``."""
    xs, ts, ages = _floats(x, t_x, age)
    log_params = np.log([params.r, params.alpha, params.a, params.b])
    return _bgnbd_terms(log_params, xs, ts, ages)[0]


def fit_bgnbd(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    age: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> BgNbdFit:
    """Maximum-likelihood BG/NBD parameters.

    Identical rows are collapsed (their weights add up); times are rescaled so the
    longest age is 10 units while fitting, then alpha is scaled back, so the answer is in
    the units of ``t_x`` and ``age``. Raises ValueError on impossible inputs or when no
    customer bought twice (the dropout process is then not identified).
    """
    xs, ts, ages = _floats(x, t_x, age)
    check_inputs(xs, ts, ages)
    w = np.ones_like(xs) if weights is None else _floats(weights)[0]
    if not np.any((xs > 0) & (w > 0)):
        raise ValueError("no customer made a repeat purchase; BG/NBD needs some")
    (xs, ts, ages, w_rows), counts = aggregate(xs, ts, ages, w)
    w = w_rows * counts
    scale = _TIME_SCALE / float(ages.max()) if ages.max() > 0 else 1.0
    ts, ages = ts * scale, ages * scale
    total = float(w.sum())

    def objective(theta: Array) -> tuple[float, Array]:
        ll, _, grads = _bgnbd_terms(theta, xs, ts, ages)
        return -_weighted(w, ll) / total, -np.array([_weighted(w, g) for g in grads]) / total

    started = time.perf_counter()
    result = optimize.minimize(
        objective,
        np.zeros(4),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 4,
        options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8},
    )
    seconds = time.perf_counter() - started
    r, alpha_scaled, a, b = np.exp(result.x)
    params = BgNbd(float(r), float(alpha_scaled / scale), float(a), float(b))
    # The rescaled likelihood differs from the original by sum(w * x) * log(scale).
    log_likelihood = -float(result.fun) * total + _weighted(w, xs) * np.log(scale)
    return BgNbdFit(
        params,
        log_likelihood,
        round(total),
        _convergence(result, seconds),
    )


def p_alive(params: BgNbd, x: npt.ArrayLike, t_x: npt.ArrayLike, age: npt.ArrayLike) -> Array:
    """P(alive | x, t_x, T): the chance the customer has not yet dropped out.

    A customer with no repeat purchase cannot have dropped out yet under BG/NBD (death
    happens only right after a purchase), so their P(alive) is 1.
    """
    xs, ts, ages = _floats(x, t_x, age)
    return 1.0 / (1.0 + _death_odds(params, xs, ts, ages))


def _death_odds(params: BgNbd, x: Array, t_x: Array, age: Array) -> Array:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    log_odds = (
        np.log(a)
        - np.log(b + np.where(repeat, x - 1.0, 0.0))
        + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    )
    return np.where(repeat, np.exp(np.minimum(log_odds, 700.0)), 0.0)


def expected_purchases(
    params: BgNbd, t: float | Array, x: npt.ArrayLike, t_x: npt.ArrayLike, age: npt.ArrayLike
) -> Array:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10), ``t`` in model units."""
    xs, ts, ages = _floats(x, t_x, age)
    r, alpha, b = params.r, params.alpha, params.b
    # The expression is 0/0 at a = 1 exactly; a hair away it is continuous.
    a = params.a if abs(params.a - 1.0) > 1e-7 else 1.0 + 1e-7
    horizon = np.asarray(t, dtype=np.float64)
    ratio = (alpha + ages) / (alpha + ages + horizon)
    hyper = special.hyp2f1(r + xs, b + xs, a + b + xs - 1.0, horizon / (alpha + ages + horizon))
    lead = (a + b + xs - 1.0) / (a - 1.0)
    expected = lead * (1.0 - hyper * np.exp((r + xs) * np.log(ratio)))
    result: Array = expected / (1.0 + _death_odds(params, xs, ts, ages))
    return np.maximum(result, 0.0)


def expected_purchases_new(params: BgNbd, t: float | Array) -> Array:
    """E[X(t)]: purchases a new customer makes in their first ``t`` units (FHL eq. 9)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a = a if abs(a - 1.0) > 1e-7 else 1.0 + 1e-7
    horizon = np.asarray(t, dtype=np.float64)
    hyper = special.hyp2f1(r, b, a + b - 1.0, horizon / (alpha + horizon))
    result: Array = (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + horizon)) ** r * hyper)
    return result


@dataclass(frozen=True)
class Simulated:
    """Simulated customers: calibration (x, t_x, T), purchases in the ``horizon`` after T
    (``future``) and whether each was still alive at T."""

    x: Array
    t_x: Array
    age: Array
    future: Array
    alive: Array


def simulate_bgnbd(
    params: BgNbd, age: npt.ArrayLike, rng: np.random.Generator, horizon: float = 0.0
) -> Simulated:
    """Draw customers observed for ``T`` units after their first purchase (and
    ``horizon`` units more).

    Each customer gets a rate ~ Gamma(r, scale 1/alpha) and a dropout chance
    p ~ Beta(a, b); purchases follow a Poisson process, and right after each repeat
    purchase the customer dies with probability p (vectorised over customers, one round
    per purchase).
    """
    (ages,) = _floats(age)
    n = ages.size
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    drop = rng.beta(params.a, params.b, n)
    x, t_x, future, now = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1.0, idx.size) / rate[idx]
        within = now[idx] <= ages[idx] + horizon
        hit = idx[within]
        early = now[hit] <= ages[hit]
        x[hit[early]] += 1.0
        t_x[hit[early]] = now[hit[early]]
        future[hit[~early]] += 1.0
        dies = rng.random(hit.size) < drop[hit]
        alive[hit[dies & early]] = False
        active[idx[~within]] = False
        active[hit[dies]] = False
    return Simulated(x, t_x, ages.copy(), future, alive)


# -- Gamma-Gamma -------------------------------------------------------------------------


def _gg_terms(
    log_params: Array, x: Array, m: Array, logs: tuple[Array, Array] | None = None
) -> tuple[Array, list[Array]]:
    """Per-row log-likelihood and gradient; ``logs`` = (log m, log x + log m), which do
    not depend on the parameters, precomputed once per fit."""
    p, q, gamma = np.exp(log_params)
    log_m, log_xm = logs if logs is not None else (np.log(m), np.log(x) + np.log(m))
    px = p * x
    spend = gamma + x * m
    log_spend = np.log(spend)
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + px * log_xm
        - log_m
        - (px + q) * log_spend
    )
    psi_all = special.digamma(px + q)
    d_p = x * (psi_all - special.digamma(px) + log_xm - log_spend)
    d_q = psi_all - special.digamma(q) + np.log(gamma) - log_spend
    d_gamma = q / gamma - (px + q) / spend
    return ll, [d_p * p, d_q * q, d_gamma * gamma]


def gamma_gamma_log_likelihood(params: GammaGamma, x: npt.ArrayLike, m: npt.ArrayLike) -> Array:
    """The log-likelihood of each (x, m) under ``params`` (x >= 1, m > 0)."""
    xs, ms = _floats(x, m)
    return _gg_terms(np.log([params.p, params.q, params.gamma]), xs, ms)[0]


def fit_gamma_gamma(
    x: npt.ArrayLike, m: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma parameters from repeat buyers.

    ``x`` are repeat purchases (>= 1) and ``m`` the mean value of those repeat purchases
    (> 0); the first purchase is left out, as in Fader & Hardie. Money is rescaled to a
    mean of 1 while fitting and gamma scaled back, so the answer is in the units of ``m``.
    """
    xs, ms = _floats(x, m)
    w = np.ones_like(xs) if weights is None else _floats(weights)[0]
    if xs.size == 0:
        raise ValueError("no repeat buyer with a positive spend; Gamma-Gamma needs some")
    if np.any(xs < 1) or np.any(~np.isfinite(ms)) or np.any(ms <= 0):
        raise ValueError("Gamma-Gamma takes repeat buyers only: x >= 1 and m > 0")
    # Mean spends are continuous, so rows rarely repeat: no aggregation here.
    scale = float(np.average(ms, weights=w))
    ms = ms / scale
    total = float(w.sum())
    logs = (np.log(ms), np.log(xs) + np.log(ms))

    def objective(theta: Array) -> tuple[float, Array]:
        ll, grads = _gg_terms(theta, xs, ms, logs)
        return -_weighted(w, ll) / total, -np.array([_weighted(w, g) for g in grads]) / total

    started = time.perf_counter()
    result = optimize.minimize(
        objective,
        np.zeros(3),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 3,
        options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8},
    )
    seconds = time.perf_counter() - started
    p, q, gamma_scaled = np.exp(result.x)
    params = GammaGamma(float(p), float(q), float(gamma_scaled * scale))
    # Rescaling m by c shifts each row's log-likelihood by -log(c).
    log_likelihood = -float(result.fun) * total - total * np.log(scale)
    return GammaGammaFit(params, log_likelihood, round(total), _convergence(result, seconds))


def expected_spend(params: GammaGamma, x: npt.ArrayLike, m: npt.ArrayLike) -> Array:
    """E[mean transaction value | x, m]: the population mean p*gamma/(q-1) shrunk toward
    the customer's own mean ``m`` as ``x`` grows. ``m`` is ignored where ``x`` is 0;
    infinite (nan) where q <= 1 and the population mean does not exist."""
    xs, ms = _floats(x, m)
    p, q, gamma = params.p, params.q, params.gamma
    ms = np.where(xs > 0, np.nan_to_num(ms), 0.0)
    denominator = p * xs + q - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        result: Array = np.where(denominator > 0, p * (gamma + xs * ms) / denominator, np.nan)
    return result


def simulate_gamma_gamma(
    params: GammaGamma, x: npt.ArrayLike, rng: np.random.Generator
) -> tuple[Array, Array]:
    """Draw each customer's mean of ``x`` transaction values (0 where x is 0), and the
    value of their first purchase, under the Gamma-Gamma model."""
    (xs,) = _floats(x)
    nu = rng.gamma(params.q, 1.0 / params.gamma, xs.size)
    # The sum of x Gamma(p, nu) values is Gamma(p x, nu).
    sums = np.where(xs > 0, rng.gamma(np.maximum(params.p * xs, 1e-12), 1.0 / nu), 0.0)
    first = rng.gamma(params.p, 1.0 / nu)
    means: Array = np.where(xs > 0, sums / np.maximum(xs, 1.0), 0.0)
    return means, first


# -- value -------------------------------------------------------------------------------


def lifetime_value(
    purchases: BgNbd,
    spend: GammaGamma,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    age: npt.ArrayLike,
    m: npt.ArrayLike,
    *,
    horizon_days: int,
    unit_days: float,
    monthly_discount: float,
) -> Array:
    """Discounted value of each customer's purchases over the next ``horizon_days``.

    The horizon is cut into 30-day months (the last one possibly shorter); the purchases
    expected in month k times the expected spend are discounted by
    ``(1 + monthly_discount) ** (end of month k in months)``, as in lifetimes'
    ``customer_lifetime_value``. Money in the units of ``m`` (nan where the spend is).
    """
    xs, ts, ages, ms = _floats(x, t_x, age, m)
    value_per_purchase = expected_spend(spend, xs, ms)
    # Customers with the same (x, t_x, T) expect the same purchases: compute those once.
    rows, inverse = np.unique(np.column_stack([xs, ts, ages]), axis=0, return_inverse=True)
    ux, ut, u_age = rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy()
    ends = np.minimum(np.arange(30, horizon_days + 30, 30, dtype=np.float64), horizon_days)
    total = np.zeros_like(ux)
    before = np.zeros_like(ux)
    for end in np.unique(ends):
        upto = expected_purchases(purchases, end / unit_days, ux, ut, u_age)
        total += (upto - before) / (1.0 + monthly_discount) ** (end / 30.0)
        before = upto
    result: Array = total[inverse.reshape(-1)] * value_per_purchase
    return result


def _weighted(weights: Array, values: Array) -> float:
    """sum(weights * values) without BLAS: ``np.dot`` wakes BLAS threads, which on a busy
    machine costs more than the whole likelihood."""
    return float(np.sum(weights * values))


def _convergence(result: optimize.OptimizeResult, seconds: float) -> Convergence:
    return Convergence(
        converged=bool(result.success),
        message=str(result.message),
        iterations=int(result.nit),
        evaluations=int(result.nfev),
        seconds=round(seconds, 4),
    )
