import pytest

from tests.content.support import reset_read_caches


@pytest.fixture(autouse=True)
def _fresh_read_caches(server):
    """Redis is flushed before each test; the worker's in-process cache tier is reset too."""
    reset_read_caches(server)
