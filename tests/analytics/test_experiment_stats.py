"""The statistics of experiments on simulated data with known truths (seeded, vectorised).

Intervals must cover the true effect at their stated rate, A/A tests must reject at the
nominal rate, SRM must be caught and not cried wolf, Holm must hold the family-wise
error, CUPED must cut variance without bias, and the Bayesian answers must match closed
forms and be reproducible.
"""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest
from scipy import special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from siyu.analytics.experiment_stats import (
    Moments,
    beta_binomial,
    compare_means,
    compare_proportions,
    cuped,
    holm,
    normal_posterior,
    sample_ratio,
)

SIMS = 400


def tolerance(rate: float, trials: int) -> float:
    """Three binomial standard deviations of an observed rate."""
    return 3 * math.sqrt(rate * (1 - rate) / trials)


def covered(low: np.ndarray, high: np.ndarray, truth: float) -> float:
    return float(np.mean((low <= truth) & (truth <= high)))


def revenue(
    rng: np.random.Generator, shape: tuple[int, ...], buy: float, scale: float
) -> np.ndarray:
    """Zero-inflated, skewed spend per person: most buy nothing, buyers spend Gamma(2)."""
    return (rng.random(shape) < buy) * rng.gamma(2.0, scale, shape)


# -- intervals cover the truth -------------------------------------------------------------


def test_proportion_intervals_cover_the_true_lift_at_the_stated_rate() -> None:
    rng = np.random.default_rng(7)
    n, p_a, p_b = 4000, 0.10, 0.12
    c_a, c_b = rng.binomial(n, p_a, SIMS), rng.binomial(n, p_b, SIMS)
    for confidence in (0.95, 0.9):
        c = compare_proportions(c_a, n, c_b, n, confidence)
        absolute = covered(c.absolute_low, c.absolute_high, p_b - p_a)
        relative = covered(c.relative_low, c.relative_high, p_b / p_a - 1)
        assert abs(absolute - confidence) <= tolerance(confidence, SIMS), absolute
        assert abs(relative - confidence) <= tolerance(confidence, SIMS), relative


def test_mean_intervals_cover_the_true_lift_on_skewed_spend() -> None:
    rng = np.random.default_rng(11)
    # Unequal arms and unequal variances: what Welch's test is for.
    a = revenue(rng, (SIMS, 1500), buy=0.2, scale=50.0)  # mean 20
    b = revenue(rng, (SIMS, 2500), buy=0.22, scale=55.0)  # mean 24.2
    ma, mb = Moments.of(a), Moments.of(b)
    c = compare_means(ma.mean, ma.var, ma.n, mb.mean, mb.var, mb.n)
    truth_abs, truth_rel = 0.22 * 110 - 0.2 * 100, (0.22 * 110) / (0.2 * 100) - 1
    assert abs(covered(c.absolute_low, c.absolute_high, truth_abs) - 0.95) <= tolerance(0.95, SIMS)
    assert abs(covered(c.relative_low, c.relative_high, truth_rel) - 0.95) <= tolerance(0.95, SIMS)


# -- A/A tests stay at the nominal false-positive rate ---------------------------------------


def test_aa_proportions_reject_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(3)
    sims, n = 4000, 3000
    c = compare_proportions(rng.binomial(n, 0.08, sims), n, rng.binomial(n, 0.08, sims), n)
    rate = float(np.mean(c.p_value < 0.05))
    assert abs(rate - 0.05) <= tolerance(0.05, sims), rate
    # The p-values of a true null are uniform, not only right at 0.05.
    assert stats.kstest(c.p_value, "uniform").pvalue > 0.001


def test_aa_means_reject_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(5)
    sims = 2000
    a, b = (
        Moments.of(revenue(rng, (sims, 800), 0.15, 40.0)),
        Moments.of(revenue(rng, (sims, 800), 0.15, 40.0)),
    )
    c = compare_means(a.mean, a.var, a.n, b.mean, b.var, b.n)
    rate = float(np.mean(c.p_value < 0.05))
    assert abs(rate - 0.05) <= tolerance(0.05, sims), rate


# -- the tests are the libraries' tests ----------------------------------------------------


def test_proportions_are_the_pooled_z_test_with_a_wald_interval() -> None:
    c = compare_proportions(120, 1500, 156, 1480)
    _, p = proportions_ztest([156, 120], [1480, 1500])
    low, high = confint_proportions_2indep(156, 1480, 120, 1500, method="wald", compare="diff")
    assert float(c.p_value) == pytest.approx(p, rel=1e-9)
    assert (float(c.absolute_low), float(c.absolute_high)) == pytest.approx((low, high), rel=1e-9)
    assert float(c.absolute) == pytest.approx(156 / 1480 - 120 / 1500)


def test_means_are_welchs_test_with_its_interval() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.gamma(2.0, 3.0, 300), rng.gamma(2.0, 3.6, 450)
    ma, mb = Moments.of(a), Moments.of(b)
    c = compare_means(ma.mean, ma.var, ma.n, mb.mean, mb.var, mb.n, confidence=0.9)
    scipy_test = stats.ttest_ind(b, a, equal_var=False)
    interval = scipy_test.confidence_interval(0.9)
    assert float(c.p_value) == pytest.approx(scipy_test.pvalue, rel=1e-9)
    assert float(c.absolute_low) == pytest.approx(interval.low, rel=1e-9)
    assert float(c.absolute_high) == pytest.approx(interval.high, rel=1e-9)


def test_degenerate_groups_answer_without_warnings() -> None:
    # filterwarnings = error: a division warning would fail here.
    nobody = compare_proportions(0, 0, 5, 100)
    assert math.isnan(float(nobody.absolute)) and math.isnan(float(nobody.relative))
    none_converted = compare_proportions(0, 500, 0, 500)
    assert float(none_converted.p_value) == 1.0 and math.isnan(float(none_converted.relative))
    constant = compare_means(3.0, 0.0, 50, 3.0, 0.0, 60)
    assert float(constant.p_value) == 1.0 and float(constant.absolute_high) == 0.0
    assert float(compare_means(3.0, 0.0, 50, 4.0, 0.0, 60).p_value) == 0.0
    empty = Moments.of(np.zeros(0))
    assert math.isnan(float(empty.mean)) and float(empty.var) == 0.0


# -- sample-ratio mismatch ------------------------------------------------------------------


def test_srm_is_detected_when_a_variant_loses_exposures() -> None:
    assert sample_ratio([10_000, 9_500], [1, 1]).mismatch  # 5% of b's exposures lost
    assert sample_ratio([9_000, 1_000], [1, 1]).mismatch
    skew = sample_ratio([5_000, 5_400], [1, 1])
    assert skew.mismatch and skew.p_value < 0.001 and skew.expected == [5_200, 5_200]


def test_no_srm_on_splits_that_follow_the_weights() -> None:
    assert not sample_ratio([9_000, 1_000], [9, 1]).mismatch
    assert not sample_ratio([0, 0], [1, 1]).mismatch
    rng = np.random.default_rng(13)
    weights = [0.5, 0.3, 0.2]
    draws = rng.multinomial(10_000, weights, size=1000)
    flags = sum(sample_ratio(row.tolist(), weights).mismatch for row in draws)
    assert flags <= 5  # about 1 in 1000 at p < 0.001


# -- Holm -------------------------------------------------------------------------------------


def test_holm_equals_statsmodels(monkeypatch: pytest.MonkeyPatch) -> None:
    # statsmodels' Holm runs gc.collect() on every call (seconds over 200 calls here).
    monkeypatch.setattr(gc, "collect", lambda *args: 0)
    rng = np.random.default_rng(17)
    for _ in range(200):
        p = rng.random(int(rng.integers(1, 9))) ** 3
        adjusted, reject = holm(p, 0.05)
        expected_reject, expected, _, _ = multipletests(p, 0.05, method="holm")
        np.testing.assert_allclose(adjusted, expected)
        assert reject.tolist() == expected_reject.tolist()
    rows = rng.random((50, 4))
    np.testing.assert_allclose(holm(rows)[0][7], holm(rows[7])[0])


def test_holm_holds_the_family_wise_error_across_variants() -> None:
    rng = np.random.default_rng(19)
    sims, n = 3000, 2000
    control = rng.binomial(n, 0.1, sims)
    treatments = rng.binomial(n, 0.1, (3, sims))
    p = compare_proportions(control, n, treatments, n).p_value.T  # sims x 3 variants
    raw_any = float(np.mean((p < 0.05).any(axis=1)))
    holm_any = float(np.mean(holm(p, 0.05)[1].any(axis=1)))
    assert raw_any > 0.09  # three looks at no effect: about 0.13
    assert holm_any <= 0.05 + tolerance(0.05, sims), holm_any


# -- CUPED ------------------------------------------------------------------------------------


def _cuped_trial(rng: np.random.Generator, slope: float) -> tuple[np.ndarray, ...]:
    """Per simulation: raw and CUPED differences, CUPED intervals, reported reduction."""
    n, effect = 1000, 0.5
    x = rng.normal(10.0, 3.0, (2, SIMS, n))
    y = slope * x + rng.normal(0.0, 2.0, (2, SIMS, n))
    y[1] += effect
    m = Moments.of(y, x)
    adjusted = cuped(m)
    raw = compare_means(m.mean[0], m.var[0], m.n[0], m.mean[1], m.var[1], m.n[1])
    c = compare_means(
        adjusted.means[0],
        adjusted.variances[0],
        m.n[0],
        adjusted.means[1],
        adjusted.variances[1],
        m.n[1],
    )
    return raw.absolute, c.absolute, c.absolute_low, c.absolute_high, adjusted.variance_reduction


def test_cuped_reduces_variance_on_correlated_data_and_stays_unbiased() -> None:
    raw, adjusted, low, high, reduction = _cuped_trial(np.random.default_rng(23), slope=0.8)
    rho2 = (0.8 * 3) ** 2 / ((0.8 * 3) ** 2 + 4)  # 0.59
    assert float(np.mean(reduction)) == pytest.approx(rho2, abs=0.02)
    achieved = 1 - np.var(adjusted) / np.var(raw)
    assert 0.45 < achieved < 0.7, achieved
    assert abs(float(np.mean(adjusted)) - 0.5) < 3 * float(np.std(adjusted)) / math.sqrt(SIMS)
    assert abs(covered(low, high, 0.5) - 0.95) <= tolerance(0.95, SIMS)


def test_cuped_changes_nothing_without_correlation() -> None:
    raw, adjusted, _, _, reduction = _cuped_trial(np.random.default_rng(29), slope=0.0)
    assert abs(float(np.mean(reduction))) < 0.01
    assert float(np.max(np.abs(adjusted - raw))) < 0.05
    no_covariate = cuped(Moments.of(np.ones((2, 10)) + np.arange(10)))
    assert float(no_covariate.theta) == 0.0 and float(no_covariate.variance_reduction) == 0.0


# -- Bayesian -------------------------------------------------------------------------------


def _exact_p_beat(c_a: int, n_a: int, c_b: int, n_b: int) -> float:
    """P(rate_b > rate_a) for Beta(1+c, 1+n-c) posteriors, in closed form (Evan Miller)."""
    a_a, b_a, a_b, b_b = 1 + c_a, 1 + n_a - c_a, 1 + c_b, 1 + n_b - c_b
    i = np.arange(a_b)
    terms = (
        special.betaln(a_a + i, b_a + b_b)
        - np.log(b_b + i)
        - special.betaln(1 + i, b_b)
        - special.betaln(a_a, b_a)
    )
    return float(np.exp(terms).sum())


def test_beta_binomial_matches_the_closed_form_and_is_reproducible() -> None:
    for c_a, n_a, c_b, n_b in [(30, 400, 42, 410), (12, 100, 9, 100), (200, 2000, 200, 2000)]:
        b = beta_binomial([c_a, c_b], [n_a, n_b])
        assert float(b.p_beat[1]) == pytest.approx(_exact_p_beat(c_a, n_a, c_b, n_b), abs=0.01)
        again = beta_binomial([c_a, c_b], [n_a, n_b])
        assert b.p_beat[1] == again.p_beat[1] and b.expected_loss[1] == again.expected_loss[1]
        assert float(b.p_best.sum()) == pytest.approx(1.0)
        assert math.isnan(float(b.p_beat[0])) and float(b.expected_loss[0]) == 0.0
    lower = beta_binomial([30, 42], [400, 410], higher_is_better=False)
    assert float(lower.p_beat[1]) == pytest.approx(1 - _exact_p_beat(30, 400, 42, 410), abs=0.01)


def test_expected_loss_is_smaller_for_the_better_arm() -> None:
    b = beta_binomial([100, 130, 90], [1000, 1000, 1000])
    assert b.expected_loss[1] < b.expected_loss[2]
    assert b.p_best[1] > b.p_best[0] > b.p_best[2]


def test_normal_posterior_agrees_with_its_monte_carlo() -> None:
    means, variances, persons = [10.0, 10.4, 9.9], [9.0, 12.0, 9.0], [500, 500, 500]
    b = normal_posterior(means, variances, persons)
    rng = np.random.default_rng(31)
    draws = rng.normal(means, np.sqrt(np.divide(variances, persons)), (400_000, 3))
    gain = draws - draws[:, [0]]
    np.testing.assert_allclose(b.p_beat[1:], (gain[:, 1:] > 0).mean(axis=0), atol=0.005)
    np.testing.assert_allclose(
        b.expected_loss[1:], np.maximum(-gain[:, 1:], 0).mean(axis=0), rtol=0.02
    )
    assert float(b.p_best.sum()) == pytest.approx(1.0)
    # The probability to beat is one minus half the two-sided p-value, for large samples.
    c = compare_means(10.0, 9.0, 500, 10.4, 12.0, 500)
    assert float(b.p_beat[1]) == pytest.approx(1 - float(c.p_value) / 2, abs=0.002)


def test_moments_add_up_across_days() -> None:
    rng = np.random.default_rng(37)
    y, x = rng.normal(size=(2, 5, 40)), rng.normal(size=(2, 5, 40))
    per_day = Moments.of(y, x)  # variants x days
    whole = Moments.of(y.reshape(2, -1), x.reshape(2, -1))
    total = per_day.total(axis=1)
    np.testing.assert_allclose(total.mean, whole.mean)
    np.testing.assert_allclose(total.var, whole.var)
    np.testing.assert_allclose(total.cov, whole.cov)
    np.testing.assert_allclose(per_day.cumulative(axis=1).mean[:, -1], whole.mean)
