from typing import Any

import pytest

from tests.support.servers import Api, ServeVariant


@pytest.fixture
def docs_app(other_app: ServeVariant) -> Api:
    """sanic-ext keeps one process-global operation store that follows the app started last, so
    the document is read from an app started for the test (production runs one app a process)."""
    return other_app()


@pytest.fixture
def spec(docs_app: Api) -> dict[str, Any]:
    """The OpenAPI document the app serves."""
    document: dict[str, Any] = docs_app.get("/docs/openapi.json").json()
    return document
