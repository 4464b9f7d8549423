"""Is the model as good for every group? Set modes by group, and with or without the
sensitive features as inputs.

1. Prediction-set modes: ``marginal``, ``class_conditional`` and ``group_conditional``
   (one threshold per group of each sensitive feature in turn), on the selection's
   repeated CV with fresh seeds (every outer fold calibrates on its own training rows,
   as ``core.conformal.evaluate_prediction_sets`` does): coverage per true class and
   per group, and the mean set size.
2. With or without ``dataset.sensitive_features`` as inputs: each enabled candidate's
   best configuration by repeated CV (``core.selection``), its QWK and the largest
   between-group gap of QWK and set coverage (``core.groups``, bootstrap 95 %).

    .venv/bin/python studies/fairness.py [--env base] [--seeds 3] [--project PATH]

It reads ``prm_students`` through the project's catalog, so run
``kedro run --pipelines data_processing`` first. It writes nothing; it prints two
Markdown tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from model_ceiling import ROOT, load_primary, markdown_table

from student_performance.core.conformal import evaluate_prediction_sets
from student_performance.core.groups import FairnessParams, group_labels, group_report
from student_performance.core.params import (
    CandidatesParams,
    ConformalParams,
    CVParams,
    SplitParams,
)
from student_performance.core.selection import cross_validate, rank_configurations
from student_performance.pipelines.modelling.nodes import split_development_holdout
from student_performance.schema import DatasetSchema

PRIMARY = "quadratic_weighted_kappa"


def load(project: Path, env: str) -> tuple[pd.DataFrame, DatasetSchema, dict]:
    """The development part (as training splits it), the schema and ``modelling``."""
    primary, schema, parameters = load_primary(project, env)
    modelling = parameters["modelling"]
    development, _ = split_development_holdout(
        primary, schema, SplitParams(**modelling["split"])
    )
    return development.reset_index(drop=True), schema, modelling


def _coverage_row(rows, frame, schema, mode: str, seed: int) -> dict[str, float]:
    """One seed and mode: overall, per class and per group coverage, mean size."""
    result = {"mode": mode, "seed": seed, "coverage": rows["covered"].mean()}
    result["set size"] = rows["set_size"].mean()
    for name, part in rows.groupby("true_class"):
        result[f"class {name}"] = part["covered"].mean()
    for feature in schema.sensitive_features:
        labels = group_labels(frame[feature]).to_numpy()[rows["row"].to_numpy()]
        for group, part in rows.groupby(labels):
            result[f"{feature}={group}"] = part["covered"].mean()
    return result


def modes_table(
    frame: pd.DataFrame, schema: DatasetSchema, modelling: dict, seeds: int
) -> list[dict[str, str]]:
    """Coverage per class and group and the mean size of every mode (mean over
    seeds, with the smallest figure over seeds for coverage)."""
    configuration = selected_configuration(frame, schema, modelling, None)
    modes = [("marginal", None), ("class_conditional", None)]
    modes += [(f"group_conditional({f})", f) for f in schema.sensitive_features]
    found = []
    for seed in range(seeds):
        cv = CVParams(**{**modelling["cv"], "seed": 1000 + seed, "n_repeats": 1})
        for mode, feature in modes:
            conformal = ConformalParams(
                **{**modelling["conformal"], "mode": mode.split("(")[0]},
                **({"group_feature": feature} if feature else {}),
            )
            rows = evaluate_prediction_sets(frame, schema, configuration, cv, conformal)
            found.append(_coverage_row(rows, frame, schema, mode, seed))
    table = pd.DataFrame(found).drop(columns="seed").groupby("mode", sort=False)
    means, lows = table.mean(), table.min()
    return [
        {"mode": mode}
        | {
            column: f"{means.loc[mode, column]:.3f}"
            + ("" if column == "set size" else f" ({lows.loc[mode, column]:.2f})")
            for column in means.columns
        }
        for mode in means.index
    ]


def selected_configuration(
    frame: pd.DataFrame, schema: DatasetSchema, modelling: dict, candidate: str | None
) -> dict[str, Any]:
    """The best configuration by repeated CV (of one candidate, or of all)."""
    candidates = CandidatesParams.model_validate(modelling["candidates"]).as_dict()
    if candidate is not None:
        candidates = {candidate: candidates[candidate]}
    enabled = {k: v for k, v in candidates.items() if v.get("enabled", True)}
    folds = cross_validate(
        frame, schema, enabled, modelling["cv"], modelling["decision"]
    )
    _, selected = rank_configurations(folds, enabled, PRIMARY, modelling["decision"])
    return selected


def with_without_table(
    frame: pd.DataFrame, schema: DatasetSchema, modelling: dict
) -> list[dict[str, str]]:
    """Each candidate with and without the sensitive features: QWK and the gaps."""
    found = []
    sensitive = list(schema.sensitive_features)
    params = FairnessParams(**modelling.get("fairness", {}))
    for name, spec in modelling["candidates"].items():
        if not spec.get("enabled", True) or spec["estimator"] == "majority":
            continue
        for label, model_schema in (
            ("with", schema),
            ("without", schema.without(sensitive)),
        ):
            best = selected_configuration(frame, model_schema, modelling, name)
            rows = evaluate_prediction_sets(
                frame, model_schema, best, modelling["cv"], modelling["conformal"]
            )
            report = group_report(
                rows, frame, sensitive, list(schema.target.classes), params
            )
            found.append(_with_without_row(name, label, best, report))
    return found


def _with_without_row(name, label, best, report) -> dict[str, str]:
    row = {"candidate": name, "inputs": f"{label} sensitive"}
    row["CV QWK"] = f"{best['cv'][PRIMARY]:.3f} ± {best['cv_std'][PRIMARY]:.3f}"
    for feature, part in report["features"].items():
        for metric, short in ((PRIMARY, "QWK"), ("coverage", "coverage")):
            gap = part["gaps"][metric]
            row[f"{feature} {short} gap"] = (
                "n/a"
                if gap["gap"] is None
                else f"{gap['gap']:.3f} [{gap['low']:.3f}, {gap['high']:.3f}]"
            )
    for metric, worst in report["worst"].items():
        short = "QWK" if metric == PRIMARY else metric
        row[f"worst {short}"] = f"{worst['group']} {worst['value']:.3f}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT, help="project folder")
    parser.add_argument("--env", default="base")
    parser.add_argument("--seeds", type=int, default=3, help="fresh CV seeds (modes)")
    parser.add_argument("--part", choices=["modes", "inputs", "both"], default="both")
    args = parser.parse_args()
    frame, schema, modelling = load(args.project.resolve(), args.env)
    np.seterr(all="ignore")
    if args.part in {"modes", "both"}:
        print("## Prediction-set modes: coverage (lowest seed) per class and group\n")
        print(markdown_table(modes_table(frame, schema, modelling, args.seeds)))
    if args.part in {"inputs", "both"}:
        print("\n## With or without the sensitive features as inputs\n")
        print(markdown_table(with_without_table(frame, schema, modelling)))


if __name__ == "__main__":
    main()
