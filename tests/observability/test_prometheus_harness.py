"""A real Prometheus (Debian's binary, loopback port, temporary data, the repository's rules,
1 s scrape and evaluation intervals) scraping two real ``praxis serve`` instances, as in
docker-compose (one with two workers enforcing limits, one in rate-limit shadow mode), under a
short bounded load; then every rule and every dashboard expression is evaluated through its
HTTP API. Parse errors, rules in error and expressions without any series fail.

What "has data" means:
- recording rules and panel targets are evaluated as written;
- alert rules are evaluated with their comparisons made ``bool`` (``comparisons_as_bool``): a
  threshold not crossed answers 0 instead of nothing, so only a missing input is empty. The
  expression, not the alert state, is checked: ``for:`` plays no part.
- a rate over [3d] or [30d] has a value as soon as two samples are in range, so the test waits
  for two scrapes after the load and a rule evaluation after those (conditions, not sleeps).

The load makes every family appear: content reads (cache misses, then hits), history with a
token, 404s, one client over its quota (429s, and would-be refusals in shadow mode),
SLOW_QUERY_MS=0 (every statement counts as slow), and Redis stopped before the last rounds
(cache errors, dependency down)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.observability.support import (
    PROMETHEUS_CONFIG,
    PROMETHEUS_DIR,
    comparisons_as_bool,
    panel_expressions,
    rules,
    tool,
)
from tests.support.processes import PrivateRedis, free_port, praxis_serve, stop, wait_until

SCRAPE_SECONDS = 1
MIN_ROUNDS, MAX_ROUNDS = 12, 40  # per instance; about 11 requests a round
SCRAPES_UNDER_LOAD = 5
ROUNDS_WITHOUT_REDIS = 2
WAIT_SECONDS = 30
ANON_QUOTA = "30/minute"
GREEDY_CLIENT = "203.0.113.99"


@dataclass
class Prometheus:
    base_url: str

    def query(self, expr: str) -> dict[str, Any]:
        response = httpx.post(f"{self.base_url}/api/v1/query", data={"query": expr}, timeout=10)
        answer: dict[str, Any] = response.json()
        return answer

    def values(self, expr: str) -> list[float]:
        answer = self.query(expr)
        assert answer["status"] == "success", (expr, answer)
        return [float(item["value"][1]) for item in answer["data"]["result"]]

    def rule_groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = httpx.get(
            f"{self.base_url}/api/v1/rules", timeout=10
        ).json()["data"]["groups"]
        return groups


def harness_config(targets: list[str], directory: Path) -> Path:
    """The compose stack's Prometheus config with local targets, short intervals and the
    repository's rule files."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"].update(
        scrape_interval=f"{SCRAPE_SECONDS}s", evaluation_interval=f"{SCRAPE_SECONDS}s"
    )
    config["rule_files"] = [str(PROMETHEUS_DIR / pattern) for pattern in config["rule_files"]]
    (praxis,) = [job for job in config["scrape_configs"] if job["job_name"] == "praxis"]
    praxis["static_configs"] = [{"targets": targets}]
    config["scrape_configs"] = [praxis]
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def instances(
    database_url: str,
    private_redis: PrivateRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[str]]:
    prefix = f"praxis-harness-{uuid.uuid4().hex[:8]}:"
    common = {
        "ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": private_redis.url,
        "REDIS_KEY_PREFIX": prefix,
        "HOST": "127.0.0.1",
        "JWT_SECRET": "harness-secret-" + "x" * 40,
        "PROXIES_COUNT": "1",
        "RATE_LIMIT_ANON": ANON_QUOTA,
        "SLOW_QUERY_MS": "0",
        "LOG_LEVEL": "WARNING",
    }
    variants = [{"WORKERS": "2"}, {"WORKERS": "1", "RATE_LIMIT_MODE": "shadow"}]
    with ExitStack() as stack:
        urls = []
        for number, variant in enumerate(variants, start=1):
            port = free_port()
            data_dir = tmp_path_factory.mktemp(f"api-{number}")
            env = {**common, **variant, "PORT": str(port), "DATA_DIR": str(data_dir)}
            stack.enter_context(praxis_serve(env, data_dir / "server.log"))
            urls.append(f"http://127.0.0.1:{port}")
        yield urls


@pytest.fixture(scope="module")
def prometheus(
    instances: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    directory = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    targets = [url.removeprefix("http://") for url in instances]
    command = [
        tool("prometheus"),
        f"--config.file={harness_config(targets, directory)}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    log_path = directory / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
    server = Prometheus(f"http://127.0.0.1:{port}")

    def ready() -> bool:
        try:
            return httpx.get(f"{server.base_url}/-/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, process, "prometheus")
        yield server
    finally:
        stop(process)
        print(log_path.read_text()[-4000:])  # noqa: T201 - shown by pytest only on failure


def create_admin(database_url: str, email: str, password: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "create-admin", email, "--password", password],
        env={"DATABASE_URL": database_url, "REDIS_URL": "none", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass
class Fixtures:
    token: str
    slug: str


def published_content(database_url: str, base_url: str) -> Fixtures:
    """An admin (through the CLI) who publishes one item and practises on it, over HTTP."""
    email, password = f"harness-{uuid.uuid4().hex[:8]}@example.com", "harness password 1"
    create_admin(database_url, email, password)
    with httpx.Client(base_url=base_url, timeout=10) as http:
        login = http.post("/api/v1/auth/login", json={"email": email, "password": password})
        token = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        body = {
            "title": f"Harness {uuid.uuid4().hex[:6]}",
            "summary": "load",
            "body": "# Load",
            "kind": "lesson",
            "category": "harness",
            "difficulty": "beginner",
            "duration_minutes": 5,
            "tags": ["harness"],
        }
        created = http.post("/api/v1/admin/content", json=body, headers=auth).json()
        http.post(f"/api/v1/admin/content/{created['id']}/publish", headers=auth)
        http.post("/api/v1/sessions", json={"content_slug": created["slug"]}, headers=auth)
    return Fixtures(token, created["slug"])


async def one_round(
    http: httpx.AsyncClient, base_url: str, data: Fixtures, number: int
) -> list[int]:
    client = {"X-Forwarded-For": f"198.51.100.{number % 200 + 1}"}
    greedy = {"X-Forwarded-For": GREEDY_CLIENT}
    auth = {"Authorization": f"Bearer {data.token}"}
    requests = [
        ("/api/v1/content", client),
        (f"/api/v1/content/{data.slug}", client),
        ("/api/v1/tags", client),
        ("/api/v1/history", auth),
        ("/api/v1/history/stats", auth),
        ("/api/v1/content/no-such-item", client),
        ("/no/such/route", client),
        *[("/api/v1/tags", greedy)] * 4,
    ]
    answers = await asyncio.gather(
        *(http.get(base_url + path, headers=headers) for path, headers in requests)
    )
    return [answer.status_code for answer in answers]


def scrapes_of_every_target(prometheus: Prometheus, since: float) -> int:
    """The fewest scrapes any praxis target has had after ``since`` (unix seconds)."""
    counts = prometheus.values(
        f'count_over_time(up{{job="praxis"}}[1h])'
        f' - count_over_time(up{{job="praxis"}}[1h] @ {since})'
    )
    return int(min(counts, default=0))


def run_load(
    prometheus: Prometheus, instances: list[str], data: Fixtures, redis: PrivateRedis
) -> list[int]:
    async def rounds(count: int, first: int) -> list[int]:
        statuses: list[int] = []
        async with httpx.AsyncClient(timeout=10) as http:
            for number in range(first, first + count):
                for base_url in instances:
                    statuses += await one_round(http, base_url, data, number)
        return statuses

    started = time.time()
    statuses: list[int] = []
    while len(statuses) < MAX_ROUNDS * len(instances) * 11:
        statuses += asyncio.run(rounds(1, len(statuses)))
        enough_rounds = len(statuses) >= MIN_ROUNDS * len(instances) * 11
        if enough_rounds and scrapes_of_every_target(prometheus, started) >= SCRAPES_UNDER_LOAD:
            break
    redis.stop()
    statuses += asyncio.run(rounds(ROUNDS_WITHOUT_REDIS, len(statuses)))
    return statuses


def rfc3339_seconds(text: str) -> float:
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    return datetime.fromisoformat(trimmed).timestamp()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Prometheus: {what} did not happen within {WAIT_SECONDS}s")
        time.sleep(SCRAPE_SECONDS / 4)  # polling Prometheus' progress, bounded by the deadline


def wait_for_scrapes_and_rules(prometheus: Prometheus, load_ended: float) -> None:
    """Until every target was scraped twice after the load, then every rule group evaluated
    after the latest of those scrapes."""
    wait_for(lambda: scrapes_of_every_target(prometheus, load_ended) >= 2, "two scrapes")
    scraped = max(prometheus.values('timestamp(up{job="praxis"})'))

    def evaluated() -> bool:
        groups = prometheus.rule_groups()
        return all(rfc3339_seconds(group["lastEvaluation"]) > scraped for group in groups)

    wait_for(evaluated, "a rule evaluation after them")


def expressions() -> list[tuple[str, str]]:
    """(where, what to evaluate) for every rule and every panel target."""
    found = []
    for rule in rules():
        if "record" in rule:
            found.append((f"record {rule['record']}", rule["expr"]))
        else:
            found.append((f"alert {rule['alert']}", comparisons_as_bool(rule["expr"])))
    return found + panel_expressions()


def problems_with(prometheus: Prometheus, where: str, expr: str) -> str:
    answer = prometheus.query(expr)
    if answer["status"] != "success":
        return f"{where}: {answer.get('errorType')}: {answer.get('error')}"
    if not answer["data"]["result"]:
        return f"{where}: no series for {expr!r}"
    return ""


def test_every_rule_and_panel_expression_has_data_under_real_load(
    prometheus: Prometheus,
    instances: list[str],
    database_url: str,
    private_redis: PrivateRedis,
) -> None:
    data = published_content(database_url, instances[0])
    statuses = run_load(prometheus, instances, data, private_redis)
    wait_for_scrapes_and_rules(prometheus, time.time())

    assert 200 in statuses
    assert 404 in statuses
    assert 429 in statuses
    assert all(status < 500 for status in statuses)
    broken_rules = [
        f"rule {rule['name']}: {rule.get('lastError')}"
        for group in prometheus.rule_groups()
        for rule in group["rules"]
        if rule["health"] == "err"
    ]
    problems = [p for where, expr in expressions() if (p := problems_with(prometheus, where, expr))]
    assert broken_rules + problems == [], "\n" + "\n".join(broken_rules + problems)
