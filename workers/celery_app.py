"""Worker entry point: `celery -A workers.celery_app worker` (and `... beat`).

Builds the Flask app from the environment (PROCESS_ROLE=worker in production, so this process
loads the statistics, signing and withdrawal keys and refuses to start without them) and exposes
the Celery app bound to it. Every task runs inside the Flask app context.
"""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from incident_service import create_app
from incident_service.log_redaction import configure_logging, quiet_task_lines
from incident_service.pipeline.dispatch import (
    TASK_PIPELINE_NUDGE,
    TASK_PIPELINE_RESTORE,
    TASK_PIPELINE_WITHDRAW,
)
from incident_service.settings import Config, UnsafeConfiguration
from workers.schedule import BEAT_SCHEDULE

# Tasks sent because a reporter did something (filed a report, withdrew consent): their
# "received" and "succeeded" lines at INFO would date each of those acts to the second in the
# worker's log. Their warnings and errors are still logged.
QUIET_TASKS = (TASK_PIPELINE_NUDGE, TASK_PIPELINE_WITHDRAW, TASK_PIPELINE_RESTORE)

try:
    _settings = Config.from_env()
    _settings.check_serving_role("worker")
    flask_app = create_app(_settings)
except UnsafeConfiguration as exc:
    print(f"refusing to start: {exc}", file=sys.stderr)
    sys.exit(2)
celery: Celery = flask_app.extensions["celery"]
celery.conf.beat_schedule = {**celery.conf.beat_schedule, **BEAT_SCHEDULE}
# Celery looks for `app` first; it must be the Celery app, not the Flask one.
app = celery


def _redact_worker_logs(**_: Any) -> None:
    """Celery installs its log handlers after create_app ran; put the redaction filter on
    them too, so no address or receipt-shaped number reaches a worker log, and keep the
    per-submission task lines out."""
    configure_logging()
    quiet_task_lines(QUIET_TASKS)


quiet_task_lines(QUIET_TASKS)
after_setup_logger.connect(_redact_worker_logs, weak=False)
after_setup_task_logger.connect(_redact_worker_logs, weak=False)
