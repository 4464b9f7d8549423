"""Which features the model is given: the schema less ``modelling.exclude_features``."""

from __future__ import annotations

import logging

from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)


def select_model_features(
    dataset: DatasetSchema, exclude_features: list[str]
) -> tuple[DatasetSchema, list[str]]:
    """The schema the model is trained with, persisted beside it and served.

    Every training node reads this schema, so an excluded feature (e.g. a sensitive
    one) is never an input, and the served schema (``freeze_dataset_schema``) no longer
    asks for it. The group report still reads the sensitive columns from the rows.

    Args:
        dataset: The schema (``params:dataset``).
        exclude_features: Feature names to leave out (``[]``: the schema as is).

    Returns:
        The schema without those features (nor them among its sensitive features),
        and the names of the features it keeps (logged with the run: the registry
        gate re-scores a champion on the features it was trained with).
    """
    model_schema = dataset.without(exclude_features) if exclude_features else dataset
    if exclude_features:
        logger.info("Model trained without %s", ", ".join(exclude_features))
    return model_schema, model_schema.feature_names
