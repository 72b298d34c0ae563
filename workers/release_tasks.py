"""Release tasks: the worker generates and signs releases; beat drafts each finished month.

Generation needs the signing key, which only the worker holds, and draws the noise of a
differentially private release once: a retried or repeated task finds the stored release
(same period, method and parameters) and returns it, never drawing again. Return values are
logged by Celery and kept for a day in the result store, where the summaries page reads how a
draft it asked for is getting on, so they hold the release id and status, or the name of the
refusal, only.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from celery.schedules import crontab
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from incident_service.pipeline import dispatch
from incident_service.releases import lifecycle as releases
from incident_service.releases.disclosure import AuditFailed
from incident_service.releases.errors import ReleaseError
from incident_service.releases.periods import PeriodError, last_finished_month
from incident_service.releases.privacy import PrivacyBudgetExhausted

log = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, PoolTimeout)
# Refusals a retry cannot fix: they are logged (their messages hold no report content).
REFUSALS = (PeriodError, ReleaseError, PrivacyBudgetExhausted, AuditFailed)

# Added to the beat schedule by `workers.schedule`: the draft of last month, every night. The
# task is idempotent, so running it daily costs one lookup once the draft exists.
RELEASE_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "release-draft-last-month": {
        "task": dispatch.TASK_RELEASE_GENERATE,
        "schedule": crontab(hour=4, minute=7),
        "options": {"expires": 6 * 3600},
    },
}


@shared_task(  # type: ignore[untyped-decorator]
    name=dispatch.TASK_RELEASE_GENERATE,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    ignore_result=False,
    track_started=True,
    soft_time_limit=540,
    time_limit=600,
)
def generate(period: str | None = None, method: str = "suppression") -> dict[str, Any]:
    """Generate the release of `period` (default: last finished month) as a draft."""
    label = period or last_finished_month(dt.datetime.now(dt.UTC).date()).label
    try:
        release = releases.generate_release(period=label, method=method)
    except REFUSALS as exc:
        log.warning("release %s (%s) not generated: %s", label, method, exc)
        return {"period": label, "release": None, "refused": type(exc).__name__}
    return {"period": label, "release": release.id, "status": release.status}
