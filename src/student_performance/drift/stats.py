"""Two-sample statistics for drift, computed on counts so that size costs nothing.

Why not a drift library such as Evidently: it does not import with pandas 3, it
installs about 1 GB of dependencies, and its default test for small categorical
samples (a chi-square goodness-of-fit of the current counts against the reference
shares, which treats the reference as exact) raised a false alarm on about 30 % of
no-drift samples of this data's size. The tests here are two-sample tests (the
reference is a sample too), a Monte-Carlo p-value where expected counts are small,
Benjamini-Hochberg across features, and an effect-size gate on top.

Every function is pure. Categorical inputs are count vectors over the same categories
(reference and current); scipy is imported inside the functions that need it so that
importing the pipeline (every ``kedro`` command does) stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TestResult:
    """A two-sample test: statistic, p-value and the method actually used."""

    statistic: float
    p_value: float
    method: str


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts to shares (all zeros when the counts sum to zero)."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return counts / total if total > 0 else np.zeros_like(counts)


def psi(reference: np.ndarray, current: np.ndarray, epsilon: float = 1e-4) -> float:
    """Population stability index of two count (or share) vectors over the same bins.

    Empty bins get the fixed share ``epsilon`` (no renormalisation), so a value never
    seen on one side adds a large but finite term.
    """
    p = shares(reference)
    q = shares(current)
    p = np.where(p > 0, p, epsilon)
    q = np.where(q > 0, q, epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance in base 2 (0 = identical, 1 = disjoint supports)."""
    p, q = shares(reference), shares(current)
    m = (p + q) / 2

    def _kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return float(np.sqrt(max(0.5 * _kl(p) + 0.5 * _kl(q), 0.0)))


def _chi2_statistics(
    reference: np.ndarray, current: np.ndarray, total: np.ndarray
) -> np.ndarray:
    """Pearson statistics of 2 x k tables; the last axis is the category axis."""
    n_ref = reference.sum(axis=-1, keepdims=True)
    n_cur = current.sum(axis=-1, keepdims=True)
    grand = n_ref + n_cur
    e_ref, e_cur = total * n_ref / grand, total * n_cur / grand
    return np.sum((reference - e_ref) ** 2 / e_ref + (current - e_cur) ** 2 / e_cur, -1)


def chi2_homogeneity(
    reference: np.ndarray,
    current: np.ndarray,
    min_expected: float,
    n_samples: int,
    rng: np.random.Generator,
) -> TestResult | None:
    """Chi-square test that two samples share one categorical distribution.

    The p-value is asymptotic when every expected count reaches ``min_expected``;
    otherwise it is a Monte-Carlo p-value: ``n_samples`` tables with the observed
    margins drawn from the multivariate hypergeometric distribution (as R's
    ``chisq.test(simulate.p.value = TRUE)``). It works on the 2 x k table, never on
    rows, so a batch of millions costs the same as one of hundreds.

    Returns:
        The result, or ``None`` when either side has no observed value.
    """
    ref = np.asarray(reference, dtype=np.int64)
    cur = np.asarray(current, dtype=np.int64)
    keep = (ref + cur) > 0
    ref, cur = ref[keep], cur[keep]
    if ref.sum() == 0 or cur.sum() == 0:
        return None
    if keep.sum() < 2:  # noqa: PLR2004 - one category on both sides: identical
        return TestResult(0.0, 1.0, "chi2")
    total = ref + cur
    observed = float(_chi2_statistics(ref, cur, total))
    expected = np.outer([ref.sum(), cur.sum()], total) / total.sum()
    if expected.min() >= min_expected:
        from scipy.special import chdtrc  # noqa: PLC0415

        return TestResult(observed, float(chdtrc(len(total) - 1, observed)), "chi2")
    sim_cur = rng.multivariate_hypergeometric(total, int(cur.sum()), size=n_samples)
    simulated = _chi2_statistics(total - sim_cur, sim_cur, total)
    exceed = np.count_nonzero(simulated >= observed * (1 - 1e-9))
    return TestResult(observed, float(exceed + 1) / (n_samples + 1), "chi2_monte_carlo")


def rank_test(reference: np.ndarray, current: np.ndarray) -> TestResult | None:
    """Mann-Whitney U test on ordered categories, from the counts.

    Equal to ``scipy.stats.mannwhitneyu(method="asymptotic", use_continuity=True)`` on
    the expanded class indices (mid-ranks, tie correction), without expanding them.
    The statistic returned is the z score (positive: current ranks higher).
    """
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    n_ref, n_cur = ref.sum(), cur.sum()
    if n_ref == 0 or n_cur == 0:
        return None
    total = ref + cur
    grand = n_ref + n_cur
    mid_rank = np.cumsum(total) - total + (total + 1) / 2
    u_cur = float(np.sum(cur * mid_rank)) - n_cur * (n_cur + 1) / 2
    ties = float(np.sum(total**3 - total))
    variance = n_ref * n_cur / 12 * ((grand + 1) - ties / (grand * (grand - 1)))
    if variance <= 0:
        return TestResult(0.0, 1.0, "mann_whitney")
    from scipy.special import ndtr  # noqa: PLC0415

    shift = u_cur - n_ref * n_cur / 2
    z = max(abs(shift) - 0.5, 0.0) / np.sqrt(variance)
    return TestResult(
        float(np.sign(shift) * z), float(min(1.0, 2 * ndtr(-z))), "mann_whitney"
    )


def increase_test(
    reference_hits: int, reference_n: int, current_hits: int, current_n: int
) -> TestResult | None:
    """One-sided Fisher exact test that the current share of hits (e.g. missing
    values) is higher than the reference share.

    The statistic is the change in share (current minus reference).
    """
    if reference_n == 0 or current_n == 0:
        return None
    from scipy.special import gammaln  # noqa: PLC0415

    total, hits = reference_n + current_n, reference_hits + current_hits
    x = np.arange(current_hits, min(hits, current_n) + 1, dtype=float)
    if len(x) == 0:  # pragma: no cover - current_hits <= hits always
        return TestResult(0.0, 1.0, "fisher_one_sided")

    def _log_choose(n: float, k: np.ndarray | float) -> np.ndarray:
        return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)

    log_terms = (
        _log_choose(hits, x)
        + _log_choose(total - hits, current_n - x)
        - _log_choose(total, current_n)
    )
    peak = log_terms.max()
    p_value = float(np.exp(peak) * np.sum(np.exp(log_terms - peak)))
    change = current_hits / current_n - reference_hits / reference_n
    return TestResult(change, float(min(1.0, p_value)), "fisher_one_sided")


def benjamini_hochberg(p_values: list[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values; ``None`` entries (no test) stay ``None``.

    Equal to ``scipy.stats.false_discovery_control(method="bh")`` on the tested ones.
    """
    tested = [i for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if not tested:
        return adjusted
    p = np.array([p_values[i] for i in tested], dtype=float)
    order = np.argsort(p)
    scaled = p[order] * len(p) / np.arange(1, len(p) + 1)
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    result = np.empty_like(p)
    result[order] = np.minimum(monotone, 1.0)
    for i, value in zip(tested, result, strict=True):
        adjusted[i] = float(value)
    return adjusted


def quantile_edges(reference: np.ndarray, n_bins: int) -> np.ndarray:
    """Distinct reference quantiles (0 %, 1/n_bins, ..., 100 %) as bin edges."""
    return np.unique(np.quantile(reference, np.linspace(0, 1, n_bins + 1)))


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in the bins of ``bin_labels(edges)``.

    Bins: below the reference minimum, ``[e_i, e_i+1)`` between distinct quantiles (the
    last one closed), above the maximum. A constant reference gives below / equal /
    above, so a constant column that moves still moves mass.
    """
    if len(edges) == 1:
        index = np.where(values < edges[0], 0, np.where(values == edges[0], 1, 2))
        return np.bincount(index, minlength=3)
    index = np.searchsorted(edges, values, side="right")
    index = np.where(values == edges[-1], len(edges) - 1, index)
    return np.bincount(index, minlength=len(edges) + 1)


def bin_labels(edges: np.ndarray) -> list[str]:
    """Readable names of the bins of ``bin_counts``."""
    if len(edges) == 1:
        return [f"< {edges[0]:.4g}", f"= {edges[0]:.4g}", f"> {edges[0]:.4g}"]
    inner = [f"[{a:.4g}, {b:.4g})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    inner[-1] = inner[-1][:-1] + "]"
    return [f"< {edges[0]:.4g}", *inner, f"> {edges[-1]:.4g}"]


def ks_test(reference: np.ndarray, current: np.ndarray) -> TestResult | None:
    """Two-sample Kolmogorov-Smirnov test (``None`` when a side is empty)."""
    if len(reference) == 0 or len(current) == 0:
        return None
    from scipy.stats import ks_2samp  # noqa: PLC0415

    result = ks_2samp(reference, current)
    return TestResult(float(result.statistic), float(result.pvalue), "ks")


def normalised_wasserstein(reference: np.ndarray, current: np.ndarray) -> float | None:
    """Wasserstein-1 distance divided by the reference standard deviation.

    A constant reference is normalised by 1 (the distance in the column's units).
    """
    if len(reference) == 0 or len(current) == 0:
        return None
    from scipy.stats import wasserstein_distance  # noqa: PLC0415

    scale = float(np.std(reference))
    return float(
        wasserstein_distance(reference, current) / (scale if scale > 0 else 1.0)
    )
