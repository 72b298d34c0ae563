"""What the faster release path must not change: the figures a transaction sees, and every
PDF, even when its child process fails."""

from __future__ import annotations

import os

import sqlalchemy as sa

from incident_service.models import StatisticalAct, StatisticalRecord, db
from incident_service.releases.counts import count_records
from incident_service.releases.documents import pdf
from tests.release_helpers import Q4
from tests.statistics_factory import insert_records


def test_does_a_release_count_what_its_own_transaction_changed(app_ctx):
    """Counting runs on other connections only when they would see exactly what this
    transaction sees: records withdrawn in this transaction and not yet committed must be gone
    from every figure (a parallel connection would still count them)."""
    insert_records(30, months=Q4, seed=41)
    before = count_records(Q4)
    assert before.total == 30
    doomed = list(db.session.scalars(sa.select(StatisticalRecord.id).limit(7)))
    db.session.execute(sa.delete(StatisticalAct).where(StatisticalAct.record_id.in_(doomed)))
    db.session.execute(sa.delete(StatisticalRecord).where(StatisticalRecord.id.in_(doomed)))
    after = count_records(Q4)  # not committed
    assert after.total == 23
    assert sum(after.single["sex"].values()) == 23
    assert sum(after.acts.codes.values()) < sum(before.acts.codes.values())
    assert after.acts.none == after.total - _with_acts()
    db.session.rollback()
    assert count_records(Q4) == before


def _with_acts() -> int:
    return int(
        db.session.scalar(sa.select(sa.func.count(sa.distinct(StatisticalAct.record_id)))) or 0
    )


def test_do_forked_jobs_return_every_result_in_order(monkeypatch):
    monkeypatch.setattr(pdf, "_can_fork", lambda: True)  # the children's path, here too
    jobs = [lambda n=n: f"document {n}".encode() * 50_000 for n in range(3)]  # 0.5 MB each
    assert pdf.ForkedJobs(jobs).results() == [job() for job in jobs]


def test_is_a_document_laid_out_here_when_its_child_process_fails(monkeypatch):
    """A child that dies (out of memory, killed) must not cost the release a file: the parent
    lays the document out itself."""
    monkeypatch.setattr(pdf, "_can_fork", lambda: True)
    parent = os.getpid()

    def fails_in_a_child() -> bytes:
        if os.getpid() != parent:
            os._exit(3)
        return b"laid out by the parent"

    assert pdf.ForkedJobs([fails_in_a_child, lambda: b"ok"]).results() == [
        b"laid out by the parent",
        b"ok",
    ]
