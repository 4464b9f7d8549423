"""Where the project lives: the folder conf/ is read from and stores are written to.

A leaf module (nothing of the project imported): settings, the registry, orchestration
and scripts all ask it, so none of them has to import another for a path.
"""

import os
from pathlib import Path

# The environment variable that names the project folder (conf/, data/, the stores).
PROJECT_HOME_ENV = "STUDENT_PERFORMANCE_HOME"


def find_project_root(cwd: Path | None = None) -> Path:
    """The project folder: where conf/ is read and data and stores are written.

    In order: ``$STUDENT_PERFORMANCE_HOME``; the source checkout this package is
    imported from (``src/`` layout, editable install); else the Kedro project at or
    above the working directory (a ``pyproject.toml`` with ``[tool.kedro]``), else the
    working directory itself. An installed wheel lives in ``site-packages``, never a
    project: there the working directory (``kedro run`` runs from the project) or the
    variable decides.

    Args:
        cwd: The working directory (``Path.cwd()`` when ``None``).
    """
    home = os.environ.get(PROJECT_HOME_ENV, "").strip()
    if home:
        return Path(home).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "conf").is_dir():
        return checkout
    from kedro.utils import find_kedro_project  # noqa: PLC0415

    cwd = (cwd or Path.cwd()).resolve()
    return (find_kedro_project(cwd) or cwd).resolve()
