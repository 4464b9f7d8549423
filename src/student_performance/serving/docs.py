"""``GET /docs`` without the internet: Swagger UI's assets served by the service.

FastAPI's default page loads Swagger UI from a CDN, so ``/docs`` is blank on a
machine without internet access. The page here is FastAPI's own
(``get_swagger_ui_html``) pointing at the copy of Swagger UI that the pinned PyPI
package ``swagger-ui-bundle`` installs, mounted under ``/docs/assets``. Without that
package the service falls back to FastAPI's CDN page (same document, online only).
"""

from __future__ import annotations

import logging

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
    """The folder of Swagger UI's files from ``swagger-ui-bundle``, or ``None``."""
    try:
        from swagger_ui_bundle import swagger_ui_path  # noqa: PLC0415
    except ImportError:
        return None
    return str(swagger_ui_path)


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
            "swagger-ui-bundle is not installed: /docs loads Swagger UI from a CDN"
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
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
