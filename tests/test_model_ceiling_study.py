"""studies/model_ceiling.py: the reproducible search behind the modelling README's
ceiling table keeps running and keeps comparing like with like."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from student_performance.models.candidates import build_candidate

from .conftest import PROJECT_ROOT, load_study

# Both tests need the primary table of a training run (conftest's trained_project).
pytestmark = pytest.mark.slow

SCRIPT = PROJECT_ROOT / "studies/model_ceiling.py"


@pytest.fixture(scope="module")
def study():
    return load_study("model_ceiling")


def _table_row(output: str, family: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(f"| {family} "))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_reference_family_is_the_pipelines_ordinal_ridge(study, trained_project: Path):
    """The study's reference makes exactly the predictions of the pipeline's
    ordinal_ridge candidate with the same alpha, so its Δ column compares against the
    model the project ships."""
    X, y, schema, seed = study.load(trained_project, "test")  # noqa: N806
    train, test = np.arange(len(y)) % 5 != 0, np.arange(len(y)) % 5 == 0
    _, factory = study.FAMILIES[study.REFERENCE]
    reference = factory(schema, seed).fit(X[train], y[train]).predict(X[test])
    candidate = build_candidate("ordinal_ridge", {"alpha": 3.0}, schema, seed, "onehot")
    shipped = clone(candidate).fit(X[train], y[train]).predict(X[test])
    np.testing.assert_array_equal(reference, shipped)


def test_study_prints_a_paired_table(trained_project: Path):
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--project",
            str(trained_project),
            "--env",
            "test",
            "--seeds",
            "2",
            "--only",
            "majority,cumulative_logistic",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    assert "628 rows, CV seeds 42..43" in out
    reference = _table_row(out, "ridge_class_index")
    majority = _table_row(out, "majority")
    assert _table_row(out, "cumulative_logistic")
    # The reference against itself: zero difference on every seed.
    assert reference[4:7] == ["+0.000 [+0.000, +0.000]"] * 3
    # The majority class: QWK 0 and a clearly negative paired difference.
    assert majority[3].startswith("0.000")
    assert float(re.match(r"[+-]\d\.\d+", majority[6]).group()) < -0.5  # noqa: PLR2004
    # The reference ridge: 0.50 accuracy, 0.62 QWK on this protocol (modelling README).
    assert float(reference[1].split(" ± ")[0]) == pytest.approx(0.50, abs=0.01)
    assert float(reference[3].split(" ± ")[0]) == pytest.approx(0.62, abs=0.01)
    # The in-sample bound is printed, and it sits above the out-of-sample figure.
    bound = re.search(
        r"in-sample\): accuracy ([\d.]+), macro F1 [\d.]+, QWK ([\d.]+)", out
    )
    assert bound is not None
    assert float(bound.group(2)) > float(reference[3].split(" ± ")[0])


def test_study_says_what_is_missing(tmp_path: Path):
    """Without the primary table the study names the command that makes it."""
    (tmp_path / "conf").symlink_to(PROJECT_ROOT / "conf")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--project", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "kedro run --pipelines data_processing" in result.stderr
