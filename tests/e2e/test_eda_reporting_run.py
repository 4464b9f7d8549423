"""End-to-end: ``kedro run --pipelines data_processing,eda_reporting`` in a KedroSession,
then the HTML report opened in headless Chromium with the network off."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from tests.conftest import (
    PROJECT_ROOT,
    SHIPPED_RAW,
    latest_mlflow_run,
    run_kedro,
)

pytestmark = pytest.mark.slow

REPORTING = Path("data/08_reporting")
EDA_FILES = [
    "dataset_overview.json",
    "findings.json",
    "column_overview.csv",
    "target_distribution.csv",
    "feature_by_target.csv",
    "association_ranking.csv",
    "association_matrix.csv",
    "target_distribution.png",
    "features_by_target.png",
    "association_ranking.png",
    "association_heatmap.png",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _copy_project(root: Path) -> Path:
    """As tests/conftest.py's ``project_copy``, for a run shared by a module."""
    shutil.copytree(
        PROJECT_ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local")
    )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / "conf/local").mkdir()
    (root / "src").mkdir()
    (root / "data/01_raw").mkdir(parents=True)
    shutil.copy(SHIPPED_RAW, root / "data/01_raw" / SHIPPED_RAW.name)
    return root


@pytest.fixture(scope="module")
def messy_run(tmp_path_factory, messy_file) -> tuple[Path, mlflow.entities.Run]:
    """One run of both pipelines on the messy file, shared by the tests below."""
    project = _copy_project(tmp_path_factory.mktemp("eda_project"))
    shutil.copy(messy_file, project / "data/01_raw" / messy_file.name)
    run_kedro(project, ["data_processing", "eda_reporting"])
    return project, latest_mlflow_run()


def test_messy_file_reports(messy_run, dataset_schema):
    project, _ = messy_run
    eda = project / REPORTING / "eda"
    for name in EDA_FILES:
        assert (eda / name).stat().st_size > 0, name
    for png in eda.glob("*.png"):
        assert png.read_bytes().startswith(PNG_SIGNATURE), png.name
    html = (project / REPORTING / "eda_report.html").read_text(encoding="utf-8")
    assert 3_000_000 < len(html) < 8_000_000  # plotly.js (~4.7 MB) is embedded

    overview = json.loads((eda / "dataset_overview.json").read_text())
    assert overview["raw"] == {"rows": 679, "columns": 13}
    assert overview["clean"] == {"rows": 628, "columns": 12}
    assert overview["quarantined_by_reason"] == {"duplicate": 45, "target_missing": 6}

    target = pd.read_csv(eda / "target_distribution.csv")
    assert list(target["class"]) == list(dataset_schema.target.classes)
    assert target["count"].sum() == 628

    ranking = pd.read_csv(eda / "association_ranking.csv")
    assert set(ranking["feature"]) == set(dataset_schema.feature_names)
    assert ranking["cramers_v"].is_monotonic_decreasing
    assert ranking.loc[0, "feature"] == "Caste"
    assert ranking.loc[0, "cramers_v"] == pytest.approx(0.4655, abs=1e-3)
    ordinal = ranking["kind"] == "ordinal"
    assert ranking.loc[ordinal, "spearman"].notna().all()
    assert ranking.loc[~ordinal, "spearman"].isna().all()

    columns = pd.read_csv(eda / "column_overview.csv").set_index("column")
    assert list(columns.index) == dataset_schema.columns
    assert (columns["values_respelled"] > 0).all()  # every column had odd spellings
    assert columns.loc["Performance", "raw_missing"] == 6

    findings = json.loads((eda / "findings.json").read_text())["findings"]
    texts = " ".join(f["text"] for f in findings)
    assert texts.startswith("#1 Caste (nominal): Cramér's V 0.47")
    assert "The Performance classes are imbalanced." in texts
    assert "time has 3 rare values" in texts


def test_messy_file_mlflow_run(messy_run, dataset_schema):
    _, run = messy_run
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    assert metrics["eda.cramers_v.Caste"] == pytest.approx(0.4655, abs=1e-3)
    assert metrics["eda.mutual_info.Caste"] == pytest.approx(0.3512, abs=1e-3)
    assert "eda.spearman.Class_X_Percentage" in metrics  # "Class_ X_Percentage"
    cramers = {m for m in metrics if m.startswith("eda.cramers_v.")}
    assert len(cramers) == len(dataset_schema.features)
    client = mlflow.MlflowClient()
    logged = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "eda")}
    assert logged == {*EDA_FILES, "eda_report.html"}


def test_new_dataset_with_a_numeric_feature(project_copy):
    """The invented dataset of tests/fixtures/conf_numeric: conf alone, no code."""
    fixture = PROJECT_ROOT / "tests/fixtures/conf_numeric"
    shutil.copytree(
        fixture, project_copy / "conf/numeric", ignore=shutil.ignore_patterns("*.csv")
    )
    shutil.copy(fixture / "tiny_numeric.csv", project_copy / "data/01_raw")
    run_kedro(project_copy, ["data_processing", "eda_reporting"], env="numeric")

    eda = project_copy / REPORTING / "eda"
    ranking = pd.read_csv(eda / "association_ranking.csv").set_index("feature")
    assert set(ranking.index) == {"hours_studied", "club", "level"}
    assert ranking.loc["hours_studied", "kind"] == "numeric"
    assert ranking["spearman"].isna().all()  # the target is nominal here
    by_target = pd.read_csv(eda / "feature_by_target.csv")
    assert by_target.query("feature == 'hours_studied'")["value"].nunique() > 1
    html = (project_copy / REPORTING / "eda_report.html").read_text(encoding="utf-8")
    assert '"type":"box"' in html  # the numeric feature: distributions per class


@pytest.mark.browser
def test_report_renders_offline_in_chromium(messy_run, offline_page, dataset_schema):
    project, _ = messy_run
    page = offline_page
    page.goto((project / REPORTING / "eda_report.html").as_uri())
    expected = len(dataset_schema.features) + 3  # target, features, ranking, heat map
    page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {expected}"
    )
    plots = page.locator(".js-plotly-plot")
    assert plots.count() == expected
    for i in range(expected):
        plot = plots.nth(i)
        assert plot.locator(".main-svg").count() >= 1
        assert plot.bounding_box()["height"] > 150
    # drawn, not just laid out: the bars, the stacked shares, the heat map image
    n_classes = len(dataset_schema.target.classes)
    assert page.locator("#fig-target .barlayer .point").count() == n_classes
    first = dataset_schema.feature("Caste")  # ranked first on this file
    assert page.locator("#fig-1 .barlayer .trace").count() == n_classes
    assert page.locator("#fig-1 .barlayer .point").count() == n_classes * (
        len(first.values) + 1
    )
    assert page.locator("#fig-heat .heatmaplayer image").count() == 1
    assert page.locator("#findings li").count() >= 5
    assert page.locator("#overview table").count() == 3
    assert page.console_errors == []
    assert page.blocked == []

    page.screenshot(path="/tmp/eda_report_full.png", full_page=True)
    for section in ("findings", "overview", "target", "features", "association"):
        page.locator(f"#{section}").screenshot(path=f"/tmp/eda_{section}.png")
