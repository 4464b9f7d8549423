"""Shared fixtures. Every test runs with MLflow pointed into a temporary folder, so the
suite never writes to the project's own tracking store, and with Kedro's telemetry off.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import types
import uuid
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from student_performance.core.cleaning import normalise_frame
from student_performance.datasets import RawCSVDataset
from student_performance.pipelines.data_processing.nodes import (
    QualityParams,
    check_raw_structure,
    normalise_values,
    quarantine_rows,
)
from student_performance.schema import DatasetSchema

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def load_study(name: str) -> types.ModuleType:
    """``studies/<name>.py`` as a module (it may import the studies beside it)."""
    script = PROJECT_ROOT / "studies" / f"{name}.py"
    sys.path.insert(0, str(script.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(script.parent))
    return module


SHIPPED_RAW = PROJECT_ROOT / "data/01_raw/student_entry_performance_modified.csv"


@pytest.fixture(scope="session", autouse=True)
def _isolated_tracking(tmp_path_factory: pytest.TempPathFactory):
    """Point MLflow (tracking, registry, artifacts) into a temporary folder."""
    store = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
        mp.setenv("MLFLOW_ARTIFACT_ROOT", str(store / "mlartifacts"))
        mp.setenv("KEDRO_DISABLE_TELEMETRY", "1")
        yield store


@pytest.fixture(scope="session")
def messy_file() -> Path:
    """The real messy file, as shipped in data/01_raw."""
    return SHIPPED_RAW


@pytest.fixture(scope="session")
def base_parameters() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "conf/base/parameters.yml").read_text())


@pytest.fixture(scope="session")
def dataset_schema(base_parameters: dict) -> DatasetSchema:
    """The project's schema, as Kedro builds it from conf/base/parameters.yml."""
    return DatasetSchema.model_validate(base_parameters["dataset"])


@pytest.fixture(scope="session")
def tiny_schema() -> DatasetSchema:
    """An invented schema with a nominal, an ordinal and a numeric feature."""
    return DatasetSchema.model_validate(
        {
            "name": "tiny",
            "target": {"name": "grade", "classes": ["low", "mid", "high"]},
            "features": [
                {"name": "sport", "kind": "nominal", "values": ["yes", "no"]},
                {"name": "level", "kind": "ordinal", "values": ["A1", "A2", "B1"]},
                {"name": "hours", "kind": "numeric", "min": 0, "max": 24},
            ],
            "drop_columns": ["junk"],
        }
    )


@pytest.fixture
def tiny_raw() -> pd.DataFrame:
    """Raw text as the reader gives it: spaces, odd case, missing tokens, junk."""
    return pd.DataFrame(
        {
            "grade": [" LOW ", "mid", "", "High", "mid", "bad"],
            "sport": ["yes", " NO ", "yes", "maybe", " NO ", "yes"],
            "level": ["a1", "B1", " nan ", "A2", "B1", "A1"],
            "hours": ["3", " 4.5 ", "x", "30", "4.5", ""],
            "junk": ["1", "bad", "", "2", "?", "3"],
        },
        dtype="string",
    )


@pytest.fixture(scope="session")
def primary_table(messy_file, dataset_schema) -> pd.DataFrame:
    """The messy file cleaned as data_processing cleans it: 628 typed rows."""
    raw, source = RawCSVDataset(filepath=str(messy_file)).read()
    loose = QualityParams(max_missing_share=1.0, max_invalid_share=1.0)
    checked = check_raw_structure(raw, source, dataset_schema, loose)
    typed = normalise_values(checked, dataset_schema, loose)
    kept, _ = quarantine_rows(checked, typed, raw, source, dataset_schema)
    return kept


@pytest.fixture(scope="session")
def fitted_model(primary_table, dataset_schema):
    """A small real classifier with the champion's interface (predict on features),
    fitted on ``primary_table`` in well under a second."""
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import OrdinalEncoder  # noqa: PLC0415

    model = make_pipeline(
        OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            encoded_missing_value=-1,
        ),
        LogisticRegression(max_iter=1000),
    )
    features = primary_table[dataset_schema.feature_names]
    return model.fit(features, primary_table[dataset_schema.target.name].astype(str))


def tiny_typed(tiny_schema, n_rows: int, seed: int, hours_shift: float = 0.0):
    """``n_rows`` typed rows of ``tiny_schema`` (nominal, ordinal, numeric)."""
    rng = np.random.default_rng(seed)

    def _cat(values: tuple[str, ...], p: list[float], ordered: bool) -> pd.Categorical:
        return pd.Categorical(
            rng.choice(values, size=n_rows, p=p), categories=values, ordered=ordered
        )

    return pd.DataFrame(
        {
            "grade": _cat(tiny_schema.target.classes, [0.3, 0.4, 0.3], True),
            "sport": _cat(("yes", "no"), [0.5, 0.5], False),
            "level": _cat(("A1", "A2", "B1"), [0.3, 0.4, 0.3], True),
            "hours": pd.array(
                np.clip(rng.normal(8 + hours_shift, 2, n_rows), 0, 24).round(1),
                dtype="Float64",
            ),
        }
    )


def as_raw(typed: pd.DataFrame) -> pd.DataFrame:
    """Typed rows back to raw text, as a file would hold them."""
    return typed.astype("string").fillna("")


@pytest.fixture(scope="session")
def tiny_primary(tiny_schema) -> pd.DataFrame:
    """120 rows of tiny_schema: grade rises with hours and level, plus noise."""
    rng = np.random.default_rng(0)
    n = 120
    hours = rng.uniform(0, 24, n)
    level = rng.integers(0, 3, n)
    score = hours / 8 + level + rng.normal(0, 0.7, n)
    grade = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
    raw = pd.DataFrame(
        {
            "grade": np.array(["low", "mid", "high"])[grade],
            "sport": rng.choice(["yes", "no"], n),
            "level": np.array(["A1", "A2", "B1"])[level],
            "hours": hours.round(1).astype(str),
        },
        dtype="string",
    )
    raw.loc[::17, "sport"] = ""  # some missing values to impute
    typed = normalise_frame(raw, tiny_schema)
    typed.index = pd.RangeIndex(2, n + 2, name="source_line")
    return typed


def make_project_copy(path: Path) -> Path:
    """Copy the project's conf, pyproject and shipped raw data into ``path``.

    The copy gets its own registered-model name, so registry state never leaks between
    tests sharing the session's temporary MLflow store.
    """
    path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        PROJECT_ROOT / "conf", path / "conf", ignore=shutil.ignore_patterns("local")
    )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", path / "pyproject.toml")
    (path / "conf/local").mkdir(exist_ok=True)
    (path / "src").mkdir(
        exist_ok=True
    )  # Kedro wants a source dir; the package is installed
    raw = path / "data/01_raw"
    raw.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIPPED_RAW, raw / SHIPPED_RAW.name)
    training = path / "conf/base/parameters_training.yml"
    name = f"test-{uuid.uuid4().hex[:8]}"
    training.write_text(
        training.read_text().replace(
            "model_name: student_performance", f"model_name: {name}"
        )
    )
    return path


def registered_model_name(project: Path) -> str:
    """The registered-model name a project copy uses."""
    params = yaml.safe_load((project / "conf/base/parameters_training.yml").read_text())
    return params["training"]["registry"]["model_name"]


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the project's conf and raw data in tmp_path, to run sessions in."""
    return make_project_copy(tmp_path)


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy after one ``kedro run --pipelines training --env test``.

    Its champion is ``models:/<registered_model_name(path)>@champion`` in the session's
    temporary MLflow store; ``data/`` holds every training output.
    """
    project = make_project_copy(tmp_path_factory.mktemp("trained"))
    run_kedro(project, ["training"], env="test")
    return project


def run_kedro(
    project_path: Path, pipelines: list[str], env: str | None = None, **kwargs
):
    """Run pipelines in a KedroSession, as ``kedro run --pipelines ... --env ...``."""
    bootstrap_project(project_path)
    try:
        with KedroSession.create(
            project_path=project_path, env=env, **kwargs
        ) as session:
            return session.run(pipeline_names=pipelines)
    finally:
        # kedro-mlflow re-enters the run before every node and ends it once: in a
        # long-lived process the next session would otherwise log into this run.
        while mlflow.active_run():
            mlflow.end_run()


def latest_mlflow_run(experiment: str = "student_performance") -> mlflow.entities.Run:
    """The newest run of the experiment in the (temporary) tracking store."""
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no MLflow experiment {experiment!r}"
    runs = client.search_runs(
        [exp.experiment_id], order_by=["attributes.start_time DESC"]
    )
    assert runs, "no MLflow run recorded"
    return runs[0]


# --- headless Chromium -------------------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download).

    Skips when Chromium is missing, except under CI=true, where it must run
    (``make test`` installs it: scripts/install_system_deps.sh).
    """
    import os  # noqa: PLC0415

    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "Chromium is required under CI: run scripts/install_system_deps.sh"
            )
        pytest.skip("Debian package chromium is not installed")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def offline_page(browser):
    """A page whose requests may reach only files and loopback (the network is off).

    ``page.blocked`` lists the requests that were refused, ``page.console_errors`` the
    console errors and uncaught page errors.
    """
    from urllib.parse import urlparse  # noqa: PLC0415

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.blocked, page.console_errors = [], []

    def _route(route):
        url = urlparse(route.request.url)
        if (
            url.scheme in {"file", "data", "blob", "about"}
            or url.hostname in _LOCAL_HOSTS
        ):
            return route.continue_()
        page.blocked.append(route.request.url)
        return route.abort()

    page.route("**/*", _route)
    page.on(
        "console", lambda m: m.type == "error" and page.console_errors.append(m.text)
    )
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()
