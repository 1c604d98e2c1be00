"""GET /health (liveness), GET /health/ready (readiness) and GET /metrics."""

from service.config import Settings
from tests.support.servers import Api, Server, ServeVariant, serving, variant_app


def test_liveness_is_health_json_pass(api: Api) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/health+json")
    assert response.json()["status"] == "pass"
    assert response.headers["cache-control"] == "no-store"


def test_readiness_passes_with_database_and_redis_up(api: Api) -> None:
    response = api.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pass"
    assert body["checks"]["database"][0]["status"] == "pass"
    assert body["checks"]["redis"][0]["status"] == "pass"


def test_readiness_warns_but_stays_200_when_redis_is_unreachable(other_app: ServeVariant) -> None:
    client = other_app(redis_url="redis://127.0.0.1:1/0")
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "warn"
    assert body["checks"]["redis"][0]["status"] == "warn"
    assert body["checks"]["database"][0]["status"] == "pass"


def test_readiness_warns_when_running_without_redis(other_app: ServeVariant) -> None:
    response = other_app(redis_url="none").get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"][0]["status"] == "warn"


def test_metrics_exposes_prometheus_text(api: Api) -> None:
    api.get("/health")
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "praxis_db_queries_per_request" in response.text


def test_readiness_fails_once_the_server_starts_draining(other_app: ServeVariant) -> None:
    client = other_app()
    assert client.get("/health/ready").status_code == 200
    client.srv.app.ctx.draining = True  # what the before_server_stop listener does on SIGTERM
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    assert client.get("/health").status_code == 200


def test_stopping_the_server_starts_draining(server: Server, settings: Settings) -> None:
    app = variant_app(settings)
    with serving(app, loop=server.loop):
        assert not getattr(app.ctx, "draining", False)
    assert app.ctx.draining is True


def test_probes_and_scrapes_are_not_counted_as_requests_with_queries(api: Api) -> None:
    from prometheus_client import REGISTRY

    api.get("/health")
    api.get("/metrics")
    for route in ("/health", "/metrics"):
        labels = {"route": route}
        assert REGISTRY.get_sample_value("praxis_db_queries_per_request_count", labels) is None
