"""The statistics, checked against scipy's reference implementations and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from student_performance.drift import stats


@pytest.mark.parametrize(
    ("reference", "current"),
    [([30, 50, 20], [25, 45, 30]), ([300, 10, 90], [100, 80, 20]), ([5, 5], [5, 5])],
)
def test_chi2_asymptotic_equals_scipy(reference, current):
    result = stats.chi2_homogeneity(
        np.array(reference), np.array(current), 5, 999, np.random.default_rng(0)
    )
    expected = sps.chi2_contingency([reference, current], correction=False)
    assert result.method == "chi2"
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)


def test_chi2_monte_carlo_when_expected_counts_are_small():
    reference, current = np.array([40, 3, 1, 0]), np.array([10, 2, 0, 3])
    result = stats.chi2_homogeneity(
        reference, current, 5, 4999, np.random.default_rng(1)
    )
    asymptotic = sps.chi2_contingency([reference, current], correction=False)
    assert result.method == "chi2_monte_carlo"
    assert result.statistic == pytest.approx(asymptotic.statistic)  # same statistic
    assert 0 < result.p_value < 0.05  # a new category with 3 of 15 rows
    assert result.p_value == pytest.approx(asymptotic.pvalue, abs=0.005)


def test_chi2_monte_carlo_is_calibrated_under_the_null():
    """Monte-Carlo p-values on small tables reject about alpha of no-drift samples."""
    rng = np.random.default_rng(7)
    p = np.array([0.6, 0.3, 0.07, 0.03])
    rejected = 0
    for _ in range(300):
        reference = rng.multinomial(60, p)
        current = rng.multinomial(20, p)
        result = stats.chi2_homogeneity(reference, current, 5, 499, rng)
        rejected += result.p_value < 0.05
    assert rejected / 300 <= 0.08


def test_chi2_monte_carlo_on_a_million_rows():
    """Small expected counts on a large batch still go Monte-Carlo (its cost, flat in
    the number of rows, is timed by benchmarks/drift_benchmark.py)."""
    reference = np.array([600, 20, 5, 3])
    current = np.array([900_000, 60_000, 39_000, 1_000])
    result = stats.chi2_homogeneity(
        reference, current, 5, 2000, np.random.default_rng(0)
    )
    assert result.method == "chi2_monte_carlo"
    assert 0 < result.p_value <= 1


def test_chi2_edge_cases():
    rng = np.random.default_rng(0)
    assert (
        stats.chi2_homogeneity(np.array([5, 0]), np.array([0, 0]), 5, 99, rng) is None
    )
    constant = stats.chi2_homogeneity(np.array([9, 0]), np.array([4, 0]), 5, 99, rng)
    assert (constant.statistic, constant.p_value) == (0.0, 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rank_test_equals_scipy_mann_whitney(seed):
    rng = np.random.default_rng(seed)
    reference = rng.multinomial(80, [0.2, 0.3, 0.3, 0.2])
    current = rng.multinomial(50, [0.1, 0.2, 0.4, 0.3])
    x = np.repeat(np.arange(4), current)
    y = np.repeat(np.arange(4), reference)
    expected = sps.mannwhitneyu(x, y, method="asymptotic", use_continuity=True)
    result = stats.rank_test(reference, current)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert (result.statistic > 0) == (x.mean() > y.mean())


def test_benjamini_hochberg_equals_scipy_and_keeps_untested():
    p = [0.01, None, 0.04, 0.03, 0.5, None, 0.002]
    adjusted = stats.benjamini_hochberg(p)
    tested = [v for v in p if v is not None]
    expected = sps.false_discovery_control(tested, method="bh")
    assert [a for a in adjusted if a is not None] == pytest.approx(list(expected))
    assert adjusted[1] is None and adjusted[5] is None
    assert stats.benjamini_hochberg([None]) == [None]


def test_psi_by_hand_and_epsilon_for_empty_bins():
    assert stats.psi(np.array([50, 50]), np.array([50, 50])) == 0.0
    by_hand = 0.2 * np.log(0.7 / 0.5) + (-0.2) * np.log(0.3 / 0.5)
    assert stats.psi(np.array([5, 5]), np.array([7, 3])) == pytest.approx(by_hand)
    empty = stats.psi(np.array([10, 0]), np.array([5, 5]), epsilon=1e-4)
    assert empty == pytest.approx(
        (0.5 - 1) * np.log(0.5) + (0.5 - 1e-4) * np.log(0.5 / 1e-4)
    )


def test_js_distance_equals_scipy():
    p, q = np.array([3, 0, 5, 2]), np.array([1, 4, 4, 1])
    assert stats.js_distance(p, q) == pytest.approx(
        jensenshannon(p / p.sum(), q / q.sum(), base=2)
    )
    assert stats.js_distance(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "args",
    [(5, 628, 3, 200), (5, 628, 30, 200), (0, 628, 0, 200), (10, 628, 10**5, 10**6)],
)
def test_increase_test_equals_scipy_hypergeometric(args):
    ref_hits, ref_n, cur_hits, cur_n = args
    expected = sps.hypergeom.sf(cur_hits - 1, ref_n + cur_n, ref_hits + cur_hits, cur_n)
    assert stats.increase_test(*args).p_value == pytest.approx(expected, rel=1e-6)


def test_numeric_bins_constant_reference_still_sees_a_move():
    edges = stats.quantile_edges(np.full(20, 3.0), 10)
    assert list(stats.bin_counts(np.array([1.0, 3.0, 3.0, 7.0]), edges)) == [1, 2, 1]
    assert stats.bin_labels(edges) == ["< 3", "= 3", "> 3"]
    counts_ref = stats.bin_counts(np.full(20, 3.0), edges)
    counts_cur = stats.bin_counts(np.full(20, 7.0), edges)
    assert stats.psi(counts_ref, counts_cur) > 1


def test_numeric_bins_cover_every_value_once():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=500)
    edges = stats.quantile_edges(reference, 10)
    current = rng.normal(0.5, 2, size=300)
    counts = stats.bin_counts(current, edges)
    assert counts.sum() == 300
    assert len(counts) == len(stats.bin_labels(edges)) == 12
    assert stats.bin_counts(reference, edges)[[0, -1]].tolist() == [0, 0]


def test_ks_and_wasserstein():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(1, 1, size=300)
    assert stats.ks_test(a, b).p_value < 1e-6
    assert stats.normalised_wasserstein(a, b) == pytest.approx(1, abs=0.2)
    assert stats.ks_test(a, np.array([])) is None
    assert stats.normalised_wasserstein(np.full(5, 2.0), np.full(5, 4.0)) == 2.0
