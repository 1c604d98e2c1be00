from __future__ import annotations

from sanic import Blueprint

content_bp = Blueprint("content")
