"""docker-compose.yml is for users (no Docker engine runs here): check that everything it refers
to exists and fits together, and run what can run here on its config files: promtool on the
Prometheus config it mounts, `nginx -t` on its nginx config."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observability.support import PROMETHEUS_DIR, run_tool

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
APIS = ("api-1", "api-2")
API_PORT = 8000
# Services without a Docker health check, and why.
UNPROBED = {
    "migrate": "a one-shot job: the instances wait for it to complete",
    "otel-collector": "its image has no shell or HTTP client to probe with",
}
REQUIRED_SECRET = re.compile(r"^\$\{JWT_SECRET:\?[^}]+\}$")


def config(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text())


def test_the_stack_has_two_api_instances_behind_nginx_its_dependencies_and_observability() -> None:
    assert set(SERVICES) == {
        *APIS,
        "migrate",
        "nginx",
        "postgres",
        "redis",
        "prometheus",
        "grafana",
        "otel-collector",
        "jaeger",
    }


def test_every_mounted_host_path_exists() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in SERVICES.items():
        healthcheck = service.get("healthcheck", {})
        if name in UNPROBED:
            assert not healthcheck.get("test") or healthcheck.get("disable")
        else:
            assert healthcheck.get("test"), f"{name} has no health check"


def test_every_published_port_is_bound_to_loopback_only() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
    assert "127.0.0.1:5432:5432" in SERVICES["postgres"]["ports"]
    assert "127.0.0.1:6379:6379" in SERVICES["redis"]["ports"]


@pytest.mark.parametrize("name", APIS)
def test_each_api_instance_runs_two_workers_behind_one_proxy_and_probes_readiness(
    name: str,
) -> None:
    api = SERVICES[name]
    env = api["environment"]
    assert env["WORKERS"] == "2"
    assert env["PROXIES_COUNT"] == "1"
    probe = " ".join(api["healthcheck"]["test"])
    assert f"127.0.0.1:{API_PORT}/health/ready" in probe
    assert "ports" not in api  # reached through nginx only


@pytest.mark.parametrize("name", APIS)
def test_each_api_instance_passes_its_own_production_checks_once_given_a_secret(name: str) -> None:
    from service.config import Settings

    env = SERVICES[name]["environment"]
    assert REQUIRED_SECRET.match(env["JWT_SECRET"]), "JWT_SECRET must be a required variable"
    given = {**env, "JWT_SECRET": "a-real-deployment-secret-Zq8#xL2!vR7@kP4$"}
    settings = Settings(**{k.lower(): v for k, v in given.items()})
    assert settings.is_production
    assert settings.production_problems() == []


@pytest.mark.parametrize("name", APIS)
def test_each_api_instance_uses_the_compose_services(name: str) -> None:
    env = SERVICES[name]["environment"]
    assert re.search(r"@postgres:5432/", env["DATABASE_URL"])
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"


@pytest.mark.parametrize("name", APIS)
def test_each_api_instance_waits_for_healthy_dependencies_and_the_migrations(name: str) -> None:
    depends = SERVICES[name]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert "migrate" in SERVICES["migrate"]["command"]


def test_nginx_balances_over_both_instances_with_passive_checks_and_retries() -> None:
    nginx = SERVICES["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    conf = (ROOT / "deploy/nginx.conf").read_text()
    upstreams = re.findall(r"^\s*server (\S+):(\d+) max_fails=\d+ fail_timeout=\d+s;", conf, re.M)
    assert upstreams == [(api, str(API_PORT)) for api in APIS]
    assert "proxy_next_upstream error timeout http_502 http_503;" in conf
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf
    assert {d["condition"] for d in nginx["depends_on"].values()} == {"service_healthy"}


def test_nginx_accepts_its_config(tmp_path: Path) -> None:
    """`nginx -t` on a copy whose upstream hosts resolve here: nginx resolves them when it
    loads the config, and the compose service names exist only on the compose network."""
    conf = (ROOT / "deploy/nginx.conf").read_text()
    local = re.sub(r"server (?:api-\d+):", "server 127.0.0.1:", conf)
    assert local != conf
    (tmp_path / "nginx.conf").write_text(local)
    command = ["nginx", "-t", "-q", "-e", "stderr", "-p", str(tmp_path)]
    result = run_tool(*command, "-c", str(tmp_path / "nginx.conf"))
    assert result.returncode == 0, result.stderr


def test_prometheus_runs_the_repository_config_and_rules_as_mounted() -> None:
    prometheus = SERVICES["prometheus"]
    assert "./observability/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    # rule_files are relative to the config: the check below sees what the container loads.
    result = run_tool("promtool", "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_both_api_instances() -> None:
    jobs = {
        job["job_name"]: job
        for job in config("observability/prometheus/prometheus.yml")["scrape_configs"]
    }
    assert jobs["praxis"]["metrics_path"] == "/metrics"
    assert jobs["praxis"]["static_configs"][0]["targets"] == [f"{api}:{API_PORT}" for api in APIS]


def test_grafana_requires_a_login_and_provisions_prometheus_at_its_compose_address() -> None:
    env = SERVICES["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:-")
    (datasource,) = config("grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    assert "127.0.0.1:9090:9090" in SERVICES["prometheus"]["ports"]
    (provider,) = config("grafana/provisioning/dashboards/praxis.yml")["providers"]
    assert (
        "./grafana/dashboards:" + provider["options"]["path"] + ":ro"
        in SERVICES["grafana"]["volumes"]
    )


def test_the_collector_receives_otlp_and_exports_traces_to_jaeger() -> None:
    collector = config("deploy/otel-collector.yml")
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")
    pipeline = collector["service"]["pipelines"]["traces"]
    (exporter,) = pipeline["exporters"]
    assert collector["exporters"][exporter]["endpoint"] == "jaeger:4317"
    assert SERVICES["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    mount = "./deploy/otel-collector.yml:/etc/otelcol-contrib/config.yaml:ro"
    assert mount in SERVICES["otel-collector"]["volumes"]


def test_the_dockerfile_exposes_the_api_port_and_copies_what_serve_needs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {API_PORT}" in dockerfile
    for needed in ("service", "migrations", "observability", "uv.lock"):
        assert needed in dockerfile
    assert all(SERVICES[name]["build"] == "." for name in (*APIS, "migrate"))
