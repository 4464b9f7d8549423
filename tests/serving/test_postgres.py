"""The prediction log in a real PostgreSQL server (Debian's, started by the fixture),
written by the service and read back by drift monitoring's SQL dataset."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog
from sqlalchemy import create_engine, text

from student_performance import settings as project_settings
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.server


def test_prediction_log_in_postgresql_feeds_the_served_drift_batch(
    make_client, postgres_url, raw_records, monkeypatch
):
    client = make_client(url=postgres_url)
    singles = [client.post("/predict", json=r).json() for r in raw_records[:10]]
    batch = client.post("/predict/batch", json={"records": raw_records[10:40]}).json()
    client.__exit__(None, None, None)  # shutdown writes the log

    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                'SELECT request_id, inputs_raw, "Class_ X_Percentage", probabilities,'
                " logged_at FROM prediction_log ORDER BY id"
            )
        ).all()
    engine.dispose()
    assert [r.request_id for r in rows] == [s["request_id"] for s in singles] + [
        p["request_id"] for p in batch["predictions"]
    ]
    assert rows[0].inputs_raw == raw_records[0]  # a JSON column: a dict back
    assert (
        rows[0]._mapping["Class_ X_Percentage"] == raw_records[0]["Class_ X_Percentage"]
    )
    assert rows[0].probabilities == singles[0]["probabilities"]
    assert rows[0].logged_at.tzinfo is not None

    monkeypatch.setenv("PREDICTION_LOG_URL", postgres_url)
    conf = OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"),
        env="served",
        **project_settings.CONFIG_LOADER_ARGS,
    )
    served = DataCatalog.from_config(conf["catalog"]).load("raw_drift_batch")

    assert len(served) == 40
    assert list(served.columns) == list(raw_records[0])
    assert served.iloc[12].to_dict() == raw_records[12]
