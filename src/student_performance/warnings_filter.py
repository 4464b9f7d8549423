"""Known, harmless warnings that dependencies raise on every command.

``settings.py`` calls ``silence_known_dependency_warnings`` because Kedro imports it
before the config loader and the plugins raise these. A ``warnings.filterwarnings``
entry is not enough: MLflow wraps its model-class checks in ``catch_warnings`` with a
``simplefilter("once")`` that overrides outside filters. So the display function is
wrapped instead (``warnings.showwarning`` is documented as replaceable): known messages
are dropped, every other warning is shown as before.
"""

from __future__ import annotations

import re
import warnings

_KNOWN = re.compile(
    "|".join(
        (
            # omegaconf 2.4 deprecates register_new_resolver; kedro and kedro-mlflow call it
            r"register_new_resolver\(\) is deprecated",
            # mlflow asks for type hints on PythonModel.predict (kedro-mlflow's model class)
            r"Add type hints to the `predict` method",
            # kedro-mlflow logs the bundled model with a signature but no input example
            r"An input example was not provided when logging the model",
            # pyarrow's schema from a UTC timestamp column (Dask writing scored_at)
            r"Series.values returning an ndarray that drops timezone information",
        )
    )
)


def _is_known(message: Warning | str) -> bool:
    return bool(_KNOWN.search(str(message)))


def silence_known_dependency_warnings() -> None:
    """Drop the known messages above from warning output (idempotent)."""
    show = warnings.showwarning
    if getattr(show, "_drops_known_warnings", False):
        return

    def _showwarning(message, category, filename, lineno, file=None, line=None):  # noqa: PLR0917
        if not _is_known(message):
            show(message, category, filename, lineno, file, line)

    _showwarning._drops_known_warnings = True  # type: ignore[attr-defined]
    warnings.showwarning = _showwarning
