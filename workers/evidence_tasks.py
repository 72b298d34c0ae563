"""Evidence tasks: the log's hourly tree head, clean copies, and unfinished uploads' expiry.

Signing needs the worker's signing key; clean copies need the evidence key, which only the
evidence worker holds (queue `evidence`, `PROCESS_ROLE=evidence`). Every service here is
idempotent, so beat may run them as often as it likes and a retry is harmless. No message names
a file or a report: each task finds its work by state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from celery.schedules import crontab
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from incident_service.evidence.cleaning import make_clean_copies
from incident_service.evidence.log import publish_tree_head
from incident_service.evidence.uploads import purge_expired_uploads
from incident_service.models import db
from incident_service.pipeline.dispatch import (
    EVIDENCE_QUEUE,
    TASK_EVIDENCE_CLEAN,
    TASK_EVIDENCE_EXPIRE_UPLOADS,
    TASK_EVIDENCE_TREE_HEAD,
)

TRANSIENT = (OperationalError, InterfaceError, PoolTimeout)
_COMMON: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "ignore_result": True,
    "soft_time_limit": 540,
    "time_limit": 600,
}

EVIDENCE_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Hourly, off the hour; a missed run is simply done by the next one.
    "evidence-tree-head": {
        "task": TASK_EVIDENCE_TREE_HEAD,
        "schedule": crontab(minute=11),
        "options": {"expires": 50 * 60},
    },
    # Makes up for a lost message after an upload: copies of whatever has none yet.
    "evidence-clean-copies": {
        "task": TASK_EVIDENCE_CLEAN,
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60, "queue": EVIDENCE_QUEUE},
    },
    "evidence-expire-uploads": {
        "task": TASK_EVIDENCE_EXPIRE_UPLOADS,
        "schedule": crontab(minute=23),
        "options": {"expires": 50 * 60},
    },
}


@shared_task(name=TASK_EVIDENCE_TREE_HEAD, **_COMMON)  # type: ignore[untyped-decorator]
def tree_head() -> dict[str, int]:
    """Append and sign; the result holds the tree size only."""
    head = publish_tree_head()
    db.session.commit()
    return {"tree_size": head.tree_size if head is not None else 0}


@shared_task(name=TASK_EVIDENCE_CLEAN, **_COMMON)  # type: ignore[untyped-decorator]
def clean_copies() -> dict[str, int]:
    """Working copies without metadata for every file still without one (evidence worker)."""
    return make_clean_copies().as_dict()


@shared_task(name=TASK_EVIDENCE_EXPIRE_UPLOADS, **_COMMON)  # type: ignore[untyped-decorator]
def expire_uploads() -> dict[str, int]:
    """Delete unfinished uploads whose purge day has come, and what they stored."""
    return {"purged": purge_expired_uploads(today=dt.datetime.now(dt.UTC).date())}
