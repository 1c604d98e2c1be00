"""/docs renders in a real browser with no internet: headless Chromium, every host but 127.0.0.1
unresolvable, finds the operations on the page; the run leaves a screenshot to look at."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

from tests.docs.live import run_while_serving
from tests.support.servers import Api, Server, ServeVariant

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / ".praxis" / "screenshots" / "docs.png"
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
# Enough virtual time for the page to fetch the document and render it.
VIRTUAL_TIME_MS = "20000"
BROWSER_TIMEOUT_SECONDS = 120


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium is needed (make test installs it)"
    return found


def browse(server: Server, *args: str) -> str:
    argv = [
        chromium(),
        "--headless",
        "--no-sandbox",  # run as root in CI containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        OFFLINE,
        f"--virtual-time-budget={VIRTUAL_TIME_MS}",
        "--window-size=1280,2000",
        *args,
        f"{server.base_url}/docs",
    ]
    result = run_while_serving(server, argv, timeout=BROWSER_TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def docs_server(other_app: ServeVariant) -> Server:
    return other_app().srv


def test_the_reference_page_loads_nothing_from_elsewhere(api: Api) -> None:
    page = api.get("/docs").text
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls, page
    assert all(url.startswith(("/docs/", "data:")) for url in urls), urls
    for url in urls:
        if url.startswith("/docs/"):
            assert api.get(url).status_code == 200, url


def test_the_reference_renders_every_operation_offline(docs_server: Server, api: Api) -> None:
    spec = api.get("/docs/openapi.json").json()
    summaries = {
        operation["summary"]
        for operations in spec["paths"].values()
        for operation in operations.values()
    }
    dom = html.unescape(browse(docs_server, "--dump-dom"))
    missing = {summary for summary in summaries if summary not in dom}
    assert not missing, f"not rendered: {sorted(missing)}"


def test_a_screenshot_of_the_reference_is_taken(docs_server: Server) -> None:
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    browse(docs_server, f"--screenshot={SCREENSHOT}")
    assert SCREENSHOT.stat().st_size > 20_000  # a rendered page, not a blank one
