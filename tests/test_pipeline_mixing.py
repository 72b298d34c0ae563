"""The mixing pool: batches, shuffling, exactly one record per report, loud failures."""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from incident_service.constants import StatisticsState
from incident_service.models import MixingPoolEntry, Report, StatisticalRecord, db, today
from incident_service.pipeline import flush as flushing
from incident_service.pipeline.anonymise import withdrawal_tag
from incident_service.pipeline.flush import (
    FlushResult,
    StatisticalSectionsUnusable,
    flush,
    flush_if_due,
)
from incident_service.pipeline.pool import flush_due
from incident_service.pipeline.status import status
from incident_service.pipeline.sweep import sweep
from tests.conftest import build_app
from tests.factories import submit

BATCH = 5


@pytest.fixture
def batch_app(tmp_path: Path, backend: str) -> Iterator[Flask]:
    """An app whose pool flushes at five waiting reports (tests default to one)."""
    yield from build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=BATCH)


def _count(model: type) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def _states() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Report.id, Report.statistics_state)).all())


def _tags() -> set[bytes]:
    return set(db.session.scalars(sa.select(StatisticalRecord.withdrawal_tag)))


def test_does_the_pool_wait_until_a_whole_batch_is_there(batch_app):
    """Four reports are not anonymised one by one; the fifth releases all five at once."""
    with batch_app.app_context():
        ids = [submit().report_id for _ in range(BATCH - 1)]
        assert _count(StatisticalRecord) == 0
        assert set(_states().values()) == {StatisticsState.WAITING.value}
        assert _count(MixingPoolEntry) == BATCH - 1
        ids.append(submit().report_id)
        assert _count(StatisticalRecord) == BATCH
        assert _count(MixingPoolEntry) == 0
        assert set(_states().values()) == {StatisticsState.RECORDED.value}
        assert _tags() == {withdrawal_tag(report_id) for report_id in ids}


@pytest.fixture
def overdue_app(tmp_path: Path, backend: str) -> Iterator[Flask]:
    """Batches of ten, or of three once the oldest report is overdue."""
    yield from build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=10, ANONYMISE_MIN_OVERDUE_BATCH=3)


def _age_pool(app: Flask) -> None:
    """As if the reports were queued yesterday: the pool keeps the day, not the time, so the
    default wait (6 h) rounds up to one whole day."""
    assert app.config["ANONYMISE_MAX_WAIT"] <= 24 * 3600
    yesterday = today() - dt.timedelta(days=1)
    db.session.execute(sa.update(MixingPoolEntry).values(queued_on=yesterday))
    db.session.commit()


def test_does_a_small_pool_flush_once_its_oldest_report_waited_long_enough(overdue_app):
    with overdue_app.app_context():
        for _ in range(3):
            submit()
        assert flush_if_due().recorded == 0
        _age_pool(overdue_app)
        assert flush_due()
        assert flush_if_due().recorded == 3
        assert _count(MixingPoolEntry) == 0


def test_does_an_overdue_report_wait_for_company_rather_than_be_written_alone(overdue_app):
    """Two overdue reports are fewer than ANONYMISE_MIN_OVERDUE_BATCH: a batch of one or two
    records would be tied to its reports by time alone, so they keep waiting until a third
    arrives. Only the operator's `pipeline flush` writes them at once."""
    with overdue_app.app_context():
        first, second = submit().report_id, submit().report_id
        _age_pool(overdue_app)
        assert not flush_due()
        assert flush_if_due().recorded == 0
        assert sweep().flush is None
        assert _count(StatisticalRecord) == 0
        assert set(_states().values()) == {StatisticsState.WAITING.value}
        third = submit().report_id  # intake's nudge: now three, the oldest overdue
        assert _tags() == {withdrawal_tag(report_id) for report_id in (first, second, third)}
        submit()
        _age_pool(overdue_app)
        result = overdue_app.test_cli_runner().invoke(args=["pipeline", "flush"])
        assert result.exit_code == 0, result.output
        assert "recorded 1 in 1 batch(es)" in result.output
        assert "fewer than 3 records (ANONYMISE_MIN_OVERDUE_BATCH)" in result.output
        assert _count(StatisticalRecord) == 4


def test_are_reports_that_no_longer_count_not_taken_for_company(overdue_app):
    """Three overdue reports wait, but one was withdrawn meanwhile: two records would be too
    few, so the two stay in the pool and only the withdrawn one is settled."""
    with overdue_app.app_context():
        ids = [submit().report_id for _ in range(3)]
        db.session.get_one(Report, ids[0]).consent_statistics = False
        db.session.commit()
        _age_pool(overdue_app)
        result = flush_if_due()
        assert (result.recorded, result.held_back, result.skipped) == (0, 2, 1)
        assert _count(StatisticalRecord) == 0
        assert _count(MixingPoolEntry) == 2
        assert _states()[ids[0]] == StatisticsState.WITHDRAWN.value
        assert not flush_due()


def test_does_a_forced_flush_write_whatever_waits(batch_app):
    with batch_app.app_context():
        submit()
        result = flush(force=True)
        assert (result.recorded, result.batches) == (1, 1)
        assert _count(StatisticalRecord) == 1


def test_is_a_report_without_consent_never_counted(app):
    with app.app_context():
        report_id = submit(consent={"statistics": False}).report_id
        flush(force=True)
        sweep()
        assert _count(StatisticalRecord) == 0
        assert _count(MixingPoolEntry) == 0
        assert _states()[report_id] == StatisticsState.NOT_CONSENTED.value


def test_is_consent_read_again_when_the_batch_is_written(batch_app):
    """A reporter who withdrew consent while the report waited is not counted."""
    with batch_app.app_context():
        withdrawn = submit().report_id
        report = db.session.get(Report, withdrawn)
        report.consent_statistics = False
        db.session.commit()
        spam = submit().report_id
        db.session.get(Report, spam).status = "spam"
        db.session.commit()
        kept = [submit().report_id for _ in range(BATCH - 3)]
        assert _count(MixingPoolEntry) == BATCH - 1
        result = flush(force=True)
        assert (result.recorded, result.skipped) == (BATCH - 3, 2)
        assert _count(MixingPoolEntry) == 0
        assert _tags() == {withdrawal_tag(report_id) for report_id in kept}
        assert _states()[withdrawn] == StatisticsState.WITHDRAWN.value
        assert _states()[spam] == StatisticsState.WITHDRAWN.value


def test_does_flushing_again_never_write_a_second_record(app):
    """A re-delivered or repeated task, even with the report queued again, adds nothing."""
    with app.app_context():
        report_id = submit().report_id
        assert _count(StatisticalRecord) == 1
        for _ in range(3):
            assert flush(force=True).recorded == 0
            sweep()
        # As if a crash left the pool entry behind after the record was committed.
        db.session.add(MixingPoolEntry(report_id=report_id))
        db.session.commit()
        result = flush(force=True)
        assert (result.recorded, result.already_recorded) == (0, 1)
        assert _count(StatisticalRecord) == 1
        assert _count(MixingPoolEntry) == 0


def _corrupt_section(report_id: str) -> None:
    report = db.session.get(Report, report_id)
    sealed = bytearray(report.statistical_section)
    sealed[-5] ^= 0x40
    report.statistical_section = bytes(sealed)
    db.session.commit()


def test_is_an_unreadable_section_flagged_while_the_rest_of_the_batch_is_recorded(
    batch_app, caplog
):
    with batch_app.app_context():
        broken = submit().report_id
        _corrupt_section(broken)
        others = [submit().report_id for _ in range(BATCH - 2)]
        with caplog.at_level(logging.INFO), pytest.raises(StatisticalSectionsUnusable):
            flush(force=True)
        report = db.session.get(Report, broken)
        assert report.statistics_state == StatisticsState.FAILED.value
        assert report.statistics_error == "statistical section could not be decrypted"
        assert _tags() == {withdrawal_tag(report_id) for report_id in others}
        assert _count(MixingPoolEntry) == 0
        assert status().failed == 1
        # The log says what happened without naming the report.
        assert "marked failed" in caplog.text
        assert broken not in caplog.text
        for report_id in others:
            assert report_id not in caplog.text


def test_does_the_sweep_retry_failed_reports_only_when_asked(batch_app):
    """After an operator fixed a key, `sweep --retry-failed` queues failed reports again."""
    with batch_app.app_context():
        broken = submit().report_id
        _corrupt_section(broken)
        with pytest.raises(StatisticalSectionsUnusable):
            flush(force=True)
        assert sweep().retried_failed == 0
        assert _states()[broken] == StatisticsState.FAILED.value
        assert _count(MixingPoolEntry) == 0
        assert sweep(retry_failed=True).retried_failed == 1
        assert _states()[broken] == StatisticsState.WAITING.value
        assert _count(MixingPoolEntry) == 1
        with pytest.raises(StatisticalSectionsUnusable):
            flush(force=True)
        assert _states()[broken] == StatisticsState.FAILED.value
        assert _count(StatisticalRecord) == 0


def test_does_the_sweep_requeue_a_waiting_report_missing_from_the_pool(batch_app):
    """A report left `waiting` without a pool entry (a lost message, a crash) is caught."""
    with batch_app.app_context():
        ids = [submit().report_id for _ in range(BATCH - 1)]
        db.session.execute(sa.delete(MixingPoolEntry))
        db.session.commit()
        result = sweep()
        assert result.requeued == BATCH - 1 and result.flush is None
        assert _count(MixingPoolEntry) == BATCH - 1
        again = sweep()
        assert again.requeued == 0
        assert _count(MixingPoolEntry) == BATCH - 1
        ids.append(submit().report_id)
        assert _tags() == {withdrawal_tag(report_id) for report_id in ids}
        assert sweep().requeued == 0


def test_does_the_status_count_consenting_reports_without_a_record(batch_app):
    with batch_app.app_context():
        submit()
        submit()
        submit(consent={"statistics": False})
        current = status()
        assert current.awaiting_anonymisation == 2
        assert current.waiting_in_pool == 2
        assert current.flush_due is False
        flush(force=True)
        assert status().awaiting_anonymisation == 0
        assert status().statistical_records == 2


def _kendall_tau(order: list[int]) -> float:
    n = len(order)
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            if order[i] < order[j]:
                concordant += 1
            else:
                discordant += 1
    return (concordant - discordant) / (n * (n - 1) / 2)


UNLINKABLE_BATCH = 30


@pytest.fixture
def mixing_app(tmp_path: Path, backend: str) -> Iterator[Flask]:
    yield from build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=UNLINKABLE_BATCH)


def test_can_nothing_in_a_record_link_it_to_its_report(mixing_app, backend):
    """No column equals a report's identifying column, and neither the physical row order nor
    the id order of a batch follows the order in which its reports arrived."""
    with mixing_app.app_context():
        ids = [
            submit(received_on=dt.date(2025, 1, 1) + dt.timedelta(days=i)).report_id
            for i in range(UNLINKABLE_BATCH)
        ]
        assert _count(StatisticalRecord) == UNLINKABLE_BATCH
        reports = db.session.scalars(sa.select(Report)).all()
        identifying: set[object] = set()
        for report in reports:
            identifying |= {
                report.id,
                report.receipt_hash,
                report.submission_token_hash,
                report.reporter_salt,
                report.reporter_public_key,
                report.statistical_section,
                report.private_section,
                report.received_on,
                report.received_on.isoformat(),
            }
        table = StatisticalRecord.__table__
        position = "ctid" if backend == "postgresql" else "rowid"
        rows = db.session.execute(sa.select(table).order_by(sa.literal_column(position))).all()
        for row in rows:
            for value in row:
                assert value not in identifying
                assert not re.search(r"\d{4}-\d{2}-\d{2}", str(value))
            assert not any(report_id in str(value) for value in row for report_id in ids)
        arrival = {withdrawal_tag(report_id): index for index, report_id in enumerate(ids)}
        physical = [arrival[row.withdrawal_tag] for row in rows]
        by_id = [arrival[row.withdrawal_tag] for row in sorted(rows, key=lambda r: r.id)]
        for order in (physical, by_id):
            assert order != sorted(order)
            # A shuffled batch of 30: |tau| above 0.6 has odds of a few in a million.
            assert abs(_kendall_tau(order)) < 0.6
        child_position = "ctid" if backend == "postgresql" else "rowid"
        act_records = db.session.scalars(
            sa.text(f"SELECT record_id FROM statistical_acts ORDER BY {child_position}")
        ).all()
        first_seen = list(dict.fromkeys(act_records))
        record_order = {row.id: arrival[row.withdrawal_tag] for row in rows}
        assert abs(_kendall_tau([record_order[r] for r in first_seen])) < 0.6


# --------------------------------------------------------------------------------------------
# Transactions: no record shares a writing transaction with its report


def _interrupt_after_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next settling step die, as a worker killed between the two transactions."""

    def killed(*args: object, **kwargs: object) -> None:
        db.session.rollback()
        raise RuntimeError("worker killed")

    monkeypatch.setattr(flushing, "_settle", killed)


def test_does_a_flush_killed_between_writing_and_settling_end_with_one_record_each(
    batch_app, monkeypatch
):
    """The records are committed, their reports still wait in the pool: the next flush finds
    their tags, writes nothing again and marks the reports recorded; new reports in the same
    chunk are written only once there are enough of them to make a batch."""
    with batch_app.app_context():
        ids = [submit().report_id for _ in range(BATCH - 1)]
        with monkeypatch.context() as patched:
            _interrupt_after_write(patched)
            with pytest.raises(RuntimeError):
                flush(force=True)
        assert _count(StatisticalRecord) == BATCH - 1
        assert _count(MixingPoolEntry) == BATCH - 1
        assert set(_states().values()) == {StatisticsState.WAITING.value}
        # A fifth report makes a batch due again: the four are settled, but the fifth alone
        # would be a batch of one, so it waits for four more.
        ids.append(submit().report_id)
        assert _count(StatisticalRecord) == BATCH - 1
        assert _count(MixingPoolEntry) == 1
        assert _states()[ids[-1]] == StatisticsState.WAITING.value
        ids.extend(submit().report_id for _ in range(BATCH - 1))
        assert _tags() == {withdrawal_tag(report_id) for report_id in ids}
        assert _count(StatisticalRecord) == 2 * BATCH - 1
        assert _count(MixingPoolEntry) == 0
        assert set(_states().values()) == {StatisticsState.RECORDED.value}


def test_is_a_record_withdrawn_if_its_report_stopped_counting_while_it_was_written(
    batch_app, monkeypatch
):
    """A caseworker marks a report spam just after its record was written and before the batch
    is settled (the withdraw task may have run too early to find the record): settling sees
    the new status under the row lock and withdraws the record at once."""
    real_settle = flushing._settle
    with batch_app.app_context():
        ids = [submit().report_id for _ in range(BATCH - 1)]
        engine = db.engine

        def spam_first(*args: object, **kwargs: object) -> FlushResult:
            with engine.begin() as other:  # another connection: the caseworker's request
                other.execute(sa.update(Report).where(Report.id == ids[0]).values(status="spam"))
            return real_settle(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(flushing, "_settle", spam_first)
        result = flush(force=True)
        assert (result.recorded, result.withdrawn) == (BATCH - 1, 1)
        assert _tags() == {withdrawal_tag(report_id) for report_id in ids[1:]}
        assert _states()[ids[0]] == StatisticsState.WITHDRAWN.value
        assert _count(MixingPoolEntry) == 0


def _shared_transaction_ids() -> dict[str, int]:
    """How many statistical rows share a transaction id (`xmin`, or a lock's `xmax`) with a
    report row or a pool row: each would tie a record to a handful of reports."""
    checks = {
        "record xmin = report xmin": "statistical_records s JOIN reports r ON s.xmin = r.xmin",
        "record xmin = report xmax": (
            "statistical_records s JOIN reports r ON s.xmin::text = r.xmax::text"
        ),
        "record xmin = pool xmin": "statistical_records s JOIN mixing_pool p ON s.xmin = p.xmin",
        "record xmin = pool xmax": (
            "statistical_records s JOIN mixing_pool p ON s.xmin::text = p.xmax::text"
        ),
        "act xmin = report xmin": "statistical_acts s JOIN reports r ON s.xmin = r.xmin",
    }
    return {
        name: int(db.session.scalar(sa.text(f"SELECT count(*) FROM {joined}")) or 0)
        for name, joined in checks.items()
    }


@pytest.mark.parametrize("min_batch", [1, BATCH])
def test_does_no_record_share_a_transaction_id_with_any_report_or_pool_row(
    tmp_path, monkeypatch, min_batch
):
    """PostgreSQL stamps each row with the transaction that wrote it, and a dump or a disk
    image keeps the stamp: `... JOIN reports r ON s.xmin = r.xmin` paired every record with its
    report when both were written together. Batches, an interrupted batch and its recovery,
    a withdrawal and a restore all leave no shared id; some reports still wait in the pool."""
    for app in build_app(tmp_path, "postgresql", ANONYMISE_MIN_BATCH=min_batch):
        with app.app_context():
            for _ in range(2 * BATCH):
                submit()
            with monkeypatch.context() as patched:
                _interrupt_after_write(patched)
                submit()
                with pytest.raises(RuntimeError):
                    flush(force=True)
            flush(force=True)  # recovery: settles the interrupted batch
            spam = db.session.scalars(sa.select(Report.id).limit(1)).one()
            db.session.get_one(Report, spam).status = "spam"
            db.session.commit()
            sweep()  # reconciles: withdraws the spam report's record
            db.session.get_one(Report, spam).status = "triaged"
            db.session.commit()
            sweep()  # restores it: queued again
            flush(force=True)
            for _ in range(min(2, min_batch - 1)):
                submit()  # left waiting in the pool
            expected_records = 2 * BATCH + 1
            assert _count(StatisticalRecord) == expected_records
            assert _count(MixingPoolEntry) == min(2, min_batch - 1)
            assert _shared_transaction_ids() == dict.fromkeys(_shared_transaction_ids(), 0)
            # The reviewer's query, word for word.
            linked = db.session.execute(
                sa.text(
                    "select r.id, r.received_on, s.region, s.month from reports r "
                    "join statistical_records s on s.xmin = r.xmin"
                )
            ).all()
            assert linked == []


@pytest.mark.parametrize("setting", ["ANONYMISE_MIN_BATCH", "ANONYMISE_MIN_OVERDUE_BATCH"])
def test_does_production_refuse_batches_of_one(tmp_path, setting):
    """A batch of one record is written right after its report: no mixing at all."""
    from incident_service.settings import Config, UnsafeConfiguration
    from tests.test_config import production_env

    Config.from_env(production_env(tmp_path, **{setting: "2"})).check_production()
    config = Config.from_env(production_env(tmp_path, **{setting: "1"}))
    with pytest.raises(UnsafeConfiguration) as refused:
        config.check_production()
    assert refused.value.setting == setting


@pytest.fixture
def backlog_app(tmp_path: Path, backend: str) -> Iterator[Flask]:
    yield from build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=1000)


def _flush_in_thread(app: Flask, start, results: list, errors: list) -> None:
    with app.app_context():
        start.wait()
        try:
            results.append(flush())
        except BaseException as exc:  # a deadlock surfaces here
            errors.append(exc)
        finally:
            db.session.remove()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_do_four_concurrent_flushes_take_disjoint_reports_without_deadlock(
    backlog_app, monkeypatch
):
    """Four workers flush at once (PostgreSQL): every report is recorded exactly once, nothing
    is counted as already recorded, and no flush fails with a deadlock. Small chunks, so that
    the flushes' transactions interleave many times."""
    import threading

    monkeypatch.setattr(flushing, "CHUNK_SIZE", 10)
    app = backlog_app
    with app.app_context():
        ids = [submit().report_id for _ in range(400)]
        assert _count(StatisticalRecord) == 0
    app.config["ANONYMISE_MIN_BATCH"] = 10
    results: list[FlushResult] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)
    threads = [
        threading.Thread(target=_flush_in_thread, args=(app, start, results, errors))
        for _ in range(4)
    ]
    switch_interval = sys.getswitchinterval()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    # Shortened for the flushes (`flush._short_gil_turns`), put back by the last to end.
    assert sys.getswitchinterval() == switch_interval
    assert sum(r.recorded for r in results) == len(ids)
    assert sum(r.already_recorded for r in results) == 0
    with app.app_context():
        assert _count(StatisticalRecord) == len(ids) and _count(MixingPoolEntry) == 0
        tags = {withdrawal_tag(report_id) for report_id in ids}
        assert set(db.session.scalars(sa.select(StatisticalRecord.withdrawal_tag))) == tags


@pytest.fixture
def chunked_app(tmp_path: Path, backend: str, monkeypatch) -> Iterator[Flask]:
    """Chunks of ten (batches of three), so that a flush of a few dozen reports takes several."""
    monkeypatch.setattr(flushing, "CHUNK_SIZE", 10)
    yield from build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=3)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_is_the_switch_interval_short_only_while_a_pipelined_flush_runs(chunked_app, monkeypatch):
    """The writing thread gets the GIL back within a fraction of a millisecond while the
    opening thread is busy; the process's own setting is put back afterwards, and after a
    flush that failed too."""
    seen: list[float] = []
    real_prepare = flushing._prepare

    def noting_prepare(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(sys.getswitchinterval())
        return real_prepare(*args, **kwargs)

    before = sys.getswitchinterval()
    with chunked_app.app_context():
        chunked_app.config["ANONYMISE_MIN_BATCH"] = 1000
        for _ in range(25):
            submit()
        chunked_app.config["ANONYMISE_MIN_BATCH"] = 3
        monkeypatch.setattr(flushing, "_prepare", noting_prepare)
        with monkeypatch.context() as killed:
            killed.setattr(flushing, "_settle", _raise)
            with pytest.raises(RuntimeError):
                flush(force=True)
        assert sys.getswitchinterval() == before
        result = flush(force=True)  # settles the first chunk, records the rest
        assert (result.already_recorded, result.recorded) == (10, 15)
    expected = min(before, flushing.GIL_SWITCH_INTERVAL)
    assert seen and all(abs(interval - expected) < 1e-6 for interval in seen)  # µs resolution
    assert sys.getswitchinterval() == before


def _raise(*args: object, **kwargs: object) -> None:
    raise RuntimeError("worker killed")
