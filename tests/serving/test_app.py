"""The service in-process (FastAPI TestClient): answers, bad inputs, metrics, reload,
the prediction log, and the fast path against the MLflow model's own ``predict``."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from student_performance.serving.bundle import ModelLoadError
from student_performance.serving.config import load_settings
from tests.serving.conftest import ADMIN_KEY

RECORD = {
    "Gender": " MALE ",
    "Caste": "obc",
    "coaching": "nan",
    "time": "two",
    "Class_ten_education": "SEBA",
    "twelve_education": None,
    "medium": "english",
    "Class_ X_Percentage": " vg",
    "Class_XII_Percentage": "Good",
    "Father_occupation": "DOCTOR",
    "Mother_occupation": "house_wife",
}
CLEANED = {
    "Gender": "male",
    "Caste": "OBC",
    "coaching": None,
    "time": "TWO",
    "Class_ten_education": "SEBA",
    "twelve_education": None,
    "medium": "ENGLISH",
    "Class_ X_Percentage": "Vg",
    "Class_XII_Percentage": "Good",
    "Father_occupation": "DOCTOR",
    "Mother_occupation": "HOUSE_WIFE",
}


def _reference(bundle, rows: list[dict]) -> pd.DataFrame:
    """The registered MLflow model's own predict (Kedro runner and all)."""
    frame = pd.DataFrame(
        [{k: "" if v is None else v for k, v in row.items()} for row in rows],
        dtype="string",
    )
    return bundle.pyfunc.predict(frame)


def _as_frame(answers: list[dict], classes: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prediction": [a["prediction"] for a in answers],
            **{f"proba_{c}": [a["probabilities"][c] for a in answers] for c in classes},
            "prediction_set": ["|".join(a["prediction_set"]) for a in answers],
        }
    )


def _read_log(url: str) -> pd.DataFrame:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return pd.read_sql(
                text("SELECT * FROM prediction_log ORDER BY id"), connection
            )
    finally:
        engine.dispose()


# --- answers -----------------------------------------------------------------------
def test_predict_answers_class_probabilities_model_and_request_id(
    make_client, champion_bundle
):
    client = make_client()

    response = client.post("/predict", json=RECORD)

    assert response.status_code == 200
    answer = response.json()
    classes = champion_bundle.predictor.classes
    assert answer["prediction"] in classes
    assert list(answer["probabilities"]) == classes
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0)
    assert answer["model_name"] == champion_bundle.name
    assert answer["model_version"] == champion_bundle.version
    assert response.headers["X-Model-Version"] == champion_bundle.version
    assert response.headers["X-Request-Id"] == answer["request_id"]
    assert len(answer["request_id"]) == 32
    # the set: classes in order, holding the predicted class, at the conf level
    assert answer["prediction"] in answer["prediction_set"]
    assert answer["prediction_set"] == [
        c for c in classes if c in answer["prediction_set"]
    ]
    assert answer["prediction_set_level"] == 0.9


def test_explain_gives_every_features_contribution_largest_first(
    make_client, champion_bundle
):
    client = make_client()
    plain = client.post("/predict", json=RECORD).json()
    explained = client.post("/predict?explain=true", json=RECORD).json()

    assert "explanation" not in plain
    assert explained["prediction"] == plain["prediction"]
    contributions = explained["explanation"]["contributions"]
    assert set(contributions) == set(champion_bundle.predictor.dataset.feature_names)
    sizes = [abs(v) for v in contributions.values()]
    assert sizes == sorted(sizes, reverse=True)
    assert explained["explanation"]["units"]


def test_batch_explain_gives_each_record_the_explanation_predict_gives(make_client):
    client = make_client()
    other = {"Gender": "female", "time": "THREE"}
    plain = client.post("/predict/batch", json={"records": [RECORD, other]}).json()
    batch = client.post(
        "/predict/batch?explain=true", json={"records": [RECORD, other]}
    ).json()

    assert all("explanation" not in r for r in plain["predictions"])
    for record, answer in zip([RECORD, other], batch["predictions"], strict=True):
        one = client.post("/predict?explain=true", json=record).json()
        assert answer["explanation"] == one["explanation"]
        assert answer["prediction"] == one["prediction"]
        assert list(answer["explanation"]["contributions"]) == list(
            one["explanation"]["contributions"]
        )


def test_messy_spellings_answer_as_their_canonical_values(make_client):
    client = make_client()

    messy = client.post("/predict", json=RECORD).json()
    clean = client.post("/predict", json=CLEANED).json()

    assert messy["prediction"] == clean["prediction"]
    assert messy["probabilities"] == clean["probabilities"]


def test_python_name_of_a_field_with_a_space_is_accepted(make_client):
    client = make_client()
    renamed = {
        ("Class_X_Percentage" if k == "Class_ X_Percentage" else k): v
        for k, v in RECORD.items()
    }

    assert (
        client.post("/predict", json=renamed).json()["probabilities"]
        == client.post("/predict", json=RECORD).json()["probabilities"]
    )


def test_a_given_request_id_is_kept(make_client):
    client = make_client()

    response = client.post("/predict", json=RECORD, headers={"X-Request-Id": "abc-1"})

    assert response.json()["request_id"] == "abc-1"


@pytest.mark.slow
def test_fast_path_gives_exactly_the_mlflow_models_predict(
    make_client, registered_bundle, raw_records
):
    """Every row of the messy file, in one batch and one by one: the same classes and
    the same probabilities to the last bit as the registered pyfunc's predict."""
    client = make_client(loader=lambda: registered_bundle)
    classes = registered_bundle.predictor.classes
    assert registered_bundle.predictor.fast_path

    batch = client.post("/predict/batch", json={"records": raw_records})
    singles = [client.post("/predict", json=r).json() for r in raw_records[:30]]

    assert batch.status_code == 200
    expected = _reference(registered_bundle, raw_records)
    pd.testing.assert_frame_equal(
        _as_frame(batch.json()["predictions"], classes), expected, check_exact=True
    )
    one_by_one = pd.concat(
        [_reference(registered_bundle, [r]) for r in raw_records[:30]],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(
        _as_frame(singles, classes), one_by_one, check_exact=True
    )


def test_batch_answers_every_record_in_order(make_client, raw_records):
    """Probabilities agree to rounding only: a matrix product over 25 rows and over one
    row may round differently in the last bit (the MLflow model's predict does too:
    exact equality with it, shape for shape, is tested above)."""
    client = make_client()
    records = raw_records[:25]

    batch = client.post("/predict/batch", json={"records": records}).json()
    singles = [client.post("/predict", json=r).json() for r in records]

    assert batch["count"] == 25
    assert [p["prediction"] for p in batch["predictions"]] == [
        s["prediction"] for s in singles
    ]
    for in_batch, single in zip(batch["predictions"], singles, strict=True):
        assert in_batch["probabilities"] == pytest.approx(
            single["probabilities"], rel=1e-12
        )
    assert [p["request_id"] for p in batch["predictions"]] == [
        f"{batch['request_id']}-{i}" for i in range(25)
    ]


def test_missing_values_are_imputed_not_rejected(make_client):
    client = make_client()

    all_missing = client.post("/predict", json=dict.fromkeys(RECORD))
    absent = client.post("/predict", json={})

    assert all_missing.status_code == 200
    assert absent.json()["probabilities"] == all_missing.json()["probabilities"]


# --- bad inputs --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field", "value", "allowed_contains"),
    [
        ({**RECORD, "Caste": "Brahmin"}, "Caste", "Brahmin", "OBC"),
        ({**RECORD, "time": "ten"}, "time", "ten", "SEVEN"),
        ({**RECORD, "Class_ X_Percentage": "top"}, "Class_ X_Percentage", "top", "Vg"),
        ({**RECORD, "Gender": 1}, "Gender", 1, "female"),
        ({**RECORD, "medium": True}, "medium", True, "ENGLISH"),
        ({**RECORD, "coaching": ["NO"]}, "coaching", "['NO']", "WA"),
        ({**RECORD, "gender": "male"}, "gender", "male", "Gender"),
    ],
    ids=[
        "unknown-nominal",
        "unknown-ordinal",
        "field-with-space",
        "number-for-text",
        "boolean",
        "list",
        "unknown-field",
    ],
)
def test_bad_values_are_422_naming_field_value_and_allowed_values(
    make_client, body, field, value, allowed_contains
):
    client = make_client()

    response = client.post("/predict", json=body)

    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["field"] == field
    assert error["value"] == value
    assert allowed_contains in error["allowed"]
    assert field in error["msg"] and str(value) in error["msg"]


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"{not json", "json_invalid"),
        (b"[" * 50_000, "json_invalid"),
        (b'"a string"', "model_type"),
        (b"[]", "model_type"),
        (b"", "json_invalid"),
    ],
    ids=["broken", "deeply-nested", "string", "list", "empty"],
)
def test_bodies_that_are_not_a_record_are_422(make_client, content, kind):
    client = make_client()

    response = client.post(
        "/predict", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == kind


def test_batch_errors_name_the_record_and_field(make_client, raw_records):
    client = make_client()
    records = [*raw_records[:3], {**RECORD, "Caste": "xyz"}, "not a record"]

    response = client.post("/predict/batch", json={"records": records})

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "records", 3, "Caste"]
    assert detail[0]["value"] == "xyz"
    assert detail[1]["loc"] == ["body", "records", 4]


@pytest.mark.parametrize(
    "body",
    [{"records": []}, {"records": "x"}, {"rows": [RECORD]}, [RECORD]],
    ids=["empty", "not-a-list", "wrong-key", "bare-list"],
)
def test_batch_bodies_of_the_wrong_shape_are_422(make_client, body):
    client = make_client()

    assert client.post("/predict/batch", json=body).status_code == 422


def test_over_long_batch_is_422_with_the_limit(make_client):
    client = make_client(limits={"max_body_bytes": 1_048_576, "max_batch_records": 5})

    response = client.post("/predict/batch", json={"records": [RECORD] * 6})

    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["type"] == "too_long" and error["limit"] == 5
    assert "at most 5 records" in error["msg"]


def test_oversized_body_is_413_by_header_and_by_stream(make_client):
    client = make_client(limits={"max_body_bytes": 10_000, "max_batch_records": 1000})

    declared = client.post("/predict", content=b" " * 10_001)

    def chunks():
        for _ in range(20):
            yield b" " * 1000

    streamed = client.post("/predict/batch", content=chunks())
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert "10000 bytes" in declared.json()["detail"]


def test_unknown_paths_and_methods_are_4xx(make_client):
    client = make_client()

    assert client.get("/predict").status_code == 405
    assert client.post("/nowhere", json={}).status_code == 404


# --- health, info, metrics, page ---------------------------------------------------
def test_health_names_the_model(make_client, champion_bundle):
    health = make_client().get("/health").json()

    assert health["status"] == "ok" and health["model_loaded"] is True
    assert health["model_version"] == champion_bundle.version
    log = health["prediction_log"]
    assert log["database_ok"] is True
    assert log["spool_max_rows"] > 0
    assert log["spooled"] == log["in_spool"] == log["lost"] == log["rejected"] == 0


def test_model_info_has_registry_run_metrics_and_schema(make_client, champion_bundle):
    info = make_client().get("/model/info").json()

    assert info["name"] == champion_bundle.name
    assert info["alias"] == "champion"
    assert info["run_id"] == champion_bundle.run_id
    assert "selected.cv_accuracy" in info["training"]["metrics"]
    assert "most probable" in info["decision_rule"]
    assert info["prediction_sets"]["level"] == 0.9
    assert info["training"]["end_time"] >= info["training"]["start_time"]
    features = {f["name"]: f for f in info["schema"]["features"]}
    assert features["time"]["allowed"][0] == "ONE"
    assert info["limits"]["max_batch_records"] == 1000


@pytest.mark.slow
def test_registered_model_info_has_the_card_and_the_set_metrics(
    make_client, registered_bundle
):
    """A real training run's champion: its calibration and set figures, and the
    run's model card."""
    info = make_client(loader=lambda: registered_bundle).get("/model/info").json()

    for name in ("cv_ece", "cv_log_loss", "cv_set_coverage", "cv_set_size"):
        assert f"selected.{name}" in info["training"]["metrics"]
    assert info["prediction_sets"]["level"] == 0.9
    assert info["model_card"].startswith("# Model card: ")
    assert "## Prediction sets" in info["model_card"]
    # the run's figures per sensitive group (dataset.sensitive_features)
    assert set(info["fairness"]["features"]) == {"Gender", "Caste"}
    assert "worst" in info["fairness"]


def test_metrics_count_requests_predictions_and_name_the_model(
    make_client, champion_bundle
):
    client = make_client()
    client.post("/predict", json=RECORD)
    client.post("/predict", json={**RECORD, "Caste": "xyz"})
    client.post("/predict/batch", json={"records": [RECORD, RECORD]})

    body = client.get("/metrics").text

    version = champion_bundle.version
    assert (
        'serving_requests_total{endpoint="/predict",method="POST",status="422"} 1.0'
        in body
    )
    assert (
        'serving_request_duration_seconds_bucket{endpoint="/predict",le="0.005"}'
        in (body)
    )
    predicted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith(f'serving_predictions_total{{model_version="{version}"')
    )
    assert predicted == 3
    assert f'version="{version}"' in body and "serving_model_info{" in body
    assert f'prediction_set_size_count{{model_version="{version}"}} 3.0' in body


def test_page_is_served_with_its_script(make_client):
    client = make_client()

    page = client.get("/")
    script = client.get("/static/app.js")

    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script src="/static/app.js">' in page.text
    assert script.status_code == 200 and "/model/info" in script.text


def test_openapi_describes_the_record_from_the_schema(make_client):
    schema = make_client().get("/openapi.json").json()

    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]
    record = body["application/json"]["schema"]
    assert "Class_ X_Percentage" in record["properties"]
    assert record["additionalProperties"] is False


# --- reload -----------------------------------------------------------------------
def test_reload_needs_the_api_key(make_client):
    client = make_client()

    assert client.post("/admin/reload").status_code == 401
    assert (
        client.post("/admin/reload", headers={"X-API-Key": "wrong"}).status_code == 401
    )


def test_reload_without_a_configured_key_is_refused(make_client, monkeypatch):
    client = make_client()
    monkeypatch.delenv("SERVING_ADMIN_API_KEY")

    response = client.post("/admin/reload", headers={"X-API-Key": ""})

    assert response.status_code == 401
    assert "SERVING_ADMIN_API_KEY" in response.json()["detail"]


def test_reload_swaps_the_model(make_client, champion_bundle):
    client = make_client()

    response = client.post("/admin/reload", headers={"X-API-Key": ADMIN_KEY})

    assert response.status_code == 200
    assert response.json()["status"] == "reloaded"
    assert response.json()["model_version"] == champion_bundle.version


def test_failed_reload_keeps_the_old_model_and_says_so(
    make_client, champion_bundle, caplog
):
    calls = {"n": 0}

    def loader():
        calls["n"] += 1
        if calls["n"] > 1:
            raise ModelLoadError("registry unreachable")
        return champion_bundle

    client = make_client(loader=loader)

    response = client.post("/admin/reload", headers={"X-API-Key": ADMIN_KEY})

    assert response.status_code == 503
    assert response.json()["status"] == "reload_failed"
    assert "registry unreachable" in response.json()["detail"]
    assert client.post("/predict", json=RECORD).json()["model_version"] == (
        champion_bundle.version
    )
    assert ADMIN_KEY not in caplog.text
    assert (
        'serving_model_reloads_total{outcome="failed"} 1.0'
        in client.get("/metrics").text
    )


# --- prediction log ---------------------------------------------------------------
def test_every_prediction_is_logged_with_raw_and_cleaned_inputs(
    make_client, log_url, champion_bundle
):
    client = make_client()
    single = client.post("/predict", json=RECORD).json()
    batch = client.post("/predict/batch", json={"records": [CLEANED, RECORD]}).json()
    client.post("/predict", json={**RECORD, "Caste": "xyz"})  # rejected: not logged

    client.__exit__(None, None, None)  # shutdown flushes the log
    log = _read_log(log_url)

    assert list(log["request_id"]) == [
        single["request_id"],
        *(p["request_id"] for p in batch["predictions"]),
    ]
    first = log.iloc[0]
    assert json.loads(first["inputs_raw"]) == RECORD
    assert json.loads(first["inputs_clean"]) == CLEANED
    assert first["Gender"] == " MALE " and first["Class_ X_Percentage"] == " vg"
    assert first["twelve_education"] is None
    assert first["prediction"] == single["prediction"]
    assert json.loads(first["probabilities"]) == single["probabilities"]
    assert first["prediction_set"] == "|".join(single["prediction_set"])
    assert first["model_version"] == champion_bundle.version
    assert first["latency_ms"] > 0
    assert list(log["endpoint"]) == ["predict", "batch", "batch"]


def test_settings_use_sqlite_by_default_and_the_url_from_the_environment(
    project_copy,
):
    settings = load_settings(project_copy)

    default = settings.prediction_log_url({})
    from_env = settings.prediction_log_url({"PREDICTION_LOG_URL": "postgresql://x/y"})

    assert default == (
        f"sqlite:///{project_copy}/data/07_model_output/prediction_log.sqlite"
    )
    assert from_env == "postgresql://x/y"
    assert settings.host == "127.0.0.1"


def test_prod_env_refuses_to_start_without_a_database_url(project_copy):
    settings = load_settings(project_copy, "prod")

    with pytest.raises(RuntimeError, match="PREDICTION_LOG_URL"):
        settings.prediction_log_url({})


def test_docs_load_swagger_ui_from_the_service_itself(make_client):
    """/docs names only the service's own copy of Swagger UI (it renders offline:
    see test_uvicorn's browser test), and that copy is served."""
    pytest.importorskip(
        "fastapi_offline", reason="Swagger UI's assets: fastapi-offline"
    )
    client = make_client()

    page = client.get("/docs")

    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(url.startswith("/docs/assets/") for url in assets)
    for url in assets:
        assert client.get(url).status_code == 200
    assert client.get("/docs/oauth2-redirect").status_code == 200
