"""`/healthz`: is the service able to take reports right now, and is the pipeline keeping up.

JSON fields: `database`, `broker` and `worker` (true/false; null in the embedded eager mode,
where tasks run in-process and neither is used), `awaiting_anonymisation` (consenting reports
without a statistical record yet), `anonymisation_failed`, `mode`. The HTTP status follows the
database only: reports are committed before anything is queued, so a missing broker or worker
delays statistics but never intake, and a load balancer must keep routing reporters here.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from incident_service.models import db

blueprint = Blueprint("health", __name__)

BROKER_TIMEOUT_SECONDS = 1.0
WORKER_PING_TIMEOUT_SECONDS = 1.0


def database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return False
    return True


def _celery() -> Celery:
    celery_app: Celery = current_app.extensions["celery"]
    return celery_app


def eager_mode() -> bool:
    return bool(_celery().conf.task_always_eager)


def broker_ok() -> bool:
    """Can this process reach Redis (one PING, short timeouts)?"""
    import redis

    try:
        client = redis.Redis.from_url(
            current_app.config["REDIS_URL"],
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def worker_ok(timeout: float = WORKER_PING_TIMEOUT_SECONDS) -> bool:
    """Does at least one Celery worker answer a control ping within `timeout` seconds?"""
    try:
        replies = _celery().control.ping(timeout=timeout, limit=1)
    except Exception:
        return False
    return bool(replies)


def pipeline_checks() -> dict[str, Any]:
    """The checks /healthz and `incident-service pipeline status` share."""
    from incident_service.services.pipeline import status

    checks: dict[str, Any] = {"database": database_ok()}
    if eager_mode():
        checks.update(mode="eager", broker=None, worker=None)
    else:
        broker = broker_ok()
        checks.update(mode="worker", broker=broker, worker=worker_ok() if broker else False)
    if checks["database"]:
        try:
            pipeline = status()
        except Exception:
            db.session.rollback()
            checks["database"] = False
        else:
            checks["awaiting_anonymisation"] = pipeline.awaiting_anonymisation
            checks["anonymisation_failed"] = pipeline.failed
    return checks


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    checks = pipeline_checks()
    return jsonify(checks), 200 if checks["database"] else 503
