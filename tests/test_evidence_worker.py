"""The evidence worker as deployed: a real Celery worker process with `PROCESS_ROLE=evidence`.

A photo with GPS comes in through the API's tus endpoints on a web app whose tasks go through
Redis. The statistics worker (`PROCESS_ROLE=worker`) runs first and must leave it alone (it has
no evidence key and does not consume the `evidence` queue); the evidence worker then makes the
clean copy. Without Redis these tests are skipped with the reason; under CI=true they fail.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from incident_service.constants import EvidenceState
from incident_service.evidence.cleaning import open_removed_metadata
from incident_service.evidence.intake import WORKING, read_file
from incident_service.models import EvidenceFile, db
from tests import evidence_samples as samples
from tests.conftest import build_app, require_redis
from tests.evidence_helpers import team_private_key
from tests.test_evidence_uploads import TUS, _create, _file_report, _patch
from tests.worker_process import ROOT, WorkerProcess, wait_for, worker_environment

pytestmark = pytest.mark.integration

SETTLE_SECONDS = 120


@pytest.fixture
def web_app(tmp_path: Path, backend: str) -> Iterator[Flask]:
    import redis

    url = require_redis()
    redis.Redis.from_url(url).flushdb()
    yield from build_app(tmp_path, backend, CELERY_EAGER=False, REDIS_URL=url)


def _state(file_id: str) -> str:
    db.session.rollback()  # the worker commits from another process
    return db.session.get_one(EvidenceFile, file_id).state


def test_does_the_evidence_worker_process_make_the_clean_copy(web_app, tmp_path):
    client = web_app.test_client()
    receipt = _file_report(client)
    photo = samples.jpeg_with_gps()
    location = _create(client, receipt, len(photo)).headers["Location"]
    answer = _patch(client, location, 0, photo)
    assert answer.status_code == 204 and answer.headers["Tus-Resumable"] == TUS["Tus-Resumable"]
    with web_app.app_context():
        file_id = db.session.scalars(sa.select(EvidenceFile.id)).one()
        assert _state(file_id) == EvidenceState.STORED.value  # nothing ran in the web process
        redis_url = web_app.config["REDIS_URL"]
        statistics_env = worker_environment(web_app, redis_url=redis_url)
        statistics = WorkerProcess(statistics_env, tmp_path / "statistics.log").start()
        try:
            time.sleep(3)
            assert _state(file_id) == EvidenceState.STORED.value, statistics.log()[-2000:]
        finally:
            statistics.stop()
        evidence_env = worker_environment(web_app, redis_url=redis_url, PROCESS_ROLE="evidence")
        worker = WorkerProcess(evidence_env, tmp_path / "evidence.log").start()
        try:
            made = wait_for(
                lambda: _state(file_id) == EvidenceState.WORKING_COPY.value,
                timeout=SETTLE_SECONDS,
            )
            assert made, worker.log()[-3000:]
        finally:
            worker.stop()
        assert "evidence.clean_copies" in worker.log()
        assert file_id not in worker.log() and receipt not in worker.log()
        row = db.session.get_one(EvidenceFile, file_id)
        copy = b"".join(read_file(row, team_private_key=team_private_key(), copy=WORKING))
        assert b"SM-A515F" not in copy and b"R58N12ABCDE" not in copy
        removed = open_removed_metadata(row, team_private_key=team_private_key())
        assert removed is not None
        assert removed.location == pytest.approx(samples.GPS_LOCATION, abs=1e-3)


def test_does_the_evidence_worker_refuse_the_statistics_queue(web_app, tmp_path):
    env = worker_environment(
        web_app, redis_url=web_app.config["REDIS_URL"], PROCESS_ROLE="evidence"
    )
    argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", "celery"]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "PROCESS_ROLE=evidence consumes ['evidence'] only" in result.stderr
