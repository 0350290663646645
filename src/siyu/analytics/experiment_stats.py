"""The statistics of experiment results: pure functions over counts and moments.

Everything here takes numbers or numpy arrays and broadcasts, so one call scores one
comparison of a real experiment or thousands of simulated ones in the tests. Nothing
reads data: `siyu.analytics.experiments` aggregates the exposed persons into `Moments`
(persons, sums and sums of squares per variant) in the engine and hands them here.

* conversions: the pooled two-proportion z-test (statsmodels' score test without
  correction) with a Wald interval for the difference;
* means: Welch's t-test (scipy) with a Welch–Satterthwaite interval;
* relative lifts: the delta-method interval of ``treatment / control - 1``;
* CUPED: the metric adjusted by the same metric before exposure, ``y - θ (x - x̄)``;
* Bayesian: Beta-Binomial posteriors (uniform prior) for conversions, normal posteriors
  for means; probability to beat the control, expected loss, probability to be best;
  Monte Carlo draws are seeded, so the same data always gives the same answer;
* sample-ratio mismatch: a chi-square goodness-of-fit test against the weights;
* Holm's step-down correction across the variants compared with the control.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from statsmodels.stats.proportion import test_proportions_2indep

#: Below this p-value the split of persons is called a sample-ratio mismatch.
SRM_THRESHOLD: Final = 0.001
#: Monte Carlo draws per posterior; the seed makes every answer reproducible.
DRAWS: Final = 40_000
SEED: Final = 20_240_501

Array = NDArray[np.float64]


def _f(value: ArrayLike) -> Array:
    return np.asarray(value, dtype=np.float64)


@dataclass(frozen=True)
class Moments:
    """Sufficient statistics of groups of persons: ``y`` the metric, ``x`` its CUPED
    covariate (zeros without one). Fields are arrays; a leading axis may index variants.

    Example:
        >>> m = Moments.of(np.array([1.0, 2.0, 3.0]))
        >>> float(m.mean), float(m.var)
        (2.0, 1.0)
    """

    n: Array
    sum_y: Array
    sum_y2: Array
    sum_x: Array
    sum_x2: Array
    sum_xy: Array

    @classmethod
    def of(cls, y: ArrayLike, x: ArrayLike | None = None, axis: int = -1) -> Moments:
        """The moments of per-person values (summed over ``axis``)."""
        yv = _f(y)
        xv = np.zeros_like(yv) if x is None else _f(x)
        return cls(
            n=_f(np.sum(np.ones_like(yv), axis=axis)),
            sum_y=_f(yv.sum(axis=axis)),
            sum_y2=_f((yv * yv).sum(axis=axis)),
            sum_x=_f(xv.sum(axis=axis)),
            sum_x2=_f((xv * xv).sum(axis=axis)),
            sum_xy=_f((xv * yv).sum(axis=axis)),
        )

    def total(self, axis: int = 0) -> Moments:
        """The groups along ``axis`` pooled into one."""
        return Moments(*(_f(np.sum(getattr(self, f), axis=axis)) for f in _FIELDS))

    def cumulative(self, axis: int = -1) -> Moments:
        """Running totals along ``axis`` (persons exposed up to each day)."""
        return Moments(*(_f(np.cumsum(getattr(self, f), axis=axis)) for f in _FIELDS))

    @property
    def mean(self) -> Array:
        with np.errstate(all="ignore"):
            return _f(np.where(self.n > 0, self.sum_y / self.n, np.nan))

    @property
    def var(self) -> Array:
        """Sample variance of y (0 with fewer than two persons)."""
        return _centred(self.sum_y2, self.sum_y, self.sum_y, self.n, clamp=True)

    @property
    def mean_x(self) -> Array:
        with np.errstate(all="ignore"):
            return _f(np.where(self.n > 0, self.sum_x / self.n, np.nan))

    @property
    def var_x(self) -> Array:
        return _centred(self.sum_x2, self.sum_x, self.sum_x, self.n, clamp=True)

    @property
    def cov(self) -> Array:
        """Sample covariance of x and y."""
        return _centred(self.sum_xy, self.sum_x, self.sum_y, self.n)


_FIELDS: Final = ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy")


def _centred(sum_ab: Array, sum_a: Array, sum_b: Array, n: Array, *, clamp: bool = False) -> Array:
    """``(Σab - Σa Σb / n) / (n - 1)``; ``clamp`` a variance at 0 (rounding can leave a
    tiny negative one for constant data)."""
    with np.errstate(all="ignore"):
        value = (sum_ab - sum_a * sum_b / n) / (n - 1)
    if clamp:
        value = np.maximum(value, 0.0)
    return _f(np.where(n > 1, value, 0.0))


@dataclass(frozen=True)
class Comparison:
    """A treatment against the control: the difference and the relative lift, each with
    its confidence interval, and the two-sided p-value of no difference."""

    control: Array
    treatment: Array
    absolute: Array
    absolute_low: Array
    absolute_high: Array
    relative: Array
    relative_low: Array
    relative_high: Array
    p_value: Array


def compare_proportions(
    conversions_a: ArrayLike,
    persons_a: ArrayLike,
    conversions_b: ArrayLike,
    persons_b: ArrayLike,
    confidence: float = 0.95,
) -> Comparison:
    """Treatment ``b`` against control ``a``: the pooled two-proportion z-test.

    Example:
        >>> c = compare_proportions(100, 1000, 130, 1000)
        >>> round(float(c.absolute), 3), round(float(c.p_value), 4)
        (0.03, 0.0355)
    """
    ca, na, cb, nb = _f(conversions_a), _f(persons_a), _f(conversions_b), _f(persons_b)
    with np.errstate(all="ignore"):
        pa, pb = ca / na, cb / nb
        test = test_proportions_2indep(
            cb, nb, ca, na, method="score", compare="diff", correction=False
        )
        p_value = _f(test.pvalue)
        # No conversions (or only conversions) in both groups: nothing to tell apart.
        p_value = _f(np.where((ca + cb == 0) | (ca + cb == na + nb), 1.0, p_value))
        var_a, var_b = pa * (1 - pa) / na, pb * (1 - pb) / nb
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return _comparison(pa, var_a, pb, var_b, z, p_value)


def compare_means(
    mean_a: ArrayLike,
    var_a: ArrayLike,
    persons_a: ArrayLike,
    mean_b: ArrayLike,
    var_b: ArrayLike,
    persons_b: ArrayLike,
    confidence: float = 0.95,
) -> Comparison:
    """Treatment ``b`` against control ``a``: Welch's t-test from means and variances.

    Example:
        >>> c = compare_means(10.0, 4.0, 100, 11.0, 4.0, 100)
        >>> round(float(c.absolute_low), 3), round(float(c.p_value), 5)
        (0.442, 0.00051)
    """
    ma, va, na, mb, vb, nb = (_f(v) for v in (mean_a, var_a, persons_a, mean_b, var_b, persons_b))
    with np.errstate(all="ignore"):
        test = stats.ttest_ind_from_stats(mb, np.sqrt(vb), nb, ma, np.sqrt(va), na, equal_var=False)
        p_value = _f(test.pvalue)
        se2_a, se2_b = va / na, vb / nb
        df = (se2_a + se2_b) ** 2 / (se2_a**2 / (na - 1) + se2_b**2 / (nb - 1))
        crit = _f(stats.t.ppf(0.5 + confidence / 2, df))
    # Both groups constant: the difference is exact.
    exact = (se2_a + se2_b) == 0
    p_value = _f(np.where(exact, np.where(mb == ma, 1.0, 0.0), p_value))
    crit = _f(np.where(exact, 0.0, crit))
    return _comparison(ma, se2_a, mb, se2_b, crit, p_value)


def _comparison(
    ma: Array, se2_a: Array, mb: Array, se2_b: Array, crit: float | Array, p_value: Array
) -> Comparison:
    with np.errstate(all="ignore"):
        diff = mb - ma
        half = crit * np.sqrt(se2_a + se2_b)
        relative = mb / ma - 1
        # Delta method for the ratio mb / ma.
        rel_se = np.sqrt(se2_b / ma**2 + mb**2 * se2_a / ma**4)
        rel_half = crit * rel_se
        no_base = ma == 0
        relative = np.where(no_base, np.nan, relative)
    return Comparison(
        control=_f(ma),
        treatment=_f(mb),
        absolute=_f(diff),
        absolute_low=_f(diff - half),
        absolute_high=_f(diff + half),
        relative=_f(relative),
        relative_low=_f(relative - rel_half),
        relative_high=_f(relative + rel_half),
        p_value=_f(p_value),
    )


@dataclass(frozen=True)
class Cuped:
    """Metric means adjusted by their pre-exposure covariate: ``θ`` (pooled over every
    person), adjusted means and variances per group, and the share of variance removed."""

    theta: Array
    means: Array
    variances: Array
    variance_reduction: Array


def cuped(groups: Moments) -> Cuped:
    """CUPED over groups (leading axis of ``groups``): ``y - θ (x - x̄)`` per person.

    ``θ = cov(x, y) / var(x)`` over all persons; without covariate variance ``θ`` is 0
    and nothing changes. The adjusted mean of a group is ``ȳ - θ (x̄_g - x̄)``, unbiased
    because assignment is random; its variance ``var y - 2θ cov + θ² var x``.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> x = rng.normal(size=(2, 500)); y = x + rng.normal(size=(2, 500)) * 0.5
        >>> round(float(cuped(Moments.of(y, x)).variance_reduction), 2)
        0.8
    """
    pooled = groups.total(axis=0)
    with np.errstate(all="ignore"):
        theta = np.where(pooled.var_x > 0, pooled.cov / pooled.var_x, 0.0)
        means = groups.mean - theta * (groups.mean_x - pooled.mean_x)
        variances = np.maximum(groups.var - 2 * theta * groups.cov + theta**2 * groups.var_x, 0.0)
        before = np.sum(groups.var * (groups.n - 1), axis=0)
        after = np.sum(variances * (groups.n - 1), axis=0)
        reduction = np.where(before > 0, 1 - after / before, 0.0)
    return Cuped(_f(theta), _f(means), _f(variances), _f(reduction))


@dataclass(frozen=True)
class Bayes:
    """Per group, against the control (index 0): probability to be better, expected loss
    of choosing it over the control (in metric units), probability to be the best."""

    p_beat: Array
    expected_loss: Array
    p_best: Array


def beta_binomial(
    conversions: Sequence[float] | Array,
    persons: Sequence[float] | Array,
    *,
    higher_is_better: bool = True,
    draws: int = DRAWS,
    seed: int = SEED,
) -> Bayes:
    """Beta(1 + c, 1 + n - c) posteriors of each group's rate, compared by seeded draws.

    Example:
        >>> b = beta_binomial([100, 130], [1000, 1000])
        >>> round(float(b.p_beat[1]), 2)
        0.98
    """
    c, n = _f(conversions), _f(persons)
    rng = np.random.default_rng(seed)
    samples = rng.beta(1 + c[:, None], 1 + np.maximum(n - c, 0)[:, None], size=(len(c), draws))
    return _from_samples(samples, higher_is_better)


def normal_posterior(
    means: Sequence[float] | Array,
    variances: Sequence[float] | Array,
    persons: Sequence[float] | Array,
    *,
    higher_is_better: bool = True,
    draws: int = DRAWS,
    seed: int = SEED,
) -> Bayes:
    """Normal posteriors N(mean, var / n) (flat prior, large samples); probability to beat
    and expected loss in closed form, probability to be best by seeded draws.

    Example:
        >>> b = normal_posterior([10.0, 10.5], [4.0, 4.0], [100, 100])
        >>> round(float(b.p_beat[1]), 3), round(float(b.expected_loss[1]), 4)
        (0.961, 0.0044)
    """
    m, v, n = _f(means), _f(variances), _f(persons)
    sign = 1.0 if higher_is_better else -1.0
    with np.errstate(all="ignore"):
        se2 = np.where(n > 0, v / n, np.inf)
        delta = sign * (m - m[0])
        se = np.sqrt(se2 + se2[0])
        z = delta / se
        p_beat = np.where(se > 0, stats.norm.cdf(z), np.where(delta > 0, 1.0, 0.0))
        loss = np.where(
            se > 0, se * stats.norm.pdf(z) - delta * stats.norm.cdf(-z), np.maximum(-delta, 0)
        )
    p_beat[0], loss[0] = np.nan, 0.0
    rng = np.random.default_rng(seed)
    finite = np.where(np.isfinite(se2), se2, 0.0)
    samples = m[:, None] + np.sqrt(finite)[:, None] * rng.standard_normal((len(m), draws))
    best = _from_samples(samples, higher_is_better).p_best
    return Bayes(_f(p_beat), _f(loss), best)


def _from_samples(samples: Array, higher_is_better: bool) -> Bayes:
    signed = samples if higher_is_better else -samples
    gain = signed - signed[0]
    p_beat = _f((gain > 0).mean(axis=1))
    loss = _f(np.maximum(-gain, 0).mean(axis=1))
    p_beat[0] = np.nan
    best = np.bincount(signed.argmax(axis=0), minlength=len(samples)) / samples.shape[1]
    return Bayes(p_beat, loss, _f(best))


@dataclass(frozen=True)
class SampleRatio:
    """The chi-square test of the exposed persons per variant against the weights."""

    chi2: float
    p_value: float
    expected: list[float]
    mismatch: bool


def sample_ratio(
    persons: Sequence[float], weights: Sequence[float], threshold: float = SRM_THRESHOLD
) -> SampleRatio:
    """Whether persons split across variants as the weights say (p < ``threshold``: no).

    Example:
        >>> sample_ratio([5000, 5400], [1, 1]).mismatch, sample_ratio([5000, 5050], [1, 1]).mismatch
        (True, False)
    """
    observed, w = _f(persons), _f(weights)
    total = float(observed.sum())
    expected = total * w / w.sum()
    if total == 0:
        return SampleRatio(0.0, 1.0, expected.tolist(), False)
    result: Any = stats.chisquare(observed, expected)
    p_value = float(result.pvalue)
    return SampleRatio(float(result.statistic), p_value, expected.tolist(), p_value < threshold)


def holm(p_values: ArrayLike, alpha: float = 0.05) -> tuple[Array, NDArray[np.bool_]]:
    """Holm-adjusted p-values along the last axis, and which are rejected at ``alpha``.

    The same answer as statsmodels' ``multipletests(method="holm")`` (a test checks),
    computed here because that function runs a full ``gc.collect()`` on every call —
    0.4 s in a process that holds Ibis and Spark objects — and does not broadcast over
    simulations. Missing p-values (NaN) count as 1.

    Example:
        >>> adjusted, reject = holm([0.01, 0.04, 0.03])
        >>> adjusted.round(2).tolist(), reject.tolist()
        ([0.03, 0.06, 0.06], [True, False, False])
    """
    p = np.atleast_1d(np.nan_to_num(_f(p_values), nan=1.0))
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)
    scaled = np.minimum(ranked * np.arange(m, 0, -1), 1.0)
    stepped = np.maximum.accumulate(scaled, axis=-1)
    adjusted = np.empty_like(stepped)
    np.put_along_axis(adjusted, order, stepped, axis=-1)
    return _f(adjusted), np.asarray(adjusted <= alpha)
