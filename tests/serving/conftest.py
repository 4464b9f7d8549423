"""Fixtures of the serving tests: a tiny fitted model for the in-process apps
(TestClient), the trained champion under a name of its own for the real uvicorn process
and the check against the MLflow model's own predict, a real PostgreSQL server.

Every prediction log goes to ``tmp_path`` (SQLite) or to the PostgreSQL server started
here in a temporary folder; MLflow points into the session's temporary store.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from student_performance.core.conformal import fit_prediction_sets
from student_performance.core.selection import fit_configuration
from student_performance.serving.app import create_app
from student_performance.serving.bundle import ModelBundle, load_bundle
from student_performance.serving.config import ServingParams, load_settings
from student_performance.serving.prediction_log import PredictionLog
from student_performance.serving.predictor import Predictor
from student_performance.serving.records import build_record_schema
from student_performance.serving.spool import Spool
from tests.conftest import PROJECT_ROOT, SHIPPED_RAW, registered_model_name

ADMIN_KEY = "test-admin-key-0123456789"
_SERVER_START_TIMEOUT_S = 90


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis' cache (local constants, Unicode tables) in a temporary folder.

    Hypothesis writes it while test modules are collected, before any fixture runs,
    into ``./.hypothesis`` by default; the serving tests use Hypothesis with
    ``database=None``, so nothing of value is lost when the folder goes.
    """
    from hypothesis import configuration  # noqa: PLC0415

    previous = getattr(configuration, "__hypothesis_home_directory", None)
    home = Path(tempfile.mkdtemp(prefix="hypothesis-"))
    configuration.set_hypothesis_home_dir(home)

    def restore() -> None:
        configuration.set_hypothesis_home_dir(previous)
        shutil.rmtree(home, ignore_errors=True)

    config.add_cleanup(restore)


def post_predictions(  # noqa: PLR0913, PLR0917 - a thread's target
    url: str,
    index: int,
    clients: int,
    records: list[dict],
    stop: Any,
    answered: Callable[[httpx.Response], None],
    failed: Callable[[Exception], None],
    errors: tuple[type[Exception], ...] = (httpx.HTTPError,),
) -> None:
    """One load-test client: post records until ``stop`` is set; every tenth request
    is a batch of five. ``answered`` sees each response, ``failed`` each error."""
    with httpx.Client(base_url=url, timeout=30) as client:
        k = index
        while not stop.is_set():
            k += clients
            try:
                if k % 10 == 0:
                    batch = records[k % 600 : k % 600 + 5]
                    response = client.post("/predict/batch", json={"records": batch})
                else:
                    response = client.post("/predict", json=records[k % len(records)])
                answered(response)
            except errors as err:
                failed(err)


def free_port() -> int:
    """A TCP port nobody listens on now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def serving_model_name(trained_project: Path) -> str:
    """The trained champion registered again under a name only these tests use.

    Reloading tests move this name's ``champion`` alias; other tests sharing the
    session's store and ``trained_project`` never see it.
    """
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias(
        registered_model_name(trained_project), "champion"
    )
    name = f"serving-{uuid.uuid4().hex[:8]}"
    version = mlflow.register_model(champion.source, name)
    client.set_registered_model_alias(name, "champion", version.version)
    return name


def register_new_champion(name: str) -> str:
    """Register the champion's model again as a new version and make it champion."""
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias(name, "champion")
    version = mlflow.register_model(champion.source, name)
    client.set_registered_model_alias(name, "champion", version.version)
    return str(version.version)


TINY_MODEL_NAME = "student_performance-tiny"


@pytest.fixture(scope="session")
def serving_settings() -> ServingParams:
    """The project's serving settings (conf/test), serving the tiny model's name."""
    return load_settings(PROJECT_ROOT, "test", model_name=TINY_MODEL_NAME)


@pytest.fixture(scope="session")
def champion_bundle(primary_table, dataset_schema) -> ModelBundle:
    """A bundle as ``load_bundle`` builds it, around a tiny model fitted here in well
    under a second (logistic regression on the real schema, one-hot) with its
    prediction sets' calibration (90 %): the in-process tests need a model with the
    champion's interface, not a training run."""
    configuration = {
        "estimator": "logistic_regression",
        "ordinal_as": "onehot",
        "params": {"C": 1.0},
        "decision": {"rule": "argmax", "cost": "absolute"},
    }
    model = fit_configuration(primary_table, configuration, dataset_schema, seed=0)
    sets = fit_prediction_sets(
        primary_table,
        dataset_schema,
        configuration,
        {"level": 0.9, "inner_splits": 3},
        seed=0,
    )
    predictor = Predictor(
        model, dataset_schema.model_dump(mode="json"), set_calibration=sets
    )
    return ModelBundle(
        name=TINY_MODEL_NAME,
        version="1",
        alias="champion",
        run_id="tiny-run",
        model_uri=f"models:/{TINY_MODEL_NAME}/1",
        predictor=predictor,
        records=build_record_schema(predictor.dataset),
        run={
            "metrics": {"selected.cv_accuracy": 0.5},
            "start_time": "2026-01-01T00:00:00+00:00",
            "end_time": "2026-01-01T00:01:00+00:00",
        },
        loaded_at="2026-01-01T00:02:00+00:00",
        load_seconds=0.0,
        pyfunc=None,
    )


@pytest.fixture(scope="session")
def registered_bundle(trained_project: Path, serving_model_name: str) -> ModelBundle:
    """The champion of a real training run, loaded from the registry (slow tests)."""
    settings = load_settings(trained_project, "test", model_name=serving_model_name)
    return load_bundle(settings.tracking_uri, settings.model_name, settings.alias)


@pytest.fixture(scope="session")
def raw_records() -> list[dict[str, str]]:
    """The messy file's feature columns, row by row, as text (the real input)."""
    raw = pd.read_csv(SHIPPED_RAW, dtype="string", keep_default_na=False)
    return raw.drop(columns=["Performance", "mixed_type_col"]).to_dict(orient="records")


@pytest.fixture
def log_url(tmp_path: Path) -> str:
    """A prediction-log database in tmp_path."""
    return f"sqlite:///{tmp_path / 'prediction_log.sqlite'}"


@pytest.fixture
def make_client(
    serving_settings: ServingParams,
    champion_bundle: ModelBundle,
    log_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., TestClient]]:
    """Start apps in-process; each logs to ``log_url`` unless told otherwise, with a
    spool of its own in ``tmp_path``.

    ``make_client(loader=..., url=..., **settings)`` returns an entered TestClient
    (lifespan started); all are closed (prediction log flushed) at teardown.
    """
    monkeypatch.setenv("SERVING_ADMIN_API_KEY", ADMIN_KEY)
    clients: list[TestClient] = []

    def make(
        loader: Callable[[], ModelBundle] | None = None,
        url: str | None = None,
        **overrides,
    ) -> TestClient:
        settings = ServingParams.model_validate(
            serving_settings.model_dump() | overrides
        )
        log = PredictionLog(
            url or log_url,
            settings.prediction_log.table,
            champion_bundle.records.feature_names,
            flush_interval_s=0.05,
            spool=Spool(tmp_path / f"spool-{len(clients)}.sqlite", 100_000),
        )
        app = create_app(
            settings, loader=loader or (lambda: champion_bundle), prediction_log=log
        )
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


# --- a real uvicorn process --------------------------------------------------------
@dataclass
class Server:
    """A service process: its URL, database and process."""

    url: str
    log_url: str
    process: subprocess.Popen
    output: Path
    spool: Path

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM the process group (graceful: the log is flushed), then wait."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode


def start_server(
    project: Path, model_name: str, workdir: Path, extra_env: dict | None = None
) -> Server:
    """Start ``python -m student_performance.serving`` in its own process group.

    Its prediction log is an SQLite file in ``workdir`` unless ``extra_env`` names
    another ``PREDICTION_LOG_URL``; its spool is ``workdir/spool.sqlite``.
    """
    port = free_port()
    log_url = (extra_env or {}).get(
        "PREDICTION_LOG_URL", f"sqlite:///{workdir / 'served_log.sqlite'}"
    )
    spool = workdir / "spool.sqlite"
    output = workdir / "server.out"
    env = os.environ | {
        "PREDICTION_LOG_URL": log_url,
        "PREDICTION_LOG_SPOOL": str(spool),
        "SERVING_ADMIN_API_KEY": ADMIN_KEY,
        "KEDRO_DISABLE_TELEMETRY": "1",
        **(extra_env or {}),
    }
    with output.open("ab") as sink:  # a restart in the same workdir appends
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "student_performance.serving",
                "--project",
                str(project),
                "--env",
                "test",
                "--port",
                str(port),
                "--model-name",
                model_name,
            ],
            cwd=workdir,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", log_url, process, output, spool)
    deadline = time.monotonic() + _SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {output.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:  # noqa: PLR2004
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server not healthy in time: {output.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def uvicorn_server(
    trained_project: Path,
    serving_model_name: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """The service in a real uvicorn process on a free loopback port."""
    server = start_server(
        trained_project, serving_model_name, tmp_path_factory.mktemp("uvicorn")
    )
    yield server
    server.stop()


# --- a real PostgreSQL server ------------------------------------------------------
def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    """Root may not run the server: run the command as the ``postgres`` user."""
    return (
        ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command
    )


@dataclass
class PostgresServer:
    """A throw-away PostgreSQL server (Debian's binaries) that tests can stop and start."""

    bin_dir: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            _as_postgres([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args]),
            check=check,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections (``pg_ctl -w``)."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off"
        )
        self._pg_ctl("-l", str(self.root / "log"), "-o", options, "-w", "start")

    def stop(self, check: bool = True) -> None:
        """Stop the server (``fast``: clients are disconnected), waiting until down."""
        self._pg_ctl("-m", "fast", "-w", "stop", check=check)


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL server on 127.0.0.1 (data in a temporary folder).

    Skips when the Debian server binaries are missing, except under CI=true where
    they must be there (scripts/install_system_deps.sh installs them).
    """
    bin_dir = _postgres_bin()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is required under CI: run install_system_deps.sh")
        pytest.skip("Debian package postgresql is not installed")
    # Not under pytest's tmp folder: it is private to root and the server runs as
    # the postgres user.
    root = Path(tempfile.mkdtemp(prefix="serving-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    server = PostgresServer(bin_dir, root, free_port())
    try:
        subprocess.run(
            _as_postgres(
                [str(bin_dir / "initdb"), "-D", str(server.data), "-U", "postgres"]
                + ["--auth=trust", "--encoding=UTF8", "--no-sync"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.stop(check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of the module's PostgreSQL server."""
    return postgres_server.url
