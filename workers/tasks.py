"""Thin pipeline, retention and session tasks: ids in, one service call, counts out.

Names are the stable contract in `incident_service.pipeline.dispatch`. Every task is safe to run
twice (the services are idempotent), which is what makes `acks_late` with
`reject_on_worker_lost` correct: a message is acknowledged only after its work committed, and
one whose worker died is delivered again. Database hiccups are retried with exponential backoff;
anything else fails the task loudly and is left to the operator and the periodic sweep.
Return values are logged by Celery, so they hold counts only, never an id.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from incident_service import audit
from incident_service.auth.sessions import delete_expired_sessions
from incident_service.pipeline import dispatch, retention, withdrawal
from incident_service.pipeline.flush import flush as flush_pool
from incident_service.pipeline.flush import flush_if_due
from incident_service.pipeline.sweep import sweep as sweep_pool

TRANSIENT = (OperationalError, InterfaceError, PoolTimeout)

_COMMON: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 5,  # 5 s, 10 s, 20 s, ... with jitter
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "ignore_result": True,
}
# A flush commits per chunk, so a task stopped by its limit loses at most one chunk of work,
# which the next check picks up.
_BATCH_LIMITS: dict[str, Any] = {"soft_time_limit": 540, "time_limit": 600}
_SMALL_LIMITS: dict[str, Any] = {"soft_time_limit": 50, "time_limit": 60}


@shared_task(name=dispatch.TASK_PIPELINE_NUDGE, **_COMMON, **_BATCH_LIMITS)  # type: ignore[untyped-decorator]
def nudge() -> dict[str, int]:
    """After each submission and every minute: flush the mixing pool if a batch is due."""
    return flush_if_due().as_dict()


@shared_task(name=dispatch.TASK_PIPELINE_FLUSH, **_COMMON, **_BATCH_LIMITS)  # type: ignore[untyped-decorator]
def flush() -> dict[str, int]:
    """Operator's request: anonymise everything waiting now."""
    return flush_pool(force=True).as_dict()


@shared_task(name=dispatch.TASK_PIPELINE_SWEEP, **_COMMON, **_BATCH_LIMITS)  # type: ignore[untyped-decorator]
def sweep() -> dict[str, int]:
    """Periodic catch-up for anything a lost message left behind."""
    return sweep_pool().as_dict()


@shared_task(name=dispatch.TASK_PIPELINE_WITHDRAW, **_COMMON, **_SMALL_LIMITS)  # type: ignore[untyped-decorator]
def withdraw(report_id: str) -> str:
    """A report was marked spam or duplicate, or its reporter withdrew consent."""
    return withdrawal.withdraw_statistics(report_id).value


@shared_task(name=dispatch.TASK_PIPELINE_RESTORE, **_COMMON, **_BATCH_LIMITS)  # type: ignore[untyped-decorator]
def restore(report_id: str) -> str:
    """A report was marked valid again (or consent given): queue it for a fresh record, and
    write a batch if one is now due."""
    outcome = withdrawal.restore_statistics(report_id)
    if outcome is withdrawal.WithdrawalOutcome.REQUEUED:
        flush_if_due()
    return outcome.value


@shared_task(name=dispatch.TASK_PIPELINE_RECONCILE, **_COMMON, **_BATCH_LIMITS)  # type: ignore[untyped-decorator]
def reconcile() -> dict[str, int]:
    """A reporter withdrew consent or asked for deletion: find what changed by state, bring
    the statistics in line, and write a batch if one is now due."""
    result = withdrawal.reconcile_statistics()
    flush_if_due()
    return {"withdrawn": result.withdrawn, "restored": result.restored}


@shared_task(name=dispatch.TASK_AUDIT_FOLD, **_COMMON, **_SMALL_LIMITS)  # type: ignore[untyped-decorator]
def fold_reporter_actions() -> int:
    """Hourly: reporter actions of days that have ended join the audit chain."""
    return audit.fold_reporter_actions()


@shared_task(name=dispatch.TASK_RETENTION_PURGE, **_COMMON, **_BATCH_LIMITS)  # type: ignore[untyped-decorator]
def purge() -> dict[str, int | str]:
    """Daily: delete closed reports past retention; statistics stay."""
    return retention.purge_expired_reports().as_dict()


@shared_task(name=dispatch.TASK_SESSIONS_PURGE, **_COMMON, **_SMALL_LIMITS)  # type: ignore[untyped-decorator]
def purge_sessions() -> dict[str, int]:
    """Every minute: delete staff sessions past their idle or absolute limit, with the keys
    sealed in them, rather than waiting for someone's next login to do it."""
    return {"deleted": delete_expired_sessions()}
