"""The API's pages for people: ``/docs`` (Swagger UI) with its JavaScript and CSS served by the
app itself, so the page works on a machine without internet (FastAPI's default loads them from a
CDN and shows a blank page offline), and ``/`` leading to the web UI (or to ``/docs`` without
one). The assets are swagger-ui-dist as the ``fastapi-offline`` package ships them."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

#: Where the Swagger UI files are served.
ASSETS_URL = "/docs-assets"


def add_docs(app: FastAPI, *, home: str) -> None:
    """``/docs`` from local assets, and ``/`` redirecting to ``home``. The app must be created
    with ``docs_url=None``, ``redoc_url=None`` (the CDN pages)."""
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS_URL, StaticFiles(directory=str(assets)), name="docs-assets")
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/", include_in_schema=False)
    def root(request: Request) -> RedirectResponse:
        """The address people type: the web UI (or the API docs when no UI is served)."""
        return RedirectResponse(f"{request.scope.get('root_path', '')}{home}")
