"""Evidence log task: append the finished days' commitments and sign a tree head, hourly.

Signing needs the worker's signing key. The service is idempotent (a run that finds nothing
new signs nothing), so beat may run it as often as it likes and a retry is harmless.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.schedules import crontab
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from incident_service.evidence.log import publish_tree_head
from incident_service.models import db
from incident_service.pipeline.dispatch import TASK_EVIDENCE_TREE_HEAD

TRANSIENT = (OperationalError, InterfaceError, PoolTimeout)

# Hourly, off the hour; a missed run is simply done by the next one.
EVIDENCE_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "evidence-tree-head": {
        "task": TASK_EVIDENCE_TREE_HEAD,
        "schedule": crontab(minute=11),
        "options": {"expires": 50 * 60},
    },
}


@shared_task(  # type: ignore[untyped-decorator]
    name=TASK_EVIDENCE_TREE_HEAD,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    ignore_result=True,
    soft_time_limit=540,
    time_limit=600,
)
def tree_head() -> dict[str, int]:
    """Append and sign; the result holds the tree size only."""
    head = publish_tree_head()
    db.session.commit()
    return {"tree_size": head.tree_size if head is not None else 0}
