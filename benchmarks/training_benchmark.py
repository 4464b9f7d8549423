"""How much does Kedro + MLflow add to training? Prints the overhead ratio.

Floor: the same scikit-learn fits done bare in one Python process: the split, every
candidate configuration on every repeated-CV fold (same folds, same n_jobs), the final
fit, the registry gate's re-score of the champion's configuration, holdout scoring and
permutation importance, on the same primary table.
Measured: ``kedro run --pipelines training`` as a user types it (CLI start-up, data
processing, reports, MLflow logging, model registration), tracking into a temporary
store so the project's own is untouched.

    .venv/bin/python benchmarks/training_benchmark.py [--env base] [--runs 3]

Both are timed in the same run of this script, alternately, and the ratio is taken
pair by pair, because these machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _floor(env: str) -> float:
    """Wall seconds of the bare scikit-learn work, in a fresh process."""
    code = f"""
import time
t0 = time.perf_counter()
import pandas as pd
from kedro.config import OmegaConfigLoader
from sklearn.inspection import permutation_importance
from student_performance.schema import DatasetSchema
from student_performance.core.selection import score_configuration
from student_performance.pipelines.modelling import _sets, nodes
conf = OmegaConfigLoader("{ROOT / "conf"}", base_env="base", default_run_env="{env}",
                         merge_strategy={{"parameters": "soft"}})["parameters"]
schema = DatasetSchema.model_validate(conf["dataset"])
m = conf["modelling"]
prm = pd.read_parquet("{ROOT / "data/03_primary/prm_students.parquet"}")
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
score_configuration(dev, schema, selected, m["cv"], m["selection"]["primary_metric"])
X, y = holdout[schema.feature_names], holdout[schema.target.name].astype(object)
model.predict_proba(X)
permutation_importance(model, X, y, n_repeats=m["explain"]["n_repeats"], random_state=0)
print(time.perf_counter() - t0)
"""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True
    )
    return time.perf_counter() - start


def _pipeline(env: str, store: Path) -> float:
    environ = os.environ | {
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "MLFLOW_ARTIFACT_ROOT": str(store / "mlartifacts"),
        "KEDRO_DISABLE_TELEMETRY": "1",
    }
    kedro = Path(sys.executable).with_name("kedro")
    start = time.perf_counter()
    subprocess.run(
        [str(kedro), "run", "--pipelines", "training", "--env", env],
        check=True,
        cwd=ROOT,
        env=environ,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="base")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not (ROOT / "data/03_primary/prm_students.parquet").exists():
        sys.exit(
            "run `kedro run --pipelines data_processing` first (the floor reads prm_students)"
        )
    floors, pipelines = [], []
    with tempfile.TemporaryDirectory() as store:
        for _ in range(args.runs):
            floors.append(_floor(args.env))
            pipelines.append(_pipeline(args.env, Path(store)))
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
