"""`/healthz`: is the service able to take reports right now."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from incident_service.models import db

blueprint = Blueprint("health", __name__)


def database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return False
    return True


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    checks: dict[str, Any] = {"database": database_ok()}
    status = 200 if all(value for value in checks.values() if isinstance(value, bool)) else 503
    return jsonify(checks), status
