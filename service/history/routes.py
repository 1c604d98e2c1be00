from __future__ import annotations

from sanic import Blueprint

history_bp = Blueprint("history", url_prefix="/history")
