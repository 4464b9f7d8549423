"""``python -m student_performance.serving``: serve the champion with uvicorn.

    python -m student_performance.serving [--project .] [--env ENV] [--host H] [--port P]
        [--model-name NAME] [--alias ALIAS]

Host and port default to ``serving.host`` / ``serving.port`` in conf (127.0.0.1:8000).
One worker process: ``/admin/reload`` swaps the model of the process it reaches, so
scale out with more processes behind the load balancer and reload each.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, load the champion and run uvicorn until stopped."""
    parser = argparse.ArgumentParser(prog="python -m student_performance.serving")
    parser.add_argument("--project", default=".", help="Kedro project (conf/ in it)")
    parser.add_argument(
        "--env", default=os.environ.get("KEDRO_ENV"), help="Kedro conf environment"
    )
    parser.add_argument("--host", default=None, help="default: serving.host")
    parser.add_argument("--port", type=int, default=None, help="default: serving.port")
    parser.add_argument(
        "--model-name", default=None, help="default: training.registry.model_name"
    )
    parser.add_argument(
        "--alias", default=None, help="default: serving.alias (champion)"
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    import uvicorn  # noqa: PLC0415

    from student_performance.serving.app import create_app  # noqa: PLC0415
    from student_performance.serving.bundle import ModelLoadError  # noqa: PLC0415
    from student_performance.serving.config import load_settings  # noqa: PLC0415

    overrides = {
        key: value
        for key, value in (
            ("host", args.host),
            ("port", args.port),
            ("model_name", args.model_name),
            ("alias", args.alias),
        )
        if value is not None
    }
    settings = load_settings(Path(args.project), args.env, **overrides)
    try:
        app = create_app(settings)
    except (ModelLoadError, RuntimeError) as err:
        logger.error("Cannot start serving: %s", err)
        return 1
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=settings.access_log,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
