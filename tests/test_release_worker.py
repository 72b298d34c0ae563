"""Release generation in a real worker process, through the real Redis: one release, one draw.

Without Redis these tests are skipped with the reason; under CI=true they fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, current_app

from incident_service.models import PrivacyLedgerEntry, Release, db
from incident_service.pipeline import dispatch
from tests.conftest import build_app, require_redis
from tests.statistics_factory import insert_records
from tests.worker_process import WorkerProcess, wait_for, worker_environment

pytestmark = pytest.mark.integration
SETTLE_SECONDS = 180  # a shared two-core machine may be busy with other test runs


@pytest.fixture
def web_app(tmp_path: Path, backend: str) -> Iterator[Flask]:
    """The web side as deployed: tasks go through Redis, never run in-process."""
    import redis

    url = require_redis()
    redis.Redis.from_url(url).flushdb()
    yield from build_app(tmp_path, backend, CELERY_EAGER=False, REDIS_URL=url)


def _count(model: type) -> int:
    db.session.rollback()  # a fresh snapshot: the worker commits from another process
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_is_a_redelivered_dp_generation_one_release_with_one_ledger_entry(web_app, tmp_path):
    """The same generation message delivered twice (a lost acknowledgement) and a second
    request for the same release: does the worker store one noisy release and spend the
    budget once?"""
    with web_app.app_context():
        insert_records(60, months=["2024-11"], seed=61)
        celery_app = current_app.extensions["celery"]
        task_id = str(uuid.uuid4())
        for identifier in (task_id, task_id, None):
            celery_app.send_task(
                dispatch.TASK_RELEASE_GENERATE, args=["2024-11", "dp"], task_id=identifier
            )
        env = worker_environment(web_app, redis_url=web_app.config["REDIS_URL"])
        worker = WorkerProcess(env, tmp_path / "worker.log", concurrency=2).start()
        try:
            done = "incident.releases.generate["
            assert wait_for(
                lambda: worker.log().count(done) >= 3 and worker.log().count("succeeded") >= 3,
                timeout=SETTLE_SECONDS,
            ), worker.log()[-3000:]
            assert _count(Release) == 1
            assert _count(PrivacyLedgerEntry) == 1
            release = db.session.scalars(sa.select(Release)).one()
            assert release.method == "dp" and len(release.files) == 9
        finally:
            worker.stop()
