"""The registered model batch scoring uses, loaded through the catalog.

``RegisteredModelDataset`` resolves an alias (``champion`` by default) or a version of
the registered model to one exact version, loads that version's bundled pipeline model
and takes out what serving takes out (``model_parts.model_parts``): the fitted
model, the dataset schema it was trained with (the frozen schema that cleans the
records) and the prediction sets' calibration. Nodes get a ``ScoringModel`` and never
touch MLflow.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from student_performance.model_parts import model_parts
from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoringModel:
    """One registered model version, ready to score.

    Attributes:
        name: Registered model name.
        version: Registered version.
        alias: The alias it was selected by (``None`` when selected by version).
        model: The fitted model (``predict_proba``, ``predict_index``, ``classes_``).
        schema: The dataset schema it was trained with, as persisted.
        sets: Its prediction sets' conformal calibration (``None``: a model
            registered before prediction sets, scored without them).
    """

    name: str
    version: str
    alias: str | None
    model: Any = field(repr=False)
    schema: dict[str, Any] = field(repr=False)
    sets: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def dataset(self) -> DatasetSchema:
        """The frozen schema, validated."""
        return DatasetSchema.model_validate(self.schema)


class RegisteredModelDataset(AbstractDataset[None, ScoringModel]):
    """A registered model version from the MLflow registry (read-only).

    The tracking/registry URI is MLflow's current one (kedro-mlflow sets it from
    ``mlflow.yml`` when the session starts).

    Example catalog entry::

        model_for_scoring:
          type: student_performance.scoring.RegisteredModelDataset
          model_name: student_performance
          alias: champion        # or model_version: 3
    """

    def __init__(
        self,
        *,
        model_name: str,
        alias: str | None = "champion",
        model_version: str | int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            model_name: Registered model name.
            alias: Registry alias; ignored when ``model_version`` is given.
            model_version: Registered version number (not ``version``: Kedro
                reserves that key for its own dataset versioning and drops it).
            metadata: Free-form (kedro-viz layer).
        """
        self._model_name = model_name
        self._version = None if model_version in (None, "") else str(model_version)
        self._alias = None if self._version else (alias or "champion")
        self.metadata = metadata

    def _resolve(self, client: Any) -> tuple[str, str]:
        """(version, run id) of what this entry names."""
        from mlflow.exceptions import MlflowException  # noqa: PLC0415

        try:
            if self._version:
                found = client.get_model_version(self._model_name, self._version)
            else:
                found = client.get_model_version_by_alias(self._model_name, self._alias)
        except MlflowException as err:
            what = f"version {self._version}" if self._version else self._alias
            raise DatasetError(
                f"model {self._model_name!r} has no {what} in the registry at "
                f"{client.tracking_uri}: train and register one first (make train)"
            ) from err
        return str(found.version), found.run_id

    def load(self) -> ScoringModel:
        """Load the version, unwrap the pipeline model, return model and schema."""
        import mlflow  # noqa: PLC0415 - ~2.5 s to import: only when loading

        client = mlflow.MlflowClient()
        version, _ = self._resolve(client)
        uri = f"models:/{self._model_name}/{version}"
        # MLflow puts the copy of this package saved with the model (code_paths)
        # first on sys.path. This process keeps the installed package it already
        # runs, but Dask's local workers, started later with this sys.path, would
        # import the copy: the project as it was when the model was trained, which
        # may lack modules the engine sends them. Every process runs the installed
        # project (as on a cluster), so the path is put back.
        import_path = list(sys.path)
        try:
            model, schema, sets = model_parts(mlflow.pyfunc.load_model(uri))
        except Exception as err:
            raise DatasetError(f"cannot load {uri}: {err}") from err
        finally:
            sys.path[:] = import_path
        logger.info(
            "Scoring with %s v%s (%s)",
            self._model_name,
            version,
            self._alias or "by version",
        )
        return ScoringModel(self._model_name, version, self._alias, model, schema, sets)

    def save(self, data: ScoringModel) -> None:
        """Models are registered by the training pipeline, never here."""
        raise DatasetError("registered models are read-only here")

    def _describe(self) -> dict[str, Any]:
        return {
            "model_name": self._model_name,
            "alias": self._alias,
            "version": self._version,
        }
