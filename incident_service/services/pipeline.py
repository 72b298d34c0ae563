"""The anonymisation pipeline: the mixing pool, shuffled batch flushes, and the sweep.

Intake puts every consenting report into `mixing_pool` (state `waiting`) in the same
transaction as the report itself. Nothing is anonymised one by one: a flush happens only when
at least `ANONYMISE_MIN_BATCH` reports wait or the oldest has waited `ANONYMISE_MAX_WAIT`
seconds (or an operator forces one), and each batch is written in one transaction with its rows
in random order. Neither row order, insert time nor id then links a record to its report.

Safety properties, each covered by tests:

* exactly one record per counted report — the pool entry is deleted, the record inserted and the
  report marked `recorded` in one transaction, and the withdrawal tag is unique, so a retried,
  duplicated or interrupted flush can neither lose nor double a report;
* concurrent flushes take disjoint reports (PostgreSQL: `FOR UPDATE SKIP LOCKED` on the pool
  and report rows; SQLite serialises writers, and a lost race ends in a retried chunk);
* a report whose section will not open is marked `failed` with a coarse reason and leaves the
  pool; the others in its batch are still recorded, and the flush then raises
  `StatisticalSectionsUnusable` so the task fails loudly;
* consent and the report's current status are read under the row lock at flush time.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from incident_service.constants import StatisticsState
from incident_service.models import (
    MixingPoolEntry,
    Report,
    StatisticalAct,
    StatisticalCitizenship,
    StatisticalIndicator,
    StatisticalPerpetrator,
    StatisticalRecord,
    db,
    random_id,
    utcnow,
)
from incident_service.services.anonymise import (
    SectionUnusable,
    anonymise_section,
    child_rows,
    describe_failure,
    statistics_key,
    withdrawal_key,
    withdrawal_tag,
)

log = logging.getLogger(__name__)

# A batch larger than this is written in several transactions of about this size, so that a
# backlog neither holds row locks for minutes nor loses much work to a killed worker.
CHUNK_SIZE = 500
# A chunk lost to a concurrent flush (unique tag) is re-read; this bounds that loop.
MAX_CHUNK_CONFLICTS = 5
WITHDRAWING_STATUSES = frozenset({"spam", "duplicate"})
_shuffler = secrets.SystemRandom()


class StatisticalSectionsUnusable(Exception):
    """Some reports of a flush could not be anonymised. They were marked `failed` for an
    operator (`incident-service pipeline status`); every other report was recorded. The message
    holds counts and coarse reasons only."""

    def __init__(self, failed: int, summary: str) -> None:
        # Both values as args, so the exception survives pickling in a worker's result path.
        super().__init__(failed, summary)
        self.failed = failed
        self.summary = summary

    def __str__(self) -> str:
        return (
            f"{self.failed} report(s) could not be anonymised and were marked failed "
            f"({self.summary})"
        )


@dataclass
class FlushResult:
    recorded: int = 0
    already_recorded: int = 0
    skipped: int = 0  # no consent or marked spam/duplicate since it was queued
    failed: int = 0
    batches: int = 0
    failures: list[SectionUnusable] = field(default_factory=list, repr=False)

    def add(self, other: FlushResult) -> None:
        self.recorded += other.recorded
        self.already_recorded += other.already_recorded
        self.skipped += other.skipped
        self.failed += other.failed
        self.batches += other.batches
        self.failures.extend(other.failures)

    def as_dict(self) -> dict[str, int]:
        return {
            "recorded": self.recorded,
            "already_recorded": self.already_recorded,
            "skipped": self.skipped,
            "failed": self.failed,
            "batches": self.batches,
        }


@dataclass(frozen=True)
class PoolState:
    waiting: int
    oldest_queued_at: dt.datetime | None

    def due(self, *, min_batch: int, max_wait: dt.timedelta, now: dt.datetime) -> bool:
        if self.waiting == 0:
            return False
        return self.waiting >= min_batch or self.overdue(max_wait=max_wait, now=now)

    def overdue(self, *, max_wait: dt.timedelta, now: dt.datetime) -> bool:
        return self.oldest_queued_at is not None and now - self.oldest_queued_at >= max_wait


@dataclass(frozen=True)
class SweepResult:
    requeued: int
    retried_failed: int
    flush: FlushResult | None

    def as_dict(self) -> dict[str, int]:
        values = {"requeued": self.requeued, "retried_failed": self.retried_failed}
        if self.flush is not None:
            values.update(self.flush.as_dict())
        return values


@dataclass(frozen=True)
class PipelineStatus:
    """Counts for /healthz and `incident-service pipeline status`; nothing identifying."""

    awaiting_anonymisation: int  # consenting, counted, and without a record yet
    waiting_in_pool: int
    failed: int
    statistical_records: int
    flush_due: bool
    oldest_wait_hours: float | None


# --------------------------------------------------------------------------------------------
# Settings and pool state


def _min_batch() -> int:
    return max(1, int(current_app.config["ANONYMISE_MIN_BATCH"]))


def _max_wait() -> dt.timedelta:
    return dt.timedelta(seconds=max(0, int(current_app.config["ANONYMISE_MAX_WAIT"])))


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def pool_state() -> PoolState:
    waiting, oldest = db.session.execute(
        select(func.count(), func.min(MixingPoolEntry.queued_at))
    ).one()
    return PoolState(waiting=int(waiting), oldest_queued_at=oldest)


def flush_due(now: dt.datetime | None = None) -> bool:
    return pool_state().due(min_batch=_min_batch(), max_wait=_max_wait(), now=now or utcnow())


def counts_for_statistics(*, consent_statistics: bool, status: str) -> bool:
    """Whether a report in this state belongs in the statistics at all."""
    return bool(consent_statistics) and status not in WITHDRAWING_STATUSES


# --------------------------------------------------------------------------------------------
# Flushing


def flush_if_due() -> FlushResult:
    """Flush the mixing pool if a batch is due; the task every submission triggers."""
    return flush(force=False)


def flush(*, force: bool = False) -> FlushResult:
    """Write waiting reports as shuffled batches of statistical records.

    Without `force`, runs only while a batch is due and never writes a batch smaller than
    `ANONYMISE_MIN_BATCH` unless the oldest report has waited `ANONYMISE_MAX_WAIT`. With
    `force` (operator command), writes whatever waits. Commits per chunk. Raises
    `StatisticalSectionsUnusable` after all chunks are done if any report failed.
    """
    key = statistics_key()
    tag_key = withdrawal_key()
    min_batch = _min_batch()
    max_wait = _max_wait()
    total = FlushResult()
    conflicts = 0
    while True:
        state = pool_state()
        db.session.rollback()  # end the read so the chunk's locks start fresh
        if state.waiting == 0:
            break
        overdue = state.overdue(max_wait=max_wait, now=utcnow())
        if not force and not overdue and state.waiting < min_batch:
            break
        # Keep the tail with the last chunk rather than leave a runt batch behind.
        limit = state.waiting if state.waiting < CHUNK_SIZE + min_batch else CHUNK_SIZE
        minimum = 1 if force or overdue else min_batch
        try:
            result = _flush_chunk(limit=limit, minimum=minimum, key=key, tag_key=tag_key)
        except IntegrityError:
            # Another flush recorded some of these reports first (SQLite has no SKIP LOCKED).
            db.session.rollback()
            conflicts += 1
            if conflicts > MAX_CHUNK_CONFLICTS:
                raise
            continue
        if result is None:
            break
        total.add(result)
    if total.batches:
        log.info("anonymised batch(es): %s", total.as_dict())
    if total.failures:
        summary = describe_failure(total.failures)
        log.error(
            "anonymisation: %d report(s) marked failed (%s); see `incident-service pipeline "
            "status`",
            len(total.failures),
            summary,
        )
        raise StatisticalSectionsUnusable(len(total.failures), summary)
    return total


def _lock_chunk(limit: int) -> list[Any]:
    query = (
        select(
            MixingPoolEntry.report_id,
            Report.statistical_section,
            Report.consent_statistics,
            Report.status,
        )
        .join(Report, Report.id == MixingPoolEntry.report_id)
        .order_by(MixingPoolEntry.queued_at, MixingPoolEntry.report_id)
        .limit(limit)
    )
    if _is_postgres():
        # Lock pool and report rows together, skipping any another flush or a caseworker's
        # status change holds: no waiting on each other, no deadlock, no report taken twice.
        query = query.with_for_update(skip_locked=True)
    return list(db.session.execute(query).all())


def _flush_chunk(*, limit: int, minimum: int, key: Any, tag_key: Any) -> FlushResult | None:
    rows = _lock_chunk(limit)
    if len(rows) < max(1, minimum):
        db.session.rollback()
        return None
    result = FlushResult(batches=1)
    candidates: dict[bytes, tuple[str, Any]] = {}
    not_counted: list[str] = []
    never_consented: list[str] = []
    failed: dict[str, list[str]] = {}
    for report_id, envelope, consent, status in rows:
        if not counts_for_statistics(consent_statistics=consent, status=status):
            not_counted.append(report_id)
            continue
        try:
            generalised = anonymise_section(report_id, envelope, key)
        except SectionUnusable as error:
            failed.setdefault(error.reason, []).append(report_id)
            result.failures.append(error)
            continue
        if not generalised.consented:
            # The sealed answer says no even though the column says yes: the answer wins.
            never_consented.append(report_id)
            continue
        candidates[withdrawal_tag(report_id, tag_key)] = (report_id, generalised)

    existing: set[bytes] = set()
    if candidates:
        existing = set(
            db.session.scalars(
                select(StatisticalRecord.withdrawal_tag).where(
                    StatisticalRecord.withdrawal_tag.in_(list(candidates))
                )
            )
        )
    fresh = [(tag, value) for tag, value in candidates.items() if tag not in existing]
    _insert_shuffled(fresh)

    recorded_ids = [report_id for report_id, _ in candidates.values()]
    all_ids = [row[0] for row in rows]
    db.session.execute(delete(MixingPoolEntry).where(MixingPoolEntry.report_id.in_(all_ids)))
    if recorded_ids:
        _set_state(recorded_ids, StatisticsState.RECORDED, None)
    for reason, ids in failed.items():
        _set_state(ids, StatisticsState.FAILED, reason)
    if not_counted:
        # Consent withdrawn, or marked spam or duplicate, while it waited.
        _set_state(not_counted, StatisticsState.WITHDRAWN, None)
    if never_consented:
        _set_state(never_consented, StatisticsState.NOT_CONSENTED, None)
    db.session.commit()

    result.recorded = len(fresh)
    result.already_recorded = len(candidates) - len(fresh)
    result.skipped = len(not_counted) + len(never_consented)
    result.failed = sum(len(ids) for ids in failed.values())
    return result


def _insert_shuffled(fresh: Sequence[tuple[bytes, Any]]) -> None:
    """Insert one batch with rows in random order (and random ids), children likewise."""
    if not fresh:
        return
    order = list(fresh)
    _shuffler.shuffle(order)
    records: list[dict[str, Any]] = []
    acts: list[dict[str, Any]] = []
    perpetrators: list[dict[str, Any]] = []
    citizenships: list[dict[str, Any]] = []
    indicators: list[dict[str, Any]] = []
    for tag, (_report_id, generalised) in order:
        record_id = random_id()
        records.append({"id": record_id, "withdrawal_tag": tag, **generalised.record_values()})
        a, p, c, i = child_rows(record_id, generalised)
        acts.extend(a)
        perpetrators.extend(p)
        citizenships.extend(c)
        indicators.extend(i)
    for table, rows in (
        (StatisticalRecord.__table__, records),
        (StatisticalAct.__table__, acts),
        (StatisticalPerpetrator.__table__, perpetrators),
        (StatisticalCitizenship.__table__, citizenships),
        (StatisticalIndicator.__table__, indicators),
    ):
        _insert_rows(table, rows)


def _insert_rows(table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows in list order, in the session's transaction.

    PostgreSQL: COPY, which keeps the order and costs a fraction of per-row INSERTs (measured
    in bench/pipeline.py). Elsewhere: a Core executemany, still without ORM objects.
    """
    if not rows:
        return
    if not _is_postgres():
        db.session.execute(insert(table), rows)
        return
    from psycopg import sql

    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    connection = db.session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def _set_state(report_ids: Iterable[str], state: StatisticsState, error: str | None) -> None:
    db.session.execute(
        update(Report)
        .where(Report.id.in_(list(report_ids)))
        .values(statistics_state=state.value, statistics_error=error)
        .execution_options(synchronize_session=False)
    )


# --------------------------------------------------------------------------------------------
# Pool maintenance


def add_to_pool(report_ids: Sequence[str]) -> None:
    """Queue reports for the next batch; a report already queued stays queued once."""
    if not report_ids:
        return
    now = utcnow()
    rows = [{"report_id": report_id, "queued_at": now} for report_id in report_ids]
    statement: Any
    if _is_postgres():
        statement = pg_insert(MixingPoolEntry).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(MixingPoolEntry).on_conflict_do_nothing()
    db.session.execute(statement, rows)


def sweep(*, retry_failed: bool = False) -> SweepResult:
    """Catch up on anything the nudges missed; safe to run at any time, any number of times.

    Re-queues consenting reports that wait but are not in the pool, optionally puts `failed`
    reports back (after an operator fixed the key), commits, then flushes if a batch is due.
    """
    missing = list(
        db.session.scalars(
            select(Report.id).where(
                Report.consent_statistics.is_(True),
                Report.status.not_in(WITHDRAWING_STATUSES),
                Report.statistics_state == StatisticsState.WAITING.value,
                ~exists().where(MixingPoolEntry.report_id == Report.id),
            )
        )
    )
    add_to_pool(missing)
    retried: list[str] = []
    if retry_failed:
        retried = list(
            db.session.scalars(
                select(Report.id).where(
                    Report.consent_statistics.is_(True),
                    Report.status.not_in(WITHDRAWING_STATUSES),
                    Report.statistics_state == StatisticsState.FAILED.value,
                )
            )
        )
        _set_state(retried, StatisticsState.WAITING, None)
        add_to_pool(retried)
    db.session.commit()
    if missing:
        log.warning("sweep re-queued %d report(s) missing from the mixing pool", len(missing))
    flushed = flush(force=False) if flush_due() else None
    return SweepResult(requeued=len(missing), retried_failed=len(retried), flush=flushed)


def status() -> PipelineStatus:
    """What an operator needs to see whether the pipeline keeps up."""
    now = utcnow()
    state = pool_state()
    awaiting = db.session.scalar(
        select(func.count())
        .select_from(Report)
        .where(
            Report.consent_statistics.is_(True),
            Report.status.not_in(WITHDRAWING_STATUSES),
            Report.statistics_state.in_(
                [StatisticsState.WAITING.value, StatisticsState.FAILED.value]
            ),
        )
    )
    failed = db.session.scalar(
        select(func.count())
        .select_from(Report)
        .where(Report.statistics_state == StatisticsState.FAILED.value)
    )
    records = db.session.scalar(select(func.count()).select_from(StatisticalRecord))
    oldest_hours = None
    if state.oldest_queued_at is not None:
        # Rounded: a precise age would tell an observer when the oldest report arrived.
        oldest_hours = round((now - state.oldest_queued_at).total_seconds() / 3600, 1)
    return PipelineStatus(
        awaiting_anonymisation=int(awaiting or 0),
        waiting_in_pool=state.waiting,
        failed=int(failed or 0),
        statistical_records=int(records or 0),
        flush_due=state.due(min_batch=_min_batch(), max_wait=_max_wait(), now=now),
        oldest_wait_hours=oldest_hours,
    )
