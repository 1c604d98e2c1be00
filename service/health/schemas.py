from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class HealthOut(BaseModel):
    """draft-inadarei-api-health-check, served as application/health+json."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "status": "warn",
                "checks": {
                    "database": [{"status": "pass", "componentType": "datastore"}],
                    "redis": [{"status": "warn", "output": "timed out; fallbacks serving"}],
                },
            }
        }
    )

    status: Literal["pass", "warn", "fail"]
    description: str | None = None
    output: str | None = None
    checks: dict[str, list[dict[str, Any]]] | None = None
