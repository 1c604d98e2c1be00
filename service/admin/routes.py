from __future__ import annotations

from sanic import Blueprint

admin_bp = Blueprint("admin", url_prefix="/admin")
