"""docker-compose.yml is for users (no Docker engine runs here): check that everything it refers
to exists and is consistent with the service."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_the_stack_has_the_api_its_dependencies_and_observability():
    assert set(SERVICES) == {"api", "postgres", "redis", "prometheus", "grafana"}


def test_every_mounted_host_path_exists():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_every_service_has_a_health_check():
    for name, service in SERVICES.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_the_api_health_check_probes_readiness_on_its_own_port():
    api = SERVICES["api"]
    probe = " ".join(api["healthcheck"]["test"])
    assert "/health/ready" in probe
    assert "8000:8000" in api["ports"]
    assert "127.0.0.1:8000" in probe


def test_the_api_passes_its_own_production_checks_once_its_example_secret_is_changed():
    from service.config import Settings

    environment = {k.lower(): v for k, v in SERVICES["api"]["environment"].items()}
    as_shipped = Settings(**environment)
    changed = Settings(**{**environment, "jwt_secret": "Vq3xN8rT2mKp7LwZ5yHc9BfJ4dGs6AeU"})
    assert as_shipped.is_production
    assert [p for p in as_shipped.production_problems() if "JWT_SECRET" in p]
    assert changed.production_problems() == []


def test_api_urls_point_at_the_compose_services_and_ports():
    env = SERVICES["api"]["environment"]
    assert re.search(r"@postgres:5432/", env["DATABASE_URL"])
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert "5432:5432" in SERVICES["postgres"]["ports"]
    assert "6379:6379" in SERVICES["redis"]["ports"]


def test_the_api_waits_for_healthy_dependencies():
    depends = SERVICES["api"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"


def test_prometheus_scrapes_the_api_metrics_endpoint():
    config = yaml.safe_load((ROOT / "observability/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["praxis"]["metrics_path"] == "/metrics"
    assert jobs["praxis"]["static_configs"][0]["targets"] == ["api:8000"]


def test_grafana_provisions_the_prometheus_datasource_at_its_compose_address():
    config = yaml.safe_load((ROOT / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert config["datasources"][0]["url"] == "http://prometheus:9090"
    assert "9090:9090" in SERVICES["prometheus"]["ports"]


def test_the_dockerfile_exposes_the_api_port_and_copies_what_serve_needs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "EXPOSE 8000" in dockerfile
    for needed in ("service", "migrations", "observability", "uv.lock"):
        assert needed in dockerfile
    assert SERVICES["api"]["build"] == "."
