from __future__ import annotations

from sanic import Blueprint

sessions_bp = Blueprint("sessions", url_prefix="/sessions")
