"""Sending tasks after commit, by name, without ever making a reporter wait on the broker.

The web never imports `workers/`; it names tasks. A failed publish is logged (without content),
with what will make up for it: the work itself is already committed in the database, and for
every pipeline task a periodic job finds it again (the sweep re-queues waiting reports and
reconciles withdrawn and restored ones). A release request has no such job beyond last month's
nightly draft, so its caller must tell the person to ask again.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from celery import Celery
from flask import current_app

from incident_service.extensions import EVIDENCE_QUEUE as EXTENSION_EVIDENCE_QUEUE

log = logging.getLogger(__name__)

# Stable task names: the contract between the web process and the workers.
TASK_PIPELINE_NUDGE = "incident.pipeline.nudge"
TASK_PIPELINE_FLUSH = "incident.pipeline.flush"
TASK_PIPELINE_SWEEP = "incident.pipeline.sweep"
TASK_PIPELINE_WITHDRAW = "incident.pipeline.withdraw"
TASK_PIPELINE_RESTORE = "incident.pipeline.restore"
# Carries no report id: after a reporter's own action (consent withdrawn, deletion asked), the
# worker finds what changed by state, so that no message in Redis names the report beside the
# moment it was sent.
TASK_PIPELINE_RECONCILE = "incident.pipeline.reconcile"
TASK_AUDIT_FOLD = "incident.audit.fold"
TASK_RELEASE_GENERATE = "incident.releases.generate"
TASK_RETENTION_PURGE = "incident.retention.purge"
TASK_EVIDENCE_TREE_HEAD = "incident.evidence.tree_head"
TASK_SESSIONS_PURGE = "incident.sessions.purge"
# Runs on the evidence worker only (queue `evidence`). Carries no id: it makes the clean copy of
# every file still without one, so no message in Redis names a file beside the moment it came.
TASK_EVIDENCE_CLEAN = "incident.evidence.clean_copies"
TASK_EVIDENCE_EXPIRE_UPLOADS = "incident.evidence.expire_uploads"
EVIDENCE_QUEUE = EXTENSION_EVIDENCE_QUEUE

# What does the work of a task whose message never reached Redis, for the log line. Every
# task name above has an entry, and each says only what is true (tested).
RECOVERY = {
    TASK_PIPELINE_NUDGE: "the scheduled flush check and the sweep will catch up",
    TASK_PIPELINE_FLUSH: "a batch is still written once due; send it again to force one",
    TASK_PIPELINE_SWEEP: "the next scheduled sweep will run",
    TASK_PIPELINE_WITHDRAW: "the scheduled sweep will withdraw the record",
    TASK_PIPELINE_RESTORE: "the scheduled sweep will queue the report again",
    TASK_PIPELINE_RECONCILE: "the scheduled sweep will bring the statistics in line",
    TASK_AUDIT_FOLD: "the next hourly fold will run",
    TASK_RELEASE_GENERATE: "nothing retries it except last month's nightly draft: ask again",
    TASK_RETENTION_PURGE: "the next daily purge will run",
    TASK_EVIDENCE_TREE_HEAD: "the next hourly run appends and signs everything due",
    TASK_SESSIONS_PURGE: "the next minute's purge will run; expired sessions never open anyway",
    TASK_EVIDENCE_CLEAN: "the evidence worker's scheduled sweep makes the copy",
    TASK_EVIDENCE_EXPIRE_UPLOADS: "the next hourly run deletes what has expired",
}
NO_RECOVERY = "nothing retries it: send it again"
# Tasks that only a worker of another role may run, by the queue that worker consumes.
QUEUES = {TASK_EVIDENCE_CLEAN: EVIDENCE_QUEUE}

# At most one nudge per interval per process: the beat schedule and the sweep make sure no
# report waits forever, so each submission need not pay for a broker round trip.
NUDGE_INTERVAL_SECONDS = 1.0
_last_nudge = 0.0
_nudge_lock = threading.Lock()


def _celery() -> Celery:
    celery_app: Celery = current_app.extensions["celery"]
    return celery_app


@dataclass(frozen=True)
class Handover:
    """A task handed over: sent to the broker under `task_id`, or run in this process (eager
    mode), in which case `result` is what it returned."""

    task_id: str
    ran_here: bool
    result: Any = None


class TaskState(enum.StrEnum):
    """Where a tracked task stands, as the worker last recorded it in the result store."""

    WAITING = "waiting"  # sent, not started (or unknown to the store: long expired)
    RUNNING = "running"
    RETRYING = "retrying"  # a transient failure (database, broker); the worker tries again
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the result store cannot be read


@dataclass(frozen=True)
class TaskProgress:
    state: TaskState
    result: Any = None  # what the task returned, once DONE


def enqueue(task_name: str, *args: Any) -> bool:
    """Send a task (or run it in-process in eager mode). True if it was handed over."""
    return _hand_over(task_name, args, tracked=False) is not None


def enqueue_tracked(task_name: str, *args: Any) -> Handover | None:
    """Like `enqueue`, but the worker records the task's state and result (for a day) so that
    the page that asked can say where it stands (`task_progress`). None if not handed over."""
    return _hand_over(task_name, args, tracked=True)


def _hand_over(task_name: str, args: tuple[Any, ...], *, tracked: bool) -> Handover | None:
    celery_app = _celery()
    eager = bool(celery_app.conf.task_always_eager)
    try:
        if eager:
            celery_app.loader.import_default_modules()
            outcome = celery_app.tasks[task_name].apply(args=args, throw=True)
            return Handover(task_id=str(outcome.id), ran_here=True, result=outcome.result)
        # An untracked task must say so in its message: otherwise the worker would store its
        # result and this process would subscribe to it.
        sent = celery_app.send_task(
            task_name, args=list(args), queue=QUEUES.get(task_name), ignore_result=not tracked
        )
        return Handover(task_id=str(sent.id), ran_here=False)
    except Exception as exc:
        if eager:
            # The embedded mode has no beat: nothing scheduled will run it again.
            log.warning(
                "task %s failed in this process (%s); run it again by hand",
                task_name,
                type(exc).__name__,
            )
        else:
            log.warning(
                "task %s not sent (%s); %s",
                task_name,
                type(exc).__name__,
                RECOVERY.get(task_name, NO_RECOVERY),
            )
        return None


_STATES = {
    "PENDING": TaskState.WAITING,
    "RECEIVED": TaskState.WAITING,
    "STARTED": TaskState.RUNNING,
    "RETRY": TaskState.RETRYING,
    "SUCCESS": TaskState.DONE,
    "FAILURE": TaskState.FAILED,
    "REVOKED": TaskState.FAILED,
}


def task_progress(task_id: str) -> TaskProgress:
    """The state of a task sent with `enqueue_tracked`, from the result store."""
    celery_app = _celery()
    if celery_app.conf.task_always_eager:
        # Tasks run in the request that asked for them and nothing is stored: an id asked
        # about later comes from an old link, and its state is not known.
        return TaskProgress(TaskState.UNKNOWN)
    try:
        outcome = celery_app.AsyncResult(task_id)
        state = _STATES.get(str(outcome.state), TaskState.UNKNOWN)
        result = outcome.result if state is TaskState.DONE else None
    except Exception as exc:
        log.warning("the state of task %s cannot be read (%s)", task_id, type(exc).__name__)
        return TaskProgress(TaskState.UNKNOWN)
    return TaskProgress(state, result)


def statistics_changed() -> bool:
    """After a reporter's own action: ask the worker to bring the statistics in line with every
    report's consent and status, without naming the report."""
    return enqueue(TASK_PIPELINE_RECONCILE)


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
