"""training: data_processing + modelling, logged and registered as one MLflow model.

``pipeline_ml_factory`` bundles the ``inference``-tagged nodes (raw rows ->
``prepare_inference_features`` -> ``predict_performance``) with the artifacts the
``training`` nodes persist (``model_selected``, the parameters) into one MLflow model
whose single input is raw rows (``mi_raw_rows_example``'s columns, as text) and whose
output is the predicted class plus one probability per class. After a successful run,
``ModelRegistryHook`` registers it and applies the promotion gate
(``parameters_training.yml``).

A folder of its own (rather than a composition in ``pipeline_registry.py``) because
Kedro 1.7 imports only the requested pipeline folders for ``--pipelines``.
"""

from importlib.metadata import version
from pathlib import Path

from kedro.pipeline import Pipeline
from kedro_mlflow.pipeline import pipeline_ml_factory

from student_performance.pipelines import data_processing, modelling

# The bundled model's dependencies, pinned to what is installed: listing them saves
# MLflow the several seconds it spends inferring them on every training run.
_MODEL_REQUIREMENTS = (
    "kedro",
    "kedro-datasets",
    "kedro-mlflow",
    "mlflow",
    "pandas",
    "pyarrow",
    "numpy",
    "scipy",
    "scikit-learn",
    "lightgbm",
    "pydantic",
)
_PACKAGE_DIR = Path(__file__).resolve().parents[2]


def create_pipeline(**kwargs) -> Pipeline:
    """Build the training ``PipelineML``."""
    model = modelling.create_pipeline()
    return pipeline_ml_factory(
        training=data_processing.create_pipeline()
        + model.only_nodes_with_tags("training"),
        inference=model.only_nodes_with_tags("inference"),
        input_name="mi_raw_rows_example",
        log_model_kwargs={
            "name": "model",
            "pip_requirements": [f"{p}=={version(p)}" for p in _MODEL_REQUIREMENTS],
            # the package travels with the model, so it loads outside this project
            "code_paths": [str(_PACKAGE_DIR)],
        },
    )
