"""``GET /docs`` without the internet: Swagger UI's assets served by the service.

FastAPI's default page loads Swagger UI from a CDN, so ``/docs`` is blank on a
machine without internet access. The page here is FastAPI's own
(``get_swagger_ui_html``) pointing at the copy of Swagger UI 5 (the first to read
OpenAPI 3.1, FastAPI's version) that the pinned PyPI package ``fastapi-offline``
installs, mounted under ``/docs/assets``; only its files are used. Without that
package the service falls back to FastAPI's CDN page (same document, online only).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

logger = logging.getLogger(__name__)

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"


def swagger_ui_dir() -> str | None:
    """The folder of Swagger UI's files from ``fastapi-offline``, or ``None``."""
    try:
        spec = importlib.util.find_spec("fastapi_offline")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return str(folder) if (folder / "swagger-ui-bundle.js").is_file() else None


def docs_url(assets: str | None) -> str | None:
    """What ``FastAPI(docs_url=...)`` gets: ``None`` when ``add_docs`` serves the page
    from local assets, else FastAPI's default CDN page."""
    return None if assets else DOCS_URL


def add_docs(app: FastAPI, assets: str | None) -> None:
    """``GET /docs`` (and its OAuth2 redirect) with Swagger UI from ``assets``.

    Args:
        app: The service, created with ``docs_url=docs_url(assets)``.
        assets: Swagger UI's folder (``swagger_ui_dir``); ``None``: nothing added
            (FastAPI serves its CDN page).
    """
    if assets is None:
        logger.warning(
            "fastapi-offline is not installed: /docs loads Swagger UI from a CDN"
        )
        return
    app.mount(ASSETS_URL, StaticFiles(directory=assets), name="docs-assets")
    redirect = f"{DOCS_URL}/oauth2-redirect"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=redirect,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
