"""The reference's assets and the error reference. sanic-ext serves /docs/openapi.json and, in
its UI slot, the page ``REFERENCE_PAGE`` (Swagger UI over that document; see
``configure_reference``). Routes under /docs are left out of the OpenAPI document by sanic-ext."""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint
from sanic.config import Config
from sanic.response import HTTPResponse, html, json

from service.app_context import PraxisRequest
from service.reference.errors_reference import error_items, render_html

SWAGGER_UI_VERSION = "5.35.0"
ASSETS_DIR = Path(__file__).parent / "assets"
REFERENCE_PAGE = Path(__file__).parent / "reference.html"
DOCS_PREFIX = "/docs"

reference_bp = Blueprint("reference", url_prefix=DOCS_PREFIX)
reference_bp.static("/assets", ASSETS_DIR, name="assets")


def configure_reference(config: Config) -> None:
    """sanic-ext's OpenAPI settings: the document at /docs/openapi.json and our page at /docs.
    sanic-ext has a slot for a custom UI page only as its Redoc page (the path to its HTML); the
    page put there is Swagger UI on local assets (sanic-ext's own pages load it from a CDN)."""
    config.OAS_URL_PREFIX = DOCS_PREFIX
    config.OAS_URI_TO_JSON = "/openapi.json"
    config.OAS_AUTODOC = False
    config.OAS_UI_SWAGGER = False
    config.OAS_UI_REDOC = True
    config.OAS_PATH_TO_REDOC_HTML = str(REFERENCE_PAGE)
    config.OAS_URI_TO_REDOC = "/ui"
    config.OAS_UI_DEFAULT = "redoc"


_ERRORS_PAGE = render_html()


@reference_bp.get("/errors")
async def errors_page(_: PraxisRequest) -> HTTPResponse:
    return html(_ERRORS_PAGE)


@reference_bp.get("/errors.json")
async def errors_json(request: PraxisRequest) -> HTTPResponse:
    return json({"items": error_items(request.app.ctx.settings.public_base_url)})
