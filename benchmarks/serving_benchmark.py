"""How fast is the service? Prints latencies, throughput and ratios to in-process floors.

The service as ``make serve`` runs it (uvicorn, one process) on a free 127.0.0.1 port,
serving the registry's champion of the project's store (or ``--tracking-uri`` /
``--model-name``), its prediction log in a temporary SQLite file: single ``POST
/predict`` and ``POST /predict/batch`` (1,000 records) sequentially on one keep-alive
connection, rows of the messy raw file in turn; throughput with ``--clients`` threads
for ``--seconds``. Floors: a ``404`` on the same connection (the service's own HTTP
cost: ``/predict`` p50 within 1.5x of it), the MLflow model's ``predict`` and the bare
fitted model (``predict_proba`` + ``predict_index`` on cleaned features) in this
process on the same input.

The registered model's own ``predict`` on ``--pyfunc-rows`` rows against the core
inference (``prepare_features``, ``predict_frame``) on the same rows, in this process:
at least 0.8x the core's speed, and no INFO line per call.

    .venv/bin/python benchmarks/serving_benchmark.py [--requests 2000] [--clients 8]
    .venv/bin/python benchmarks/serving_benchmark.py --smoke   # seconds: a test's run
These machines are shared and noisy: run it twice and read the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
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
    "predict_over_404_p50": 1.5,
    "explain_extra_p50_ms": 3.0,
    "pyfunc_info_lines_per_call": 0.0,
}
MIN_TARGETS = {"pyfunc_speed_over_core": 0.8}  # at least this
SMOKE = {  # --smoke: a few seconds, every figure still measured
    "requests": 100,
    "batch_runs": 3,
    "clients": 2,
    "seconds": 1.0,
    "floor_runs": 10,
    "pyfunc_rows": 5_000,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    """``POST`` each body in turn on one keep-alive connection, after a warm-up."""
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=url, timeout=60) as client:
        for body in bodies[: min(runs, 200)]:  # warm-up: connection, first spellings
            client.post(path, content=body, headers=headers)

        def call(i: int) -> None:
            response = client.post(
                path, content=bodies[i % len(bodies)], headers=headers
            )
            if response.status_code != 200:  # noqa: PLR2004
                raise SystemExit(response.text)

        return _timed(call, runs)


def _not_found(url: str, runs: int) -> np.ndarray:
    """``GET`` of a path the service does not have (404), on one keep-alive
    connection: the service's own HTTP floor."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(min(runs, 200)):
            client.get("/no-such-path")
        return _timed(lambda _: client.get("/no-such-path"), runs)


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
    model: object, records: list[dict], batch: list[dict], runs: int
) -> dict[str, float]:
    """Median ms of the pyfunc predict and of the bare model, one row and the batch."""
    from student_performance.core.inference import prepare_features  # noqa: PLC0415
    from student_performance.model_parts import model_parts  # noqa: PLC0415

    fitted, schema, _ = model_parts(model)
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


def _pyfunc_vs_core(model: object, rows: int, runs: int = 3) -> dict[str, float]:
    """The registered model's ``predict`` and the core inference on the same rows:
    best of ``runs`` seconds each, and the INFO lines one ``predict`` call logs."""
    from student_performance.core.inference import (  # noqa: PLC0415
        predict_frame,
        prepare_features,
    )
    from student_performance.model_parts import model_parts  # noqa: PLC0415

    fitted, schema, sets = model_parts(model)
    raw = pd.read_csv(RAW, dtype="string", keep_default_na=False)
    raw = raw[list(model.metadata.get_input_schema().input_names())]
    many = pd.concat([raw] * (rows // len(raw) + 1), ignore_index=True).iloc[:rows]
    model.predict(many.iloc[:10])  # warm-up: first call's imports
    lines, counter, root = [], logging.Handler(logging.INFO), logging.getLogger()
    counter.emit, previous = lines.append, root.level  # counts INFO and louder
    root.setLevel(logging.INFO)
    root.addHandler(counter)
    try:
        pyfunc = min(_timed(lambda _: model.predict(many), 1)[0] for _ in range(runs))
    finally:
        root.removeHandler(counter)
        root.setLevel(previous)
    core = min(
        _timed(
            lambda _: predict_frame(fitted, prepare_features(many, schema), sets), 1
        )[0]
        for _ in range(runs)
    )
    return {
        "rows": float(rows),
        "pyfunc_s": pyfunc / 1000,
        "core_s": core / 1000,
        "pyfunc_rows_per_s": rows / pyfunc * 1000,
        "core_rows_per_s": rows / core * 1000,
        "pyfunc_speed_over_core": core / pyfunc,
        "pyfunc_info_lines_per_call": len(lines) / runs,
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch-runs", type=int, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--floor-runs", type=int, default=100)
    parser.add_argument("--pyfunc-rows", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="seconds, not minutes")
    parser.add_argument("--env", default=None)
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--model-name", default=None)
    args = parser.parse_args()
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    return args


def _measure(args: argparse.Namespace) -> dict[str, object]:
    """Start the service, take every measurement, stop it."""
    raw = pd.read_csv(RAW, dtype="string", keep_default_na=False)
    records = raw.drop(columns=["Performance", "mixed_type_col"]).to_dict("records")
    bodies = [json.dumps(r).encode() for r in records]
    batch = (records * 2)[:1000]
    batch_body = json.dumps({"records": batch}).encode()
    with tempfile.TemporaryDirectory(prefix="serving-benchmark-") as tmp:
        process, url = _start(args, Path(tmp))
        try:
            measured = {
                "not_found": _not_found(url, args.requests),
                "single": _single(url, bodies, args.requests),
                "explained": _single(
                    url, bodies, args.requests, "/predict?explain=true"
                ),
                "batched": _single(
                    url, [batch_body], args.batch_runs, "/predict/batch"
                ),
                "load": _throughput(url, bodies, args.clients, args.seconds),
                "info": httpx.get(f"{url}/model/info").json(),
            }
        finally:
            _stop(process)
    import mlflow  # noqa: PLC0415 - slow to import: only once the service is up

    model = mlflow.pyfunc.load_model(measured["info"]["model_uri"])
    measured["floors"] = _floors(model, records, batch, args.floor_runs)
    measured["pyfunc"] = _pyfunc_vs_core(model, args.pyfunc_rows)
    return measured


_TIMED = ("single", "batched", "not_found", "explained")


def _figures(measured: dict) -> dict[str, float]:
    single, batched = measured["single"], measured["batched"]
    p50 = {key: float(np.percentile(measured[key], 50)) for key in _TIMED}
    return measured["pyfunc"] | {
        "single_p50_ms": p50["single"],
        "single_p95_ms": float(np.percentile(single, 95)),
        "single_p99_ms": float(np.percentile(single, 99)),
        "single_mean_ms": float(single.mean()),
        "batch_1000_ms": p50["batched"],
        "batch_1000_p95_ms": float(np.percentile(batched, 95)),
        "not_found_p50_ms": p50["not_found"],
        "explain_p50_ms": p50["explained"],
        "predict_over_404_p50": p50["single"] / p50["not_found"],
        "explain_extra_p50_ms": p50["explained"] - p50["single"],
    }


def _report(args: argparse.Namespace, measured: dict, f: dict) -> None:
    """Print the service's figures, the floors and the ratios."""
    load, floors = measured["load"], measured["floors"]
    lines = [
        f"Service (uvicorn, 127.0.0.1), model version {measured['info']['version']}",
        f"  single /predict, {args.requests} sequential: p50 {f['single_p50_ms']:.2f}"
        f" ms, p95 {f['single_p95_ms']:.2f} ms, p99 {f['single_p99_ms']:.2f} ms, "
        f"mean {f['single_mean_ms']:.2f} ms",
        f"  GET of an unknown path (404), {args.requests} sequential: p50 "
        f"{f['not_found_p50_ms']:.2f} ms; /predict?explain=true p50 "
        f"{f['explain_p50_ms']:.2f} ms (+{f['explain_extra_p50_ms']:.2f} ms)",
        f"  /predict/batch 1000 records, {args.batch_runs} sequential: p50 "
        f"{f['batch_1000_ms']:.1f} ms, p95 {f['batch_1000_p95_ms']:.1f} ms",
        f"  {args.clients} concurrent clients, {args.seconds:.0f} s: "
        f"{load['per_second']:.0f} requests/s ({load['requests']:.0f} requests, "
        f"{load['failures']:.0f} failed), p50 {load['p50_ms']:.2f} ms, "
        f"p99 {load['p99_ms']:.2f} ms",
        "In-process floors (median):",
        *(f"  {key}: {value:.2f} ms" for key, value in floors.items()),
        "Ratios (service / floor):",
        "  single p50 / 404 p50 (same service, same connection): "
        f"{f['predict_over_404_p50']:.2f}",
        f"  single p50 / pyfunc: {f['single_p50_ms'] / floors['pyfunc_single_ms']:.3f}"
        f"; / bare model: {f['single_p50_ms'] / floors['bare_single_ms']:.2f}",
        f"  batch / pyfunc: {f['batch_1000_ms'] / floors['pyfunc_batch_ms']:.2f}; "
        f"/ bare model: {f['batch_1000_ms'] / floors['bare_batch_ms']:.2f}",
        f"Registered model's predict on {f['rows']:.0f} rows: "
        f"{f['pyfunc_rows_per_s']:.0f} rows/s ({f['pyfunc_s']:.2f} s); core inference "
        f"{f['core_rows_per_s']:.0f} rows/s ({f['core_s']:.2f} s); speed ratio "
        f"{f['pyfunc_speed_over_core']:.2f}; INFO lines per call "
        f"{f['pyfunc_info_lines_per_call']:.0f}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


def _report_targets(figures: dict) -> bool:
    out, met = sys.stdout, True
    out.write("Targets:\n")
    for key, limit in TARGETS.items():
        ok = figures[key] <= limit
        met = met and ok
        out.write(
            f"  {key} {figures[key]:.2f} <= {limit}: {'ok' if ok else 'MISSED'}\n"
        )
    for key, floor in MIN_TARGETS.items():
        ok = figures[key] >= floor
        met = met and ok
        out.write(
            f"  {key} {figures[key]:.2f} >= {floor}: {'ok' if ok else 'MISSED'}\n"
        )
    return met


def main() -> None:
    """Start the service, measure, print, stop."""
    args = _arguments()
    measured = _measure(args)
    figures = _figures(measured)
    _report(args, measured, figures)
    _report_targets(figures)


if __name__ == "__main__":
    main()
