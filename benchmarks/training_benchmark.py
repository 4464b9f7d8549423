"""How much does Kedro + MLflow add to training? Prints the overhead ratio.

Floor: the same scikit-learn fits done bare in one Python process: the split, every
candidate configuration on every repeated-CV fold (same folds, same n_jobs), the final
fit, the registry gate's re-score of the champion's configuration, holdout scoring and
permutation importance, on the same primary table.
Measured: ``kedro run --pipelines training`` as a user types it (CLI start-up, data
processing, reports, MLflow logging, model registration), tracking into a temporary
store so the project's own is untouched.

    .venv/bin/python benchmarks/training_benchmark.py [--env base] [--runs 3]
    .venv/bin/python benchmarks/training_benchmark.py --smoke   # conf/test, one run

Everything runs in a throwaway copy of the project (its own data and MLflow store).

Both are timed in the same run of this script, alternately, and the ratio is taken
pair by pair, because these machines are noisy.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _project import KEDRO, project_copy


def _floor(project: Path, env: str, environ: dict[str, str]) -> float:
    """Wall seconds of the bare scikit-learn work, in a fresh process."""
    code = f"""
import time
t0 = time.perf_counter()
import pandas as pd
from kedro.config import OmegaConfigLoader
from sklearn.inspection import permutation_importance
from student_performance.settings import CONFIG_LOADER_ARGS
from student_performance.schema import DatasetSchema
from student_performance.core import params as P
from student_performance.core.selection import score_configuration
from student_performance.pipelines.modelling import _sets, nodes
conf = OmegaConfigLoader("{project / "conf"}", env="{env}", **CONFIG_LOADER_ARGS)[
    "parameters"
]
schema = DatasetSchema.model_validate(conf["dataset"])
raw = conf["modelling"]
# typed as Kedro hands them to the nodes
m = dict(raw, split=P.SplitParams(**raw["split"]), cv=P.CVParams(**raw["cv"]),
         candidates=P.CandidatesParams.model_validate(raw["candidates"]),
         decision=P.DecisionParams(**raw["decision"]),
         selection=P.SelectionParams(**raw["selection"]),
         conformal=P.ConformalParams(**raw["conformal"]))
prm = pd.read_parquet("{project / "data/03_primary/prm_students.parquet"}")
dev, holdout = nodes.split_development_holdout(prm, schema, m["split"])
folds = nodes.evaluate_candidates(
    dev, schema, m["candidates"], m["cv"], m["decision"]
)
_, selected, _ = nodes.summarise_candidates(
    folds, m["candidates"], m["selection"], m["decision"]
)
model = nodes.fit_selected_model(dev, selected, schema, m["seed"])
# the prediction sets: cross-conformal calibration and their coverage on the folds
_sets.calibrate_prediction_sets(dev, selected, schema, m["conformal"], m["seed"])
_sets.evaluate_set_coverage(dev, selected, schema, m["cv"], m["conformal"])
# the registry gate re-scores the champion's configuration on these folds (the runs
# share one store, so from the second run on there is a champion: the same config)
score_configuration(dev, schema, selected, m["cv"], m["selection"].primary_metric)
X, y = holdout[schema.feature_names], holdout[schema.target.name].astype(object)
model.predict_proba(X)
permutation_importance(model, X, y, n_repeats=m["explain"]["n_repeats"], random_state=0)
print(time.perf_counter() - t0)
"""
    start = time.perf_counter()
    _run([sys.executable, "-c", code], project, environ)
    return time.perf_counter() - start


def _run(command: list[str], project: Path, environ: dict[str, str]) -> None:
    done = subprocess.run(
        command, cwd=project, env=environ, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"{' '.join(command[:3])} failed:\n{done.stderr[-3000:]}")


def _pipeline(project: Path, env: str, environ: dict[str, str]) -> float:
    start = time.perf_counter()
    _run([KEDRO, "run", "--pipelines", "training", "--env", env], project, environ)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="base")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="--env test --runs 1")
    args = parser.parse_args()
    if args.smoke:
        args.env, args.runs = "test", 1
    floors, pipelines = [], []
    with tempfile.TemporaryDirectory() as tmp:
        project, environ = project_copy(Path(tmp) / "project")
        environ["STUDENT_PERFORMANCE_HOME"] = str(project)
        # the floor reads the primary table the project's own cleaning writes
        _run(
            [KEDRO, "run", "--pipelines", "data_processing", "--env", args.env],
            project,
            environ,
        )
        for _ in range(args.runs):
            floors.append(_floor(project, args.env, environ))
            pipelines.append(_pipeline(project, args.env, environ))
    ratios = [p / f for p, f in zip(pipelines, floors, strict=True)]
    out = sys.stdout
    out.write(f"env={args.env} runs={args.runs} (wall seconds: median [min-max])\n")
    for name, values in (
        ("bare scikit-learn fits", floors),
        ("kedro run --pipelines training", pipelines),
        ("overhead ratio", ratios),
    ):
        out.write(
            f"  {name:32s} {statistics.median(values):6.2f} [{min(values):.2f}-{max(values):.2f}]\n"
        )


if __name__ == "__main__":
    main()
