from __future__ import annotations

from sanic import Blueprint
from sanic.response import HTTPResponse

from service.admin.audit import service
from service.admin.audit.schemas import AuditPage, AuditQuery
from service.app_context import PraxisRequest
from service.kit import rbac
from service.kit.openapi_docs import documented
from service.kit.web import json_response, parse_query

admin_audit_bp = Blueprint("admin_audit", url_prefix="/admin")


@admin_audit_bp.get("/audit")
@documented(
    "The audit log, newest first: who changed what, with each field's before and after",
    "Admin: audit",
    query=AuditQuery,
    responses={200: AuditPage},
)
@rbac.require_permission("audit:read")
async def list_audit(request: PraxisRequest) -> HTTPResponse:
    return json_response(await service.list_records(parse_query(request, AuditQuery)))
