"""Sending tasks after commit, by name, without ever making a reporter wait on the broker.

The web never imports `workers/`; it names tasks. A failed publish is logged (without content)
and left to the periodic sweep, because the report is already safely committed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Celery
from flask import current_app

log = logging.getLogger(__name__)

# Stable task names: the contract between the web process and the workers.
TASK_PIPELINE_NUDGE = "incident.pipeline.nudge"
TASK_PIPELINE_FLUSH = "incident.pipeline.flush"
TASK_PIPELINE_SWEEP = "incident.pipeline.sweep"
TASK_PIPELINE_WITHDRAW = "incident.pipeline.withdraw"
TASK_PIPELINE_RESTORE = "incident.pipeline.restore"
TASK_RELEASE_GENERATE = "incident.releases.generate"
TASK_RETENTION_PURGE = "incident.retention.purge"

# At most one nudge per interval per process: the beat schedule and the sweep make sure no
# report waits forever, so each submission need not pay for a broker round trip.
NUDGE_INTERVAL_SECONDS = 1.0
_last_nudge = 0.0
_nudge_lock = threading.Lock()


def _celery() -> Celery:
    celery_app: Celery = current_app.extensions["celery"]
    return celery_app


def enqueue(task_name: str, *args: Any) -> bool:
    """Send a task (or run it in-process in eager mode). True if it was handed over."""
    celery_app = _celery()
    try:
        if celery_app.conf.task_always_eager:
            celery_app.loader.import_default_modules()
            celery_app.tasks[task_name].apply(args=args, throw=True)
        else:
            celery_app.send_task(task_name, args=list(args))
    except Exception as exc:
        log.warning("task %s not sent (%s); the sweep will catch up", task_name, type(exc).__name__)
        return False
    return True


def nudge_pipeline() -> bool:
    """Tell the anonymiser that a report is waiting, unless it was told a moment ago."""
    global _last_nudge
    now = time.monotonic()
    eager = bool(_celery().conf.task_always_eager)
    with _nudge_lock:
        if not eager and now - _last_nudge < NUDGE_INTERVAL_SECONDS:
            return False
        _last_nudge = now
    return enqueue(TASK_PIPELINE_NUDGE)
