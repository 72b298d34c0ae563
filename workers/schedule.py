"""The beat schedule: what runs periodically even when no one submits anything.

Each entry expires shortly before its next run, so a worker that was down does not come back to
a pile of identical checks; the next one does the same work.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from incident_service.pipeline.dispatch import (
    TASK_AUDIT_FOLD,
    TASK_PIPELINE_NUDGE,
    TASK_PIPELINE_SWEEP,
    TASK_RETENTION_PURGE,
    TASK_SESSIONS_PURGE,
)
from workers.evidence_tasks import EVIDENCE_BEAT_SCHEDULE
from workers.release_tasks import RELEASE_BEAT_SCHEDULE

FLUSH_CHECK_SECONDS = 60.0
SWEEP_SECONDS = 15 * 60.0
# An idle-expired session row holds the team key sealed under a cookie's key: it must not
# outlive its expiry by more than a minute (docs/decisions.md).
SESSION_PURGE_SECONDS = 60.0

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # A batch also becomes due by age (ANONYMISE_MAX_WAIT) with no submission to nudge it.
    "pipeline-flush-check": {
        "task": TASK_PIPELINE_NUDGE,
        "schedule": FLUSH_CHECK_SECONDS,
        "options": {"expires": FLUSH_CHECK_SECONDS - 5},
    },
    # Catches reports whose nudge was lost (Redis down at submission, a dropped message).
    "pipeline-sweep": {
        "task": TASK_PIPELINE_SWEEP,
        "schedule": SWEEP_SECONDS,
        "options": {"expires": SWEEP_SECONDS - 30},
    },
    # Reporter actions of days that have ended join the audit chain (see incident_service.audit).
    "audit-fold": {
        "task": TASK_AUDIT_FOLD,
        "schedule": crontab(minute=7),
        "options": {"expires": 3000},
    },
    # Expired staff sessions, and the keys sealed in them, go within a minute.
    "sessions-purge": {
        "task": TASK_SESSIONS_PURGE,
        "schedule": SESSION_PURGE_SECONDS,
        "options": {"expires": SESSION_PURGE_SECONDS - 5},
    },
    # Daily, at a quiet hour (UTC).
    "retention-purge": {
        "task": TASK_RETENTION_PURGE,
        "schedule": crontab(hour=3, minute=17),
        "options": {"expires": 6 * 3600},
    },
    # Nightly: the draft release of the month that just ended (idempotent).
    **RELEASE_BEAT_SCHEDULE,
    # Hourly: the evidence log's commitments of finished days, and a signed tree head.
    **EVIDENCE_BEAT_SCHEDULE,
}
