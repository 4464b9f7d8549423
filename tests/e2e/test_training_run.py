"""End-to-end: ``kedro run --pipelines training --env test``, twice, then the registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import joblib
import mlflow
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader

from student_performance.core.selection import score_configuration
from student_performance.registry import SAME_FOLDS
from student_performance.schema import DatasetSchema
from student_performance.settings import CONFIG_LOADER_ARGS
from tests.conftest import (
    latest_mlflow_run,
    make_project_copy,
    registered_model_name,
    run_kedro,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_training_runs(tmp_path_factory):
    """Train twice in one project copy (same data, same seed), as a user would."""
    project = make_project_copy(tmp_path_factory.mktemp("training"))
    runs, decisions = [], []
    for _ in range(2):
        run_kedro(project, ["training"], env="test")
        runs.append(latest_mlflow_run())
        decisions.append(
            json.loads(
                (project / "data/08_reporting/promotion_decision.json").read_text()
            )
        )
    return project, runs, decisions


def test_training_logs_every_candidate_and_the_selected_model(two_training_runs):
    project, runs, _ = two_training_runs
    metrics = runs[0].data.metrics
    for candidate in (
        "baseline",
        "logistic_regression",
        "random_forest",
        "lightgbm",
        "ordinal_ridge",
    ):
        assert f"cv.{candidate}.quadratic_weighted_kappa_mean" in metrics, candidate
        assert f"cv.{candidate}.accuracy_std" in metrics, candidate
    assert metrics["cv.baseline.quadratic_weighted_kappa_mean"] == 0
    assert metrics["selected.cv_quadratic_weighted_kappa"] > 0.5
    assert "selected.holdout_f1_macro" in metrics
    for name in ("cv_log_loss", "cv_brier", "cv_ece", "cv_set_size"):
        assert f"selected.{name}" in metrics, name
    assert 0.8 <= metrics["selected.cv_set_coverage"] <= 1.0
    assert metrics["data_quality.rows_kept"] == 628
    # typed parameters are logged flattened, as kedro-mlflow logs plain dicts
    params = runs[0].data.params
    assert params["modelling.cv.n_splits"] == "3"
    assert params["modelling.conformal.level"] == "0.9"
    artifacts = {
        a.path for a in mlflow.MlflowClient().list_artifacts(runs[0].info.run_id)
    }
    assert {
        "model_comparison.html",
        "confusion_matrix.png",
        "feature_importance.csv",
        "model_card.md",
        "prediction_sets.json",
        "holdout_explanations.csv",
        "group_report.json",
        "model_features.json",
    } <= artifacts
    assert (project / "data/06_models/model_selected.pkl").exists()
    # figures per sensitive group: MLflow metrics, the card's section
    for group in ("Gender.female", "Gender.male", "Caste.General", "Caste.ST"):
        assert 0 <= metrics[f"fairness.{group}.coverage"] <= 1, group
        assert metrics[f"fairness.{group}.n"] >= 30, group  # noqa: PLR2004
    assert "fairness.worst.quadratic_weighted_kappa" in metrics
    assert "fairness.Caste.gap.coverage" in metrics
    card = (project / "data/08_reporting/model_card.md").read_text()
    assert "## Fairness by group" in card and "| Caste | OBC |" in card


def test_two_runs_with_the_same_seed_give_identical_metrics(two_training_runs):
    _, runs, _ = two_training_runs
    first, second = (
        {k: v for k, v in r.data.metrics.items() if k.startswith(("cv.", "selected."))}
        for r in runs
    )
    assert first == second


def test_first_run_becomes_champion_second_is_gated(two_training_runs):
    _, runs, decisions = two_training_runs
    assert decisions[0]["promoted"] and decisions[0]["champion_version"] is None
    second = decisions[1]
    assert second["champion_version"] == decisions[0]["challenger_version"]
    # Same data, same seed: the champion's configuration re-scored on the challenger's
    # folds gives exactly its own recorded figure, and the challenger's.
    assert second["comparison"] == SAME_FOLDS
    assert (
        second["challenger_score"]
        == second["champion_score"]
        == second["champion_recorded_score"]
    )
    assert second["challenger_log_loss"] == second["champion_log_loss"]
    assert "log_loss" in second["reason"]
    assert "worst-group quadratic_weighted_kappa" in second["reason"]
    assert second["worst_group_tolerance"] == 0.05  # noqa: PLR2004
    assert second["promoted"]  # not worse, so it takes over
    tags = mlflow.MlflowClient().get_run(runs[1].info.run_id).data.tags
    assert tags["promotion.decision"] == "promoted"


def test_champion_loads_in_a_fresh_process_and_matches_the_pipeline_model(
    two_training_runs, tmp_path
):
    project, _, _ = two_training_runs
    holdout = pd.read_parquet(project / "data/05_model_input/holdout.parquet")
    raw = pd.read_csv(
        project / "data/01_raw/student_entry_performance_modified.csv",
        dtype=str,
        keep_default_na=False,
    )
    raw.index = raw.index + 2  # source_line: the header is line 1
    rows = tmp_path / "holdout_raw.csv"
    raw.loc[holdout.index].to_csv(rows, index=False)  # messy text, untrimmed, odd case
    script = textwrap.dedent(
        f"""
        import json, logging, mlflow, pandas as pd
        model = mlflow.pyfunc.load_model("models:/{registered_model_name(project)}@champion")
        rows = pd.read_csv({str(rows)!r}, dtype=str, keep_default_na=False)
        seen = logging.Handler(logging.INFO)
        seen.records = []
        seen.emit = seen.records.append
        for name in ("", "kedro"):
            logging.getLogger(name).addHandler(seen)
        out = model.predict(rows)
        info = {{id(r) for r in seen.records if r.levelno == logging.INFO}}
        print(json.dumps({{"prediction": out["prediction"].tolist(),
                          "columns": list(out.columns), "info_lines": len(info)}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    )
    served = json.loads(done.stdout.strip().splitlines()[-1])
    model = joblib.load(project / "data/06_models/model_selected.pkl")
    in_pipeline = model.predict(holdout[model.estimator_.feature_names_in_])
    assert served["columns"] == [
        "prediction",
        "proba_Average",
        "proba_Good",
        "proba_Vg",
        "proba_Excellent",
        "prediction_set",
    ]
    assert served["prediction"] == list(in_pipeline)
    assert served["info_lines"] == 0  # predict runs its nodes quietly


def test_after_new_data_the_champion_is_scored_on_the_new_folds(tmp_path):
    """The second run develops on other rows (a larger holdout): the gate does not
    compare CV means on different rows, it re-scores the champion's configuration on
    the challenger's development folds."""
    project = make_project_copy(tmp_path)
    run_kedro(project, ["training"], env="test")
    champion_config = json.loads(
        (project / "data/06_models/model_selected_config.json").read_text()
    )
    run_kedro(
        project,
        ["training"],
        env="test",
        runtime_params={"modelling": {"split": {"holdout_share": 0.3}}},
    )
    decision = json.loads(
        (project / "data/08_reporting/promotion_decision.json").read_text()
    )
    development = pd.read_parquet(project / "data/05_model_input/development.parquet")
    assert len(development) == 439  # 70 % of 628: other rows than the first run's 502
    params = OmegaConfigLoader(str(project / "conf"), env="test", **CONFIG_LOADER_ARGS)[
        "parameters"
    ]
    expected = score_configuration(
        development,
        DatasetSchema.model_validate(params["dataset"]),
        champion_config,
        params["modelling"]["cv"],
        params["modelling"]["selection"]["primary_metric"],
    )
    assert decision["comparison"] == SAME_FOLDS
    assert decision["champion_score"] == pytest.approx(expected, abs=1e-12)
    assert decision["champion_score"] != decision["champion_recorded_score"]
