"""How fast is the service? Prints latencies, throughput and ratios to in-process floors.

Measured: the service as ``make serve`` runs it (``python -m student_performance.
serving``, uvicorn, one process) on a free 127.0.0.1 port, serving the registry's
champion of the project's own store (or ``--tracking-uri`` / ``--model-name``), with
its prediction log in a temporary SQLite file (the project's own log is untouched):

* single ``POST /predict``: sequential requests on one keep-alive connection
  (``httpx.Client``), rows of the messy raw file in turn;
* ``POST /predict/batch`` with 1,000 records, sequentially;
* throughput: ``--clients`` threads, each with its own keep-alive client, for
  ``--seconds``.

Floors, in this process, on the same input:

* the loaded MLflow model's ``predict`` (the bundled Kedro pipeline: what a service
  calling ``pyfunc.predict`` per request would cost), the floor the issue names;
* the bare fitted model: ``predict_proba`` + ``predict_index`` on features already
  cleaned (what ``predict_performance`` calls), without any HTTP or validation.

    .venv/bin/python benchmarks/serving_benchmark.py [--requests 2000] [--clients 8]

These machines are shared and noisy: run it twice and read the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data/01_raw/student_entry_performance_modified.csv"
TARGETS = {
    "single_p50_ms": 3.0,
    "single_p99_ms": 15.0,
    "batch_1000_ms": 100.0,
    "predict_over_health_p50": 1.5,
    "explain_extra_p50_ms": 3.0,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _records() -> list[dict[str, str]]:
    raw = pd.read_csv(RAW, dtype="string", keep_default_na=False)
    return raw.drop(columns=["Performance", "mixed_type_col"]).to_dict(orient="records")


def _start(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = os.environ | {
        "PREDICTION_LOG_URL": f"sqlite:///{workdir / 'prediction_log.sqlite'}",
        "PREDICTION_LOG_SPOOL": str(workdir / "prediction_log_spool.sqlite"),
        "KEDRO_DISABLE_TELEMETRY": "1",
    }
    if args.tracking_uri:
        env["MLFLOW_TRACKING_URI"] = args.tracking_uri
    command = [sys.executable, "-m", "student_performance.serving"]
    command += ["--project", str(ROOT), "--port", str(port), "--log-level", "warning"]
    if args.env:
        command += ["--env", args.env]
    if args.model_name:
        command += ["--model-name", args.model_name]
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=env,
        stdout=(workdir / "server.out").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((workdir / "server.out").read_text()[-2000:])
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:  # noqa: PLR2004
                return process, url
        time.sleep(0.2)
    raise SystemExit("the service did not become healthy in 120 s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _timed(call, runs: int) -> np.ndarray:
    times = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        call(i)
        times[i] = time.perf_counter() - start
    return times * 1000


def _single(
    url: str, bodies: list[bytes], runs: int, path: str = "/predict"
) -> np.ndarray:
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=url, timeout=30) as client:
        for body in bodies[:200]:  # warm-up: connection, caches of first spellings
            client.post(path, content=body, headers=headers)

        def call(i: int) -> None:
            response = client.post(
                path, content=bodies[i % len(bodies)], headers=headers
            )
            if response.status_code != 200:  # noqa: PLR2004
                raise SystemExit(response.text)

        return _timed(call, runs)


def _health(url: str, runs: int) -> np.ndarray:
    """``GET /health`` on one keep-alive connection: the service's own HTTP floor."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(200):
            client.get("/health")
        return _timed(lambda _: client.get("/health"), runs)


def _batch(url: str, body: bytes, runs: int) -> np.ndarray:
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=url, timeout=60) as client:
        client.post("/predict/batch", content=body, headers=headers)

        def call(_: int) -> None:
            response = client.post("/predict/batch", content=body, headers=headers)
            if response.status_code != 200:  # noqa: PLR2004
                raise SystemExit(response.text)

        return _timed(call, runs)


def _throughput(
    url: str, bodies: list[bytes], clients: int, seconds: float
) -> dict[str, float]:
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    headers = {"content-type": "application/json"}

    def loop(index: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            k = index
            while not stop.is_set():
                k += clients
                start = time.perf_counter()
                response = client.post(
                    "/predict", content=bodies[k % len(bodies)], headers=headers
                )
                latencies[index].append(time.perf_counter() - start)
                failures[index] += response.status_code != 200  # noqa: PLR2004

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    every = np.array([t for client in latencies for t in client]) * 1000
    return {
        "requests": float(every.size),
        "failures": float(sum(failures)),
        "per_second": every.size / elapsed,
        "p50_ms": float(np.percentile(every, 50)),
        "p99_ms": float(np.percentile(every, 99)),
    }


def _floors(
    url: str, records: list[dict], batch: list[dict], runs: int
) -> dict[str, float]:
    """Median ms of the pyfunc predict and of the bare model, one row and the batch."""
    import mlflow  # noqa: PLC0415

    from student_performance.core.inference import (  # noqa: PLC0415
        prepare_features,
    )

    info = httpx.get(f"{url}/model/info").json()
    model = mlflow.pyfunc.load_model(info["model_uri"])
    catalog = model.unwrap_python_model().loaded_catalog
    fitted, schema = (
        catalog.load("model_selected"),
        catalog.load("model_dataset_schema"),
    )
    one = [pd.DataFrame([r], dtype="string") for r in records[:runs]]
    many = pd.DataFrame(batch, dtype="string")
    features_one = [prepare_features(f, schema) for f in one]
    features_many = prepare_features(many, schema)

    def bare(features: pd.DataFrame) -> None:
        fitted.predict_proba(features)
        fitted.predict_index(features)

    model.predict(one[0])
    return {
        "pyfunc_single_ms": statistics.median(
            _timed(lambda i: model.predict(one[i]), runs)
        ),
        "pyfunc_batch_ms": statistics.median(_timed(lambda _: model.predict(many), 10)),
        "bare_single_ms": statistics.median(
            _timed(lambda i: bare(features_one[i]), runs)
        ),
        "bare_batch_ms": statistics.median(_timed(lambda _: bare(features_many), 10)),
    }


def main() -> None:
    """Start the service, measure, print, stop."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch-runs", type=int, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--floor-runs", type=int, default=100)
    parser.add_argument("--env", default=None)
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--model-name", default=None)
    args = parser.parse_args()
    records = _records()
    bodies = [json.dumps(r).encode() for r in records]
    batch = (records * 2)[:1000]
    batch_body = json.dumps({"records": batch}).encode()
    with tempfile.TemporaryDirectory(prefix="serving-benchmark-") as tmp:
        process, url = _start(args, Path(tmp))
        try:
            health = _health(url, args.requests)
            single = _single(url, bodies, args.requests)
            explained = _single(url, bodies, args.requests, "/predict?explain=true")
            batched = _batch(url, batch_body, args.batch_runs)
            load = _throughput(url, bodies, args.clients, args.seconds)
            floors = _floors(url, records, batch, args.floor_runs)
            version = httpx.get(f"{url}/health").json()["model_version"]
        finally:
            _stop(process)
    figures = {
        "single_p50_ms": float(np.percentile(single, 50)),
        "single_p95_ms": float(np.percentile(single, 95)),
        "single_p99_ms": float(np.percentile(single, 99)),
        "batch_1000_ms": float(np.percentile(batched, 50)),
        "health_p50_ms": float(np.percentile(health, 50)),
        "explain_p50_ms": float(np.percentile(explained, 50)),
    }
    figures["predict_over_health_p50"] = (
        figures["single_p50_ms"] / figures["health_p50_ms"]
    )
    figures["explain_extra_p50_ms"] = (
        figures["explain_p50_ms"] - figures["single_p50_ms"]
    )
    out = sys.stdout
    out.write(f"Service (uvicorn, 127.0.0.1), model version {version}\n")
    out.write(
        f"  single /predict, {args.requests} sequential: p50 {figures['single_p50_ms']:.2f}"
        f" ms, p95 {figures['single_p95_ms']:.2f} ms, p99 {figures['single_p99_ms']:.2f}"
        f" ms, mean {single.mean():.2f} ms\n"
    )
    out.write(
        f"  GET /health, {args.requests} sequential: p50 "
        f"{figures['health_p50_ms']:.2f} ms; /predict?explain=true p50 "
        f"{figures['explain_p50_ms']:.2f} ms (+{figures['explain_extra_p50_ms']:.2f}"
        " ms for the explanation)\n"
    )
    out.write(
        f"  /predict/batch 1000 records, {args.batch_runs} sequential: p50 "
        f"{figures['batch_1000_ms']:.1f} ms, p95 {np.percentile(batched, 95):.1f} ms\n"
    )
    out.write(
        f"  {args.clients} concurrent clients, {args.seconds:.0f} s: "
        f"{load['per_second']:.0f} requests/s ({load['requests']:.0f} requests, "
        f"{load['failures']:.0f} failed), p50 {load['p50_ms']:.2f} ms, "
        f"p99 {load['p99_ms']:.2f} ms\n"
    )
    out.write("In-process floors (median):\n")
    for key, value in floors.items():
        out.write(f"  {key}: {value:.2f} ms\n")
    out.write("Ratios (service / floor):\n")
    out.write(
        f"  single p50 / health p50 (same service, same connection): "
        f"{figures['predict_over_health_p50']:.2f}\n"
    )
    out.write(
        f"  single p50 / pyfunc predict: "
        f"{figures['single_p50_ms'] / floors['pyfunc_single_ms']:.3f}\n"
        f"  single p50 / bare model: "
        f"{figures['single_p50_ms'] / floors['bare_single_ms']:.2f}\n"
        f"  batch / pyfunc predict: "
        f"{figures['batch_1000_ms'] / floors['pyfunc_batch_ms']:.2f}\n"
        f"  batch / bare model: "
        f"{figures['batch_1000_ms'] / floors['bare_batch_ms']:.2f}\n"
    )
    out.write("Targets:\n")
    for key, limit in TARGETS.items():
        verdict = "ok" if figures[key] <= limit else "MISSED"
        out.write(f"  {key} {figures[key]:.2f} <= {limit}: {verdict}\n")


if __name__ == "__main__":
    main()
