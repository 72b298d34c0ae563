"""The worker's log dates no reporter's act: no INFO line for the per-submission tasks (the nudge
sent after each report, the withdraw and restore a reporter's choice sends), while their
warnings and errors, and the lines of periodic tasks, are still written."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.app import trace
from flask import Flask

from incident_service.log_redaction import CELERY_TASK_LOGGERS, QuietTaskLines
from incident_service.pipeline import dispatch
from tests.conftest import build_app, require_redis
from tests.worker_process import (
    PrivateRedis,
    WorkerProcess,
    free_port,
    wait_for,
    worker_environment,
)


@pytest.fixture
def web_app(tmp_path: Path) -> Iterator[Flask]:
    """A broker of the test's own, so no other test's worker takes these messages."""
    require_redis()
    broker = PrivateRedis(free_port(), tmp_path).start()
    try:
        yield from build_app(tmp_path, "sqlite", CELERY_EAGER=False, REDIS_URL=broker.url)
    finally:
        broker.stop()


def _drained(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url)
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


@pytest.mark.integration
def test_does_a_real_worker_log_no_line_for_a_submissions_nudge(web_app, tmp_path):
    celery_app = web_app.extensions["celery"]
    with web_app.app_context():
        for _ in range(3):
            celery_app.send_task(dispatch.TASK_PIPELINE_NUDGE)
        celery_app.send_task(dispatch.TASK_PIPELINE_SWEEP)
    env = worker_environment(web_app, redis_url=web_app.config["REDIS_URL"])
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        swept = f"{dispatch.TASK_PIPELINE_SWEEP}["
        assert wait_for(lambda: "succeeded" in worker.log().split(swept)[-1], timeout=120)
        assert wait_for(lambda: _drained(web_app.config["REDIS_URL"]), timeout=60)
    finally:
        worker.stop()
    log = worker.log()
    assert f"{dispatch.TASK_PIPELINE_SWEEP}[" in log  # periodic work still shows
    # The banner lists the task's name once; a task line would carry its id in brackets.
    assert f"{dispatch.TASK_PIPELINE_NUDGE}[" not in log


def _celery_record(level: int, fmt: str, name: str) -> logging.LogRecord:
    context = {"name": name, "id": "5e1f", "runtime": 0.01, "return_value": "{}", "exc": "x"}
    return logging.LogRecord("celery.app.trace", level, __file__, 1, fmt, (context,), None)


def test_are_a_quiet_tasks_errors_still_logged_and_other_tasks_untouched():
    quiet = QuietTaskLines([dispatch.TASK_PIPELINE_NUDGE])
    nudge = dispatch.TASK_PIPELINE_NUDGE
    assert not quiet.filter(_celery_record(logging.INFO, trace.LOG_RECEIVED, nudge))
    assert not quiet.filter(_celery_record(logging.INFO, trace.LOG_SUCCESS, nudge))
    assert quiet.filter(_celery_record(logging.ERROR, trace.LOG_FAILURE, nudge))
    assert quiet.filter(
        _celery_record(logging.INFO, trace.LOG_SUCCESS, dispatch.TASK_PIPELINE_SWEEP)
    )
    assert set(CELERY_TASK_LOGGERS) == {"celery.worker.strategy", "celery.app.trace"}
