"""What the tracing set-up decides from the environment (the SDK reads the rest itself)."""

from __future__ import annotations

import pytest

from observability.tracing import (
    _resource,
    exporter_protocol,
    server_span_name,
    tracing_enabled,
)


@pytest.mark.parametrize(
    ("environ", "protocol"),
    [
        ({}, None),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, None),  # no endpoint: no exporter at all
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, "http/protobuf"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "grpc",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
            },
            "grpc",
        ),
    ],
)
def test_the_exporter_is_off_without_an_endpoint_and_speaks_the_chosen_protocol(
    environ: dict[str, str], protocol: str | None
) -> None:
    assert exporter_protocol(environ) == protocol


def test_an_unsupported_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="http/json"):
        exporter_protocol(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
        )


@pytest.mark.parametrize(
    ("value", "enabled"), [("", True), ("false", True), ("true", False), (" TRUE ", False)]
)
def test_otel_sdk_disabled_turns_tracing_off(value: str, enabled: bool) -> None:
    assert tracing_enabled({"OTEL_SDK_DISABLED": value}) is enabled


@pytest.mark.parametrize(
    ("method", "route", "name"),
    [
        ("GET", "/api/v1/content/<slug>", "GET /api/v1/content/<slug>"),
        ("GET", None, "GET"),
        ("BREW", None, "HTTP"),
    ],
)
def test_server_spans_are_named_by_method_and_route_template(
    method: str, route: str | None, name: str
) -> None:
    assert server_span_name(method, route) == name


def test_the_service_is_named_praxis_unless_the_environment_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert _resource().attributes["service.name"] == "praxis"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes")
    assert _resource().attributes["service.name"] == "from-attributes"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-name")
    assert _resource().attributes["service.name"] == "from-name"
