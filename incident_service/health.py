"""`/healthz`: is the service able to take reports right now, and is the pipeline keeping up.

JSON fields: `database` for everyone; for monitoring holding `HEALTHZ_TOKEN` also `broker`
and `worker` (true/false; null in the embedded eager mode, where tasks run in-process),
`awaiting_anonymisation` (consenting reports without a statistical record yet),
`awaiting_withdrawal` (reports that no longer count whose record the sweep has yet to remove),
`anonymisation_failed`, `awaiting_clean_copy` (evidence files the evidence worker has yet to
copy) and `mode`. The HTTP status follows the database only: reports are
committed before anything is queued, so a missing broker or worker delays statistics but never
intake, and a load balancer must keep routing reporters here.
"""

from __future__ import annotations

import hmac
from typing import Any

from celery import Celery
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select, text

from incident_service.constants import EvidenceState
from incident_service.extensions import limiter
from incident_service.models import EvidenceFile, db

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
    from incident_service.pipeline.status import status

    checks: dict[str, Any] = {"database": database_ok()}
    if eager_mode():
        # Tasks run in-process; a broker that is configured all the same is still reported.
        configured = bool(current_app.config.get("REDIS_CONFIGURED"))
        checks.update(mode="eager", broker=broker_ok() if configured else None, worker=None)
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
            checks["awaiting_withdrawal"] = pipeline.awaiting_withdrawal
            checks["anonymisation_failed"] = pipeline.failed
            # The evidence worker answers no ping of its own (any worker answers `worker`): a
            # count that keeps growing says it is stopped or behind.
            checks["awaiting_clean_copy"] = awaiting_clean_copy()
    return checks


def awaiting_clean_copy() -> int:
    """Evidence files stored without a working copy yet (the evidence worker's backlog)."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(EvidenceFile)
            .where(EvidenceFile.state == EvidenceState.STORED.value)
        )
        or 0
    )


def detail_allowed() -> bool:
    """Pipeline details only for monitoring that holds `HEALTHZ_TOKEN`.

    The awaiting count rises with each submission, so a stranger polling it would learn when
    reports arrive; and the worker ping holds a web worker for up to a second, which a stranger
    could use to tie up the reporters' server. Without a token configured, details are shown
    on a developer's machine only, never in production.
    """
    token = str(current_app.config.get("HEALTHZ_TOKEN") or "")
    if not token:
        return not current_app.extensions["incident_config"].is_production
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@blueprint.get("/healthz")
@limiter.limit("60 per minute")
def healthz() -> ResponseReturnValue:
    checks = pipeline_checks() if detail_allowed() else {"database": database_ok()}
    return jsonify(checks), 200 if checks["database"] else 503
