"""Smaller prediction sets or a better ranking? The trade-off between set size and QWK.

The modelling issue asks, on the selection's repeated CV, for a mean 90 % set size
<= 2.4 *and* a QWK no worse than the served ridge's 0.605 by more than 0.01.
``prediction_sets.py`` shows that no conformity score shrinks the ridge's sets below
2.46: only sharper probabilities do. This study measures models with sharper
probabilities - the mean of the probabilities of the ridge and other candidates, each
in its own preprocessing pipeline (scikit-learn's soft ``VotingClassifier``) - with
the served decision rules, on the selection's folds (5-fold stratified x 3, seed 42,
on the development part) and on fresh CV seeds:

- coverage and mean size of the shipped sets (``1 - p(true)``, contiguous, marginal,
  every outer fold calibrated on its own training rows, as the pipeline does);
- QWK of the class each rule picks (``argmax``, or ``least_expected_cost`` under the
  absolute cost: the median), and the log loss (mean over folds).

Each member is the first configuration of its candidate's grid in
``conf/<env>/parameters_modelling.yml``.

    .venv/bin/python studies/set_size_frontier.py [--env base] [--seeds 4]
        [--project PATH]

It reads ``prm_students`` through the project's catalog, so run
``kedro run --pipelines data_processing`` first. It writes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from kedro.config import OmegaConfigLoader
from model_ceiling import ROOT, load, markdown_table
from prediction_sets import _fold, members
from sklearn.ensemble import VotingClassifier
from sklearn.metrics import cohen_kappa_score, log_loss

from student_performance.core.selection import (
    build_model,
    configurations,
    cv_folds,
    features_and_target,
)
from student_performance.models.estimators import OrderedClassifier, decide_index
from student_performance.pipelines.modelling.nodes import split_development_holdout
from student_performance.settings import CONFIG_LOADER_ARGS

MODELS = {
    "ordinal_ridge (served)": ("ordinal_ridge",),
    "mean of ridge + logistic": ("ordinal_ridge", "logistic_regression"),
    "mean of ridge + logistic + LightGBM": (
        "ordinal_ridge",
        "logistic_regression",
        "lightgbm",
    ),
}
RULES = {
    "argmax": ("argmax", "absolute"),
    "median": ("least_expected_cost", "absolute"),
}


def first_configurations(modelling: dict) -> dict[str, dict]:
    """Each candidate's first configuration (its grid's first point), by name."""
    first: dict[str, dict] = {}
    for config in configurations(modelling["candidates"], modelling["decision"]):
        first.setdefault(config["candidate"], config)
    return first


def mean_of(names: tuple[str, ...], first: dict, schema, seed: int):
    """One candidate's model, or the mean of several candidates' probabilities."""
    if len(names) == 1:
        return build_model(first[names[0]], schema, seed)
    voting = VotingClassifier(
        [(name, build_model(first[name], schema, seed).estimator) for name in names],
        voting="soft",
    )
    return OrderedClassifier(voting, schema.target.classes, "argmax", "absolute")


def measure(model, X, y, cv: dict, level: float, n_jobs: int) -> dict:  # noqa: N803
    """Coverage, set size, QWK per rule and log loss of ``model`` on one CV seed."""
    folds = Parallel(n_jobs=n_jobs)(
        delayed(_fold)(model, X, y, train, test, cv["seed"] + f)
        for f, (train, test) in enumerate(cv_folds(X, y, cv))
    )
    truth = np.concatenate([f[3] for f in folds])
    row = {"log_loss": np.mean([log_loss(f[3], f[1], labels=range(4)) for f in folds])}
    for rule, (name, cost) in RULES.items():
        picked = [decide_index(f[1], name, cost) for f in folds]
        sets = np.vstack(
            [
                members("lac_contiguous", f[0], f[1], p, level, "marginal")
                for f, p in zip(folds, picked, strict=True)
            ]
        )
        row[rule] = {
            "coverage": sets[np.arange(len(truth)), truth].mean(),
            "size": sets.sum(axis=1).mean(),
            "qwk": np.mean(
                [
                    cohen_kappa_score(f[3], p, weights="quadratic")
                    for f, p in zip(folds, picked, strict=True)
                ]
            ),
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT, help="project folder")
    parser.add_argument("--env", default="base")
    parser.add_argument("--seeds", type=int, default=4, help="CV seeds (42, 43, ...)")
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()

    project = args.project.resolve()
    X, y, schema, seed = load(project, args.env)  # noqa: N806
    loader = OmegaConfigLoader(
        str(project / "conf"), env=args.env, **CONFIG_LOADER_ARGS
    )
    modelling = loader["parameters"]["modelling"]
    first = first_configurations(modelling)
    classes = np.asarray(schema.target.classes, dtype=object)
    frame = X.assign(**{schema.target.name: classes[y]})
    development, _ = split_development_holdout(frame, schema, modelling["split"])
    X, y = features_and_target(development, schema)  # noqa: N806
    print(
        f"{len(development)} development rows, 5-fold x 3, seeds {seed}-"
        f"{seed + args.seeds - 1}, level {args.level:.0%}; cells: seed {seed} "
        "(mean over the fresh seeds)\n"
    )
    table = []
    for label, names in MODELS.items():
        model = mean_of(names, first, schema, seed)
        rows = [
            measure(
                model,
                X,
                y,
                {"n_splits": 5, "n_repeats": 3, "seed": s},
                args.level,
                args.n_jobs,
            )
            for s in range(seed, seed + args.seeds)
        ]

        def cell(pick, rows=rows) -> str:
            if len(rows) == 1:  # --seeds 1: no fresh seeds
                return f"{pick(rows[0]):.3f}"
            return f"{pick(rows[0]):.3f} ({np.mean([pick(r) for r in rows[1:]]):.3f})"

        for rule in RULES:
            table.append(
                {
                    "probabilities": label,
                    "rule": rule,
                    "coverage": cell(lambda r, rule=rule: r[rule]["coverage"]),
                    "mean size": cell(lambda r, rule=rule: r[rule]["size"]),
                    "QWK": cell(lambda r, rule=rule: r[rule]["qwk"]),
                    "log loss": cell(lambda r: r["log_loss"]),
                }
            )
    print(markdown_table(table))


if __name__ == "__main__":
    main()
