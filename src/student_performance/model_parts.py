"""What a registered model holds: the parts serving and batch scoring take out of it.

A leaf module (nothing of the project imported). The registered model is kedro-mlflow's
pipeline model; its persisted inputs (see ``pipelines/training/pipeline.py``) are the
fitted model, the dataset schema it was trained with and the prediction sets'
calibration.
"""

from __future__ import annotations

from typing import Any

MODEL_DATASET = "model_selected"
SCHEMA_DATASET = "model_dataset_schema"
SETS_DATASET = "model_set_calibration"  # absent from models trained before sets


def model_parts(pyfunc: Any) -> tuple[Any, dict[str, Any], Any]:
    """The fitted model, its dataset schema and its prediction sets' calibration
    (``None`` for a model registered before sets) out of a loaded kedro-mlflow
    pipeline model (``mlflow.pyfunc.load_model``)."""
    catalog = pyfunc.unwrap_python_model().loaded_catalog
    sets = catalog.load(SETS_DATASET) if SETS_DATASET in catalog else None
    return catalog.load(MODEL_DATASET), catalog.load(SCHEMA_DATASET), sets
