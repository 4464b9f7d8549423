"""Served traffic feeds drift monitoring: the prediction log is the current batch of
``kedro run --pipelines drift_monitoring --env served``."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import run_kedro

N_SINGLE, N_BATCH = 45, 20
MISSING_COACHING = 12  # rows sent with coaching: null


@pytest.mark.slow
def test_drift_monitoring_reads_the_served_rows(
    make_client, log_url, raw_records, trained_project, tmp_path, monkeypatch
):
    client = make_client()
    sent = [dict(r) for r in raw_records[: N_SINGLE + N_BATCH]]
    for record in sent[:MISSING_COACHING]:
        record["coaching"] = None
    for record in sent[:N_SINGLE]:
        assert client.post("/predict", json=record).status_code == 200
    batch = client.post("/predict/batch", json={"records": sent[N_SINGLE:]})
    assert batch.status_code == 200
    client.post("/predict", json={**sent[0], "Caste": "xyz"})  # rejected: not logged
    client.__exit__(None, None, None)  # shutdown writes the log
    project = tmp_path / "project"
    shutil.copytree(trained_project, project)
    monkeypatch.setenv("PREDICTION_LOG_URL", log_url)

    run_kedro(project, ["drift_monitoring"], env="served")

    report = json.loads((project / "data/08_reporting/drift_report.json").read_text())
    assert report["batch"].startswith("served traffic: prediction_log")
    assert report["rows"] == N_SINGLE + N_BATCH
    assert report["status"] in {"ok", "warning", "drift"}
    columns = {c["column"]: c for c in report["columns"]}
    assert set(columns) == set(sent[0])
    missing = MISSING_COACHING + _missing(sent[MISSING_COACHING:], "coaching")
    assert columns["coaching"]["missing"]["current"] == pytest.approx(
        missing / len(sent), abs=1e-6
    )


def _missing(records: list[dict], field: str) -> int:
    """Records whose value is a missing token of the schema (e.g. ' NAN ', '')."""
    tokens = {"", "nan", "none", "null", "na", "n/a", "?", "-"}
    return sum(
        r[field] is None or r[field].strip().casefold() in tokens for r in records
    )
