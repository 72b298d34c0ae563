"""Worker entry point: `celery -A workers.celery_app worker` (and `... beat`).

Builds the Flask app from the environment and exposes the Celery app bound to it. Two kinds of
worker run from it, each loading only its own keys and consuming only its own queue:

- `PROCESS_ROLE=worker` (statistics, signing, withdrawal keys): the default queue `celery`;
  beat runs with this role too (it only sends messages);
- `PROCESS_ROLE=evidence` (the evidence key): the queue `evidence`, where clean copies of
  evidence files are made.

A worker told to consume the other's queue refuses to start. Every task runs inside the Flask
app context.
"""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, celeryd_after_setup

from incident_service import create_app
from incident_service.extensions import DEFAULT_QUEUE, queue
from incident_service.log_redaction import configure_logging, quiet_task_lines
from incident_service.pipeline.dispatch import (
    EVIDENCE_QUEUE,
    TASK_PIPELINE_NUDGE,
    TASK_PIPELINE_RECONCILE,
    TASK_PIPELINE_RESTORE,
    TASK_PIPELINE_WITHDRAW,
)
from incident_service.settings import Config, UnsafeConfiguration
from workers.schedule import BEAT_SCHEDULE

# Tasks sent because a reporter did something (filed a report, withdrew consent): their
# "received" and "succeeded" lines at INFO would date each of those acts to the second in the
# worker's log. Their warnings and errors are still logged.
QUIET_TASKS = (
    TASK_PIPELINE_NUDGE,
    TASK_PIPELINE_RECONCILE,
    TASK_PIPELINE_WITHDRAW,
    TASK_PIPELINE_RESTORE,
)

try:
    _settings = Config.from_env()
    _settings.check_serving_role("worker", "evidence")
    flask_app = create_app(_settings)
except UnsafeConfiguration as exc:
    print(f"refusing to start: {exc}", file=sys.stderr)
    sys.exit(2)
celery: Celery = flask_app.extensions["celery"]
celery.conf.beat_schedule = {**celery.conf.beat_schedule, **BEAT_SCHEDULE}
ROLE = _settings.PROCESS_ROLE
# What a worker of this role consumes when started without -Q.
OWN_QUEUES = {"evidence": {EVIDENCE_QUEUE}, "worker": {DEFAULT_QUEUE}}.get(
    ROLE, {DEFAULT_QUEUE, EVIDENCE_QUEUE}
)
celery.conf.task_queues = [queue(name) for name in sorted(OWN_QUEUES)]
# Celery looks for `app` first; it must be the Celery app, not the Flask one.
app = celery


def _check_queues(sender: Any = None, instance: Any = None, **_: Any) -> None:
    """The evidence worker takes clean copies only; the statistics worker never takes them
    (it could not: it lacks the evidence key, and retries would pile up)."""
    consumed = set(instance.app.amqp.queues.consume_from or {})
    if ROLE in ("worker", "evidence") and not consumed <= OWN_QUEUES:
        print(
            f"refusing to start: PROCESS_ROLE={ROLE} consumes {sorted(OWN_QUEUES)} only, "
            f"not {sorted(consumed - OWN_QUEUES)}",
            file=sys.stderr,
        )
        sys.exit(2)


def _redact_worker_logs(**_: Any) -> None:
    """Celery installs its log handlers after create_app ran; put the redaction filter on
    them too, so no address or receipt-shaped number reaches a worker log, and keep the
    per-submission task lines out."""
    configure_logging()
    quiet_task_lines(QUIET_TASKS)


quiet_task_lines(QUIET_TASKS)
celeryd_after_setup.connect(_check_queues, weak=False)
after_setup_logger.connect(_redact_worker_logs, weak=False)
after_setup_task_logger.connect(_redact_worker_logs, weak=False)
