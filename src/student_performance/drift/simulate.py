"""Seeded drift simulations: batches with a known kind and intensity of drift.

A simulated batch is drawn from the source rows (the reference itself in the pipeline,
a disjoint part of the data in the tests), drifted, and written back to raw text, so
that it goes through the same cleaning as a real batch. Kinds:

- ``feature_shift``: in ``shifted_features`` random features, a share of the values is
  replaced by one destination category (the rarest one holding at least 5 % of the
  reference) until the column's PSI against the reference is ``intensity * max_psi``;
  numeric features move by ``intensity * numeric_shift_sd`` standard deviations.
- ``missing_values``: in ``missing_features`` random features, ``intensity *
  missing_max_share`` of the values become one of the schema's missing tokens.
- ``label_imbalance``: rows are drawn per class, with the majority class's share raised
  until the target's PSI is ``intensity * max_psi`` (the features follow their class).
- ``unseen_categories``: in ``unseen_features`` random features, ``intensity *
  unseen_max_share`` of the values become spellings the schema does not know.
- ``combined``: all four at the same intensity.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from student_performance.batch.cleaning import clean_rows, unseen_table
from student_performance.schema import DatasetSchema, FeatureKind

from . import stats
from .detect import ColumnProfile, compare_profiles, profile_frame
from .settings import DriftTestsParams, SimulationParams
from .verdict import LEVELS

MIN_DESTINATION_SHARE = 0.05


def mixing_for_psi(
    reference: np.ndarray, destination: int, target_psi: float, epsilon: float = 1e-4
) -> float:
    """Share ``s`` such that ``(1 - s) * p + s * e_destination`` has PSI ``target_psi``.

    PSI grows monotonically along that segment, so a bisection finds it; 1 when even
    a point mass on the destination stays below the target.
    """
    p = stats.shares(reference)
    point = np.zeros_like(p)
    point[destination] = 1.0
    low, high = 0.0, 1.0
    if target_psi <= 0:
        return 0.0
    if stats.psi(p, point, epsilon) <= target_psi:
        return 1.0
    for _ in range(50):
        mid = (low + high) / 2
        if stats.psi(p, (1 - mid) * p + mid * point, epsilon) < target_psi:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def destination_category(counts: np.ndarray) -> int:
    """The rarest category holding at least 5 % of the reference (else the rarest seen)."""
    share = stats.shares(counts)
    eligible = np.flatnonzero(share >= MIN_DESTINATION_SHARE)
    if len(eligible) < 2:  # noqa: PLR2004 - one dominant category: any seen one
        eligible = np.flatnonzero(share > 0)
    ranked = eligible[np.argsort(share[eligible], kind="stable")]
    dominant = int(np.argmax(share))
    return int(next((i for i in ranked if i != dominant), ranked[0]))


def _pick(features: list[str], how_many: int, rng: np.random.Generator) -> list[str]:
    chosen = rng.choice(len(features), size=min(how_many, len(features)), replace=False)
    return [features[i] for i in sorted(chosen)]


def _draw_rows(
    source: pd.DataFrame,
    reference: dict[str, ColumnProfile],
    target: str,
    size: int,
    imbalance: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Bootstrap rows; with ``imbalance`` > 0, class shares moved towards the majority."""
    if imbalance <= 0:
        return source.iloc[rng.integers(0, len(source), size)]
    profile = reference[target]
    majority = int(np.argmax(profile.counts))
    s = mixing_for_psi(profile.counts, majority, imbalance)
    p = stats.shares(profile.counts)
    wanted = (1 - s) * p + s * np.eye(len(p))[majority]
    per_class = rng.multinomial(size, wanted)
    codes = source[target].cat.codes.to_numpy()
    picks = [
        rng.choice(np.flatnonzero(codes == k), size=n)
        for k, n in enumerate(per_class)
        if n > 0 and (codes == k).any()
    ]
    return source.iloc[rng.permutation(np.concatenate(picks))]


def _shift_column(
    column: pd.Series,
    profile: ColumnProfile,
    target_psi: float,
    shift_sd: float,
    rng: np.random.Generator,
) -> pd.Series:
    """Move a column's mass (categorical) or values (numeric); a new series."""
    if profile.kind == FeatureKind.NUMERIC.value:
        scale = float(np.std(profile.values)) if len(profile.values) else 1.0
        return column + shift_sd * (scale if scale > 0 else 1.0)
    destination = destination_category(profile.counts)
    s = mixing_for_psi(profile.counts, destination, target_psi)
    move = column.notna().to_numpy() & (rng.random(len(column)) < s)
    return column.mask(move, profile.categories[destination])


def _replace_text(
    raw: pd.DataFrame,
    columns: list[str],
    share: float,
    tokens: list[str],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A copy of ``raw`` with ``share`` of the cells of ``columns`` set to random tokens."""
    out = raw.copy()
    for name in columns:
        hit = rng.random(len(out)) < share
        out.loc[hit, name] = rng.choice(tokens, size=int(hit.sum()))
    return out


def _text_drift(
    raw: pd.DataFrame,
    done: dict[str, Any],
    dataset: DatasetSchema,
    settings: SimulationParams,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Missing tokens and unseen categories in the raw text, as ``done`` asks."""
    kind, intensity = done["kind"], done["intensity"]
    combined, features = kind == "combined", dataset.feature_names
    if intensity > 0 and (kind == "missing_values" or combined):
        done["missing_values"] = _pick(features, settings.missing_features, rng)
        raw = _replace_text(
            raw,
            done["missing_values"],
            intensity * settings.missing_max_share,
            list(dataset.missing_tokens),
            rng,
        )
    if intensity > 0 and (kind == "unseen_categories" or combined):
        done["unseen_categories"] = _pick(features, settings.unseen_features, rng)
        raw = _replace_text(
            raw,
            done["unseen_categories"],
            intensity * settings.unseen_max_share,
            ["UNSEEN_A", "UNSEEN_B", "UNSEEN_C"],
            rng,
        )
    return raw


def simulate_batch(
    source: pd.DataFrame,
    reference: dict[str, ColumnProfile],
    *,
    kind: str,
    intensity: float,
    dataset: DatasetSchema,
    settings: SimulationParams,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One simulated batch as raw text, and what was done to it.

    Args:
        source: Typed rows to draw from (target and features).
        reference: Profiles of the reference the batch will be compared with (they
            calibrate the PSI-based intensities).
        kind: One of ``SimulationParams.kinds``.
        intensity: 0 (no drift) to 1.
        dataset: The schema.
        settings: Sizes, shares and how many features each kind touches.
        rng: The only source of randomness.

    Returns:
        The batch (every cell text, as a raw file would give it) and a description:
        kind, intensity and the columns each drift was applied to.
    """
    features = dataset.feature_names
    imbalance = (
        intensity * settings.max_psi if kind in {"label_imbalance", "combined"} else 0
    )
    typed = _draw_rows(
        source, reference, dataset.target.name, settings.batch_size, imbalance, rng
    ).reset_index(drop=True)
    done: dict[str, Any] = {"kind": kind, "intensity": intensity}
    if imbalance:
        done["label_imbalance"] = [dataset.target.name]
    if intensity > 0 and kind in {"feature_shift", "combined"}:
        done["feature_shift"] = _pick(features, settings.shifted_features, rng)
        for name in done["feature_shift"]:
            typed[name] = _shift_column(
                typed[name],
                reference[name],
                intensity * settings.max_psi,
                intensity * settings.numeric_shift_sd,
                rng,
            )
    raw = _text_drift(typed.astype("string"), done, dataset, settings, rng)
    return raw, done


def _max_psi(report: dict[str, Any]) -> float:
    return max((c["psi"] or 0.0 for c in report["columns"]), default=0.0)


def assess_batches(
    batches: list[pd.DataFrame],
    reference: dict[str, ColumnProfile],
    *,
    dataset: DatasetSchema,
    thresholds: DriftTestsParams,
    seed: int,
) -> list[dict[str, Any]]:
    """Clean raw batches as real ones (in one pass) and compare each with the reference.

    Cleaning a concatenation costs about as much as cleaning one batch: the cleaning
    helpers run once per distinct spelling.
    """
    if not batches:
        return []
    typed, invalid = clean_rows(pd.concat(batches, keys=range(len(batches))), dataset)
    return [
        compare_profiles(
            reference,
            profile_frame(typed.xs(b, level=0), dataset),
            unseen_table(invalid.xs(b, level=0)),
            dataset=dataset,
            thresholds=thresholds,
            seed=seed + b,
        )
        for b in range(len(batches))
    ]


def _summarise(
    kind: str, intensity: float, reports: list[dict[str, Any]]
) -> dict[str, Any]:
    status = pd.Series([r["status"] for r in reports], dtype="string")
    return {
        "kind": kind,
        "intensity": intensity,
        "runs": len(reports),
        **{level: float((status == level).mean()) for level in LEVELS},
        "detected": float(status.isin(["warning", "drift"]).mean()),
        "retrain": float(np.mean([r["retrain_recommended"] for r in reports])),
        "mean_max_psi": float(np.mean([_max_psi(r) for r in reports])),
    }


def detection_rates(
    source: pd.DataFrame,
    *,
    dataset: DatasetSchema,
    thresholds: DriftTestsParams,
    settings: SimulationParams,
    seed: int,
) -> pd.DataFrame:
    """How often each kind of drift is detected, per intensity.

    Every (kind, intensity) runs ``settings.repeats`` seeded batches drawn from
    ``source``, which is also the reference.

    Returns:
        One row per kind and intensity: ``runs``, the shares of runs whose status is
        ``ok`` / ``warning`` / ``drift``, ``detected`` (warning or drift), ``retrain``
        (retraining recommended) and ``mean_max_psi`` (the largest column PSI).
    """
    reference = profile_frame(source, dataset)
    grid = [
        (kind, intensity, np.random.default_rng([seed, k, i, r]))
        for k, kind in enumerate(settings.kinds)
        for i, intensity in enumerate(settings.intensities)
        for r in range(settings.repeats)
    ]
    batches = [
        simulate_batch(
            source,
            reference,
            kind=kind,
            intensity=intensity,
            dataset=dataset,
            settings=settings,
            rng=rng,
        )[0]
        for kind, intensity, rng in grid
    ]
    reports = assess_batches(
        batches, reference, dataset=dataset, thresholds=thresholds, seed=seed
    )
    runs = settings.repeats
    return pd.DataFrame(
        [
            _summarise(kind, intensity, reports[start : start + runs])
            for start, (kind, intensity, _) in zip(
                range(0, len(grid), runs), grid[::runs], strict=True
            )
        ]
    )


def showcase(
    source: pd.DataFrame,
    *,
    dataset: DatasetSchema,
    thresholds: DriftTestsParams,
    settings: SimulationParams,
    seed: int,
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, Any]]]:
    """One batch per kind at ``settings.showcase_intensity``, and its full report.

    Returns:
        Raw batches by kind (text, as a file would hold them: feed one back with
        ``--params drift_batch=...``) and their reports, each with a ``simulation``
        entry saying what was done to which columns.
    """
    reference = profile_frame(source, dataset)
    made = {
        kind: simulate_batch(
            source,
            reference,
            kind=kind,
            intensity=settings.showcase_intensity,
            dataset=dataset,
            settings=settings,
            rng=np.random.default_rng([seed, k, 1_000_000]),
        )
        for k, kind in enumerate(settings.kinds)
    }
    reports = assess_batches(
        [raw for raw, _ in made.values()],
        reference,
        dataset=dataset,
        thresholds=thresholds,
        seed=seed,
    )
    return {kind: raw for kind, (raw, _) in made.items()}, {
        kind: {**report, "simulation": done}
        for (kind, (_, done)), report in zip(made.items(), reports, strict=True)
    }
