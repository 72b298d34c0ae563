"""The anonymisation pipeline: shuffled batch flushes from the mixing pool.

Intake puts every consenting report into `mixing_pool` (state `waiting`) in the same
transaction as the report itself. Nothing is anonymised one by one: a flush happens only when
at least `ANONYMISE_MIN_BATCH` reports wait, or the oldest has waited `ANONYMISE_MAX_WAIT` (in
whole days: the pool keeps the day a report was queued, never the time) and at least
`ANONYMISE_MIN_OVERDUE_BATCH` wait (or an operator forces one). Each batch is written with its
rows in random order and random ids, so neither row order, insert time nor id links a record to
its report within its batch.

A batch takes two transactions, so that no transaction both writes records and touches the
reports they come from (PostgreSQL stamps every row with the id of the transaction that wrote
it, `xmin`, and a row lock leaves it in `xmax`; a dump or a disk image keeps both):

1. *write*: lock the batch's pool rows (not the reports), open the sections, insert the
   records, commit. Nothing else is written in it.
2. *settle*: lock the reports, re-read consent and status, mark each report `recorded`
   (derived from its withdrawal tag being present), `failed` or `withdrawn`, delete the pool
   rows, commit.

Safety properties, each covered by tests:

* exactly one record per counted report — the withdrawal tag is unique, and a report whose tag
  is already present is never written again, only settled; a worker killed between the two
  transactions leaves records whose reports still wait in the pool, and the next flush finds
  their tags and settles them;
* concurrent flushes take disjoint reports (PostgreSQL: `FOR UPDATE SKIP LOCKED` on the pool
  rows; SQLite serialises writers, and a lost race ends in a retried chunk);
* a report whose section will not open is marked `failed` with a coarse reason and leaves the
  pool; the others in its batch are still recorded, and the flush then raises
  `StatisticalSectionsUnusable` so the task fails loudly;
* consent, status and a deletion request are read again under the report's row lock when the
  batch is settled; a record written for a report that stopped counting meanwhile is withdrawn
  at once;
* the sweep reconciles: a report whose record exists but that no longer counts (its withdraw
  message was lost) has the record withdrawn, and a withdrawn report that counts again (a lost
  restore) is queued again (`sweep.sweep`, through `withdrawal.reconcile_statistics`).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incident_service import locks
from incident_service.constants import StatisticsState
from incident_service.crypto import RecipientPrivateKey, bindings
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
    today,
)
from incident_service.pipeline.anonymise import (
    ACT_GROUP,
    CITIZENSHIP_ORIGIN,
    RECORD_COLUMNS,
    GeneralisedReport,
    SectionUnusable,
    anonymise_section,
    child_rows,
    describe_failure,
    statistics_key,
    withdrawal_key,
)
from incident_service.pipeline.pool import (
    BatchSizes,
    PoolState,
    among,
    batch_sizes,
    counts_for_statistics,
    pool_state,
    set_state,
)
from incident_service.pipeline.withdrawal import withdraw_statistics

log = logging.getLogger(__name__)

# A batch larger than this is written in several transactions of about this size, so that a
# backlog neither holds row locks for minutes nor loses much work to a killed worker.
CHUNK_SIZE = 500
# A chunk lost to a concurrent flush (unique tag) is re-read; this bounds that loop.
MAX_CHUNK_CONFLICTS = 5
# How long a thread holds the GIL while another waits for it, during a pipelined flush
# (`sys.setswitchinterval`; Python's default is 5 ms). See `_short_gil_turns`.
GIL_SWITCH_INTERVAL = 0.0001
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
    skipped: int = 0  # no consent, marked spam/duplicate or deletion asked since it was queued
    failed: int = 0
    batches: int = 0
    held_back: int = 0  # too few to write as a batch of their own: they wait for more
    withdrawn: int = 0  # written, then found to no longer count when settled
    failures: list[SectionUnusable] = field(default_factory=list, repr=False)
    # Reports whose record must be withdrawn after settling; never logged or returned.
    to_withdraw: list[str] = field(default_factory=list, repr=False)

    def add(self, other: FlushResult) -> None:
        self.recorded += other.recorded
        self.already_recorded += other.already_recorded
        self.skipped += other.skipped
        self.failed += other.failed
        self.batches += other.batches
        self.held_back += other.held_back
        self.withdrawn += other.withdrawn
        self.failures.extend(other.failures)
        self.to_withdraw.extend(other.to_withdraw)

    def as_dict(self) -> dict[str, int]:
        return {
            "recorded": self.recorded,
            "already_recorded": self.already_recorded,
            "skipped": self.skipped,
            "failed": self.failed,
            "batches": self.batches,
            "held_back": self.held_back,
            "withdrawn": self.withdrawn,
        }


# --------------------------------------------------------------------------------------------
# Flushing


def flush_if_due() -> FlushResult:
    """Flush the mixing pool if a batch is due; the task every submission triggers."""
    return flush(force=False)


def flush(*, force: bool = False) -> FlushResult:
    """Write waiting reports as shuffled batches of statistical records.

    Without `force`, runs only while a batch is due and never writes fewer records at once than
    `ANONYMISE_MIN_BATCH`, or `ANONYMISE_MIN_OVERDUE_BATCH` once the oldest report has waited
    `ANONYMISE_MAX_WAIT`: a batch of one or two would tie each record to its report by time
    alone, so such reports wait for company. With `force` (operator command), writes whatever
    waits. Commits per chunk (two transactions each). Raises `StatisticalSectionsUnusable`
    after all chunks are done if any report failed.
    """
    settings = _FlushSettings(
        force=force,
        sizes=batch_sizes(),
        key=statistics_key(),
        tag_of=bindings.withdrawal_tagger(withdrawal_key()),
    )
    with _one_flush_at_a_time(wait=force) as ours:
        if not ours:
            return FlushResult()  # another flush is running and will take what is due
        total = _flush_chunks(settings)
    if total.batches:
        log.info("anonymised batch(es): %s", total.as_dict())
    if total.withdrawn:
        _withdraw_settled(total)
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


@contextlib.contextmanager
def _one_flush_at_a_time(*, wait: bool) -> Iterator[bool]:
    """Hold PostgreSQL's advisory lock for the whole flush, on a connection of its own.

    Two flushes at once deadlocked (one settling held report locks and wanted pool rows that
    the other had locked) and overlapped: after the first committed its records, its pool
    rows were unlocked but not yet deleted, and the second took them again. Flushes now take
    turns; one that finds the lock held returns at once (the holder writes whatever is due),
    unless an operator forced it, which waits. SQLite serialises writers anyway.
    """
    if not locks.on_postgresql():
        yield True
        return
    with db.engine.connect() as connection:
        acquired = locks.take(connection, locks.FLUSH, wait=wait)
        connection.commit()
        try:
            yield acquired
        finally:
            if acquired:
                locks.release(connection, locks.FLUSH)
                connection.commit()


@dataclass(frozen=True)
class _FlushSettings:
    force: bool
    sizes: BatchSizes
    key: RecipientPrivateKey
    tag_of: Callable[[str], bytes]  # a report id's withdrawal tag


@dataclass
class _Batch:
    """One locked chunk, opened and generalised, not yet written."""

    all_ids: list[str]
    # Every report's withdrawal tag, counted or not: settling looks for all of them.
    tags: dict[str, bytes] = field(default_factory=dict)
    candidates: dict[bytes, tuple[str, GeneralisedReport]] = field(default_factory=dict)
    not_counted: set[str] = field(default_factory=set)
    never_consented: set[str] = field(default_factory=set)
    failed: dict[str, SectionUnusable] = field(default_factory=dict)


@dataclass(frozen=True)
class _Written:
    """What the write transaction did with a batch's candidates."""

    recorded: int  # records inserted now
    already_recorded: int  # their tag was there before (a retried or interrupted flush)
    held_back: frozenset[str]  # left waiting: too few to make a batch


def _next_chunk(settings: _FlushSettings, in_flight: Sequence[str] = ()) -> tuple[int, int] | None:
    """(limit, minimum) for the next chunk, or None when no batch is due any more. Reports of
    a chunk still being written (`in_flight`) are not counted: they are taken already."""
    if locks.on_postgresql():
        state = _pool_state_postgresql(db.session(), in_flight)
    else:
        state = pool_state(in_flight)
    db.session.rollback()  # end the read so the chunk's locks start fresh
    waiting = state.waiting
    if waiting <= 0:
        return None
    minimum = 1 if settings.force else state.minimum(sizes=settings.sizes, today=today())
    if waiting < minimum:
        return None
    # Keep the tail with the last chunk rather than leave a runt batch behind.
    limit = waiting if waiting < CHUNK_SIZE + settings.sizes.batch else CHUNK_SIZE
    return limit, minimum


def _pool_state_postgresql(session: Session, excluding: Sequence[str]) -> PoolState:
    """`pool.pool_state` with the excluded ids as one text parameter (see `_id_list`)."""
    with _driver_cursor(session) as cursor:
        cursor.execute(_POOL_STATE_SQL, (_id_list(excluding),))
        waiting, oldest = cursor.fetchone()
    return PoolState(waiting=int(waiting), oldest_queued_on=oldest)


def _flush_chunks(settings: _FlushSettings) -> FlushResult:
    """Lock, open, write and settle one chunk at a time (pipelined on PostgreSQL)."""
    if locks.on_postgresql():
        return _flush_chunks_pipelined(settings)
    return _flush_chunks_serial(settings)


def _flush_chunks_serial(settings: _FlushSettings) -> FlushResult:
    """One chunk after the other on the request's session (SQLite, which serialises writers
    anyway)."""
    total = FlushResult()
    conflicts = 0
    session = db.session()
    while True:
        chunk = _next_chunk(settings)
        if chunk is None:
            break
        limit, minimum = chunk
        rows = _lock_chunk(session, limit)
        if len(rows) < minimum:
            session.rollback()
            break
        batch = _prepare(rows, settings)
        try:
            written = _write_records(session, batch, minimum)
        except IntegrityError:
            # Another flush recorded some of these reports first (SQLite has no SKIP LOCKED).
            session.rollback()
            conflicts += 1
            if conflicts > MAX_CHUNK_CONFLICTS:
                raise
            continue
        settled = _settle(session, batch, written)
        total.add(settled)
        if len(written.held_back) == len(batch.all_ids):
            break  # nothing but reports waiting for company: the pool is as it was
    return total


@dataclass
class _InFlight:
    """A chunk handed to the writing thread."""

    batch: _Batch
    outcome: Future[tuple[_Written, FlushResult] | None]


def _write_and_settle(
    app: Flask, session: Session, batch: _Batch, minimum: int
) -> tuple[_Written, FlushResult] | None:
    """The writing thread's part of one chunk: both transactions, on the chunk's own session.
    None when another flush recorded some of its reports first (the chunk is taken again)."""
    with app.app_context():
        try:
            written = _write_records(session, batch, minimum)
        except IntegrityError:
            session.rollback()
            return None
        return written, _settle(session, batch, written)


class _GilTurns:
    """The switch interval as it was before the first pipelined flush of this process began,
    and how many are running (tests run several flushes at once in threads)."""

    lock = threading.Lock()
    running = 0
    saved = 0.0


@contextlib.contextmanager
def _short_gil_turns() -> Iterator[None]:
    """Shorten the GIL's switch interval while a pipelined flush runs.

    The opening thread is CPU in C (the HPKE open does not release the GIL) and keeps the GIL
    until another thread has waited the switch interval for it, 5 ms by default. The writing
    thread releases the GIL for each of its twenty-odd database round trips per chunk and
    then waits up to those 5 ms to take it back: a `SELECT 1` beside a busy thread took
    10 ms instead of 0.06 (`bench/gil_round_trip.py`; docs/benchmarks.md, issue 14, third
    round). At 0.1 ms the writer gets the GIL back within an open or two: its COPY took 68 µs
    a report of wall time instead of 99, and the worker went from 5,128 to 6,198 reports/s,
    for some 8 µs a report more CPU in hand-overs. Process-wide, so it is set once for all
    concurrent flushes and put back when the last ends.
    """
    with _GilTurns.lock:
        if _GilTurns.running == 0:
            _GilTurns.saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_GilTurns.saved, GIL_SWITCH_INTERVAL))
        _GilTurns.running += 1
    try:
        yield
    finally:
        with _GilTurns.lock:
            _GilTurns.running -= 1
            if _GilTurns.running == 0:
                sys.setswitchinterval(_GilTurns.saved)


def _flush_chunks_pipelined(settings: _FlushSettings) -> FlushResult:
    """Open chunk N+1 while chunk N is written and settled.

    Opening sections is CPU in this process; writing and settling is mostly the database
    server's work. Done one after the other, each waited for the other and a worker kept one
    of two cores busy at a time. Here a second thread writes and settles chunk N on one
    session (connection) while this thread locks and opens chunk N+1 on another; the two
    sessions take turns. Each chunk still has its own two transactions (write, then settle) on
    one connection, so nothing about transaction ids changes. The chunk being written is left
    out of the next lock explicitly: once its write commits, its pool rows are unlocked but
    not yet deleted. (An earlier try at this, on a machine with no core to spare, gained
    nothing; alternating with the serial loop in-process, this one took a flush from 33 % to
    48-53 % of the open-only rate: docs/benchmarks.md, issue 14. It gains nothing where the
    database side is the slower half.)
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    total = FlushResult()
    conflicts = 0
    engine = db.engine
    sessions = (Session(bind=engine), Session(bind=engine))
    in_flight: _InFlight | None = None
    stop = False
    turn = 0

    def finish(chunk: _InFlight) -> None:
        nonlocal conflicts, stop
        outcome = chunk.outcome.result()
        if outcome is None:
            # Another flush recorded some of these reports first: they are taken again.
            conflicts += 1
            if conflicts > MAX_CHUNK_CONFLICTS:
                raise RuntimeError("statistical records: repeated conflicts with another flush")
            return
        written, settled = outcome
        total.add(settled)
        if len(written.held_back) == len(chunk.batch.all_ids):
            stop = True  # nothing but reports waiting for company: the pool is as it was

    with (
        _short_gil_turns(),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="flush-writer") as writer,
    ):
        try:
            while not stop:
                taken = in_flight.batch.all_ids if in_flight is not None else []
                chunk = _next_chunk(settings, taken)
                rows: list[Any] = []
                session = sessions[turn % 2]
                minimum = 1
                if chunk is not None:
                    limit, minimum = chunk
                    rows = _lock_chunk(session, limit, excluding=taken)
                    if len(rows) < minimum:
                        session.rollback()
                        rows = []
                if not rows:
                    if in_flight is None:
                        break
                    # The pool may change once the chunk in flight is settled: look again.
                    current, in_flight = in_flight, None
                    finish(current)
                    continue
                batch = _prepare(rows, settings)
                if in_flight is not None:
                    current, in_flight = in_flight, None
                    finish(current)
                    if stop:
                        session.rollback()
                        break
                in_flight = _InFlight(
                    batch, writer.submit(_write_and_settle, app, session, batch, minimum)
                )
                turn += 1
            if in_flight is not None:
                current, in_flight = in_flight, None
                finish(current)
        finally:
            if in_flight is not None:
                with contextlib.suppress(Exception):
                    in_flight.outcome.result()  # never leave the thread using a session
            for session in sessions:
                session.rollback()
                session.close()
    return total


def _lock_chunk(session: Session, limit: int, excluding: Sequence[str] = ()) -> list[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return _lock_chunk_postgresql(session, limit, excluding)
    query = (
        select(
            MixingPoolEntry.report_id,
            Report.statistical_section,
            Report.consent_statistics,
            Report.status,
            Report.deletion_requested,
        )
        .join(Report, Report.id == MixingPoolEntry.report_id)
        .order_by(MixingPoolEntry.queued_on, MixingPoolEntry.report_id)
        .limit(limit)
    )
    if excluding:
        query = query.where(MixingPoolEntry.report_id.not_in(list(excluding)))
    return list(session.execute(query).all())


def _lock_chunk_postgresql(session: Session, limit: int, excluding: Sequence[str]) -> list[Any]:
    """The same query on PostgreSQL, fetched in binary: the sections (several kilobytes each)
    then cross the connection as they are instead of hex text that the server encodes and
    this process decodes.

    `FOR UPDATE OF` only the pool rows: a concurrent flush skips them, so no report is taken
    twice and nobody waits. The reports are not locked (a lock is a write of the transaction
    id into the row) until the separate settling transaction.
    """
    with _driver_cursor(session) as cursor:
        cursor.execute(_LOCK_CHUNK_SQL, (_id_list(excluding), limit))
        rows: list[Any] = cursor.fetchall()
        return rows


_LOCK_CHUNK_SQL = """
    SELECT p.report_id, r.statistical_section, r.consent_statistics, r.status,
           r.deletion_requested
    FROM mixing_pool p JOIN reports r ON r.id = p.report_id
    WHERE NOT (p.report_id = ANY(string_to_array(%s, ',')))
    ORDER BY p.queued_on, p.report_id LIMIT %s
    FOR UPDATE OF p SKIP LOCKED
"""
_POOL_STATE_SQL = """
    SELECT count(*), min(queued_on) FROM mixing_pool
    WHERE NOT (report_id = ANY(string_to_array(%s, ',')))
"""
_PRESENT_TAGS_SQL = """
    SELECT withdrawal_tag FROM statistical_records
    WHERE withdrawal_tag = ANY(ARRAY(
        SELECT decode(tag, 'hex') FROM unnest(string_to_array(%s, ',')) AS tag
    ))
"""
_LOCK_REPORTS_SQL = """
    SELECT id, consent_statistics, status, deletion_requested, statistics_state
    FROM reports WHERE id = ANY(string_to_array(%s, ','))
    ORDER BY id
    FOR UPDATE
"""


def _id_list(ids: Sequence[str]) -> str:
    """Report ids as one comma-separated text parameter, split by `string_to_array` on the
    server. psycopg dumps a list parameter element by element in Python (0.4 µs an element
    in binary, 1.9 µs as text), and a chunk sends eight lists of 500: this is one string.
    Report ids are hex (`random_id`); one holding a comma would be split, so that is refused.
    """
    joined = ",".join(ids)
    if joined.count(",") != max(len(ids) - 1, 0) or (len(ids) == 1 and not ids[0]):
        raise ValueError("a report id holds a comma or is empty")
    return joined


def _driver_cursor(session: Session) -> Any:
    """A binary psycopg cursor in the session's transaction (PostgreSQL only)."""
    connection = session.connection().connection.driver_connection
    assert connection is not None
    return connection.cursor(binary=True)


def _prepare(rows: Sequence[Any], settings: _FlushSettings) -> _Batch:
    """Open and generalise a locked chunk (CPU only, no database access)."""
    batch = _Batch(all_ids=[row[0] for row in rows])
    for report_id, envelope, consent, status, deletion_requested in rows:
        tag = settings.tag_of(report_id)
        batch.tags[report_id] = tag
        if not counts_for_statistics(
            consent_statistics=consent, status=status, deletion_requested=deletion_requested
        ):
            batch.not_counted.add(report_id)
            continue
        try:
            generalised = anonymise_section(report_id, envelope, settings.key)
        except SectionUnusable as error:
            batch.failed[report_id] = error
            continue
        if not generalised.consented:
            # The sealed answer says no even though the column says yes: the answer wins.
            batch.never_consented.add(report_id)
            continue
        batch.candidates[tag] = (report_id, generalised)
    return batch


def _present_tags(session: Session, tags: Sequence[bytes]) -> set[bytes]:
    if not tags:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        # 500 tags as one text parameter of hex tags (`_id_list`'s reasoning), fetched binary;
        # `= ANY(ARRAY(...))` keeps the look-up on the tag's unique index.
        with _driver_cursor(session) as cursor:
            cursor.execute(_PRESENT_TAGS_SQL, (",".join([tag.hex() for tag in tags]),))
            return {bytes(row[0]) for row in cursor.fetchall()}
    column = StatisticalRecord.withdrawal_tag
    return set(session.scalars(select(column).where(among(session, column, tags))))


def _write_records(session: Session, batch: _Batch, minimum: int) -> _Written:
    """The write transaction: insert the batch's new records, shuffled, and commit. Nothing
    else is written in it, so no report row and no pool row carries its transaction id.

    Fewer new records than `minimum` are not written at all: their reports stay in the pool.
    Without new records the transaction stays open and settling continues in it (it then
    writes no record, so there is nothing to tie to).
    """
    existing = _present_tags(session, list(batch.candidates))
    fresh = [(tag, value) for tag, value in batch.candidates.items() if tag not in existing]
    held_back: frozenset[str] = frozenset()
    if fresh and len(fresh) < minimum:
        held_back = frozenset(report_id for _, (report_id, _) in fresh)
        fresh = []
    if fresh:
        _insert_shuffled(session, fresh)
        session.commit()
    return _Written(
        recorded=len(fresh),
        already_recorded=len(existing),
        held_back=held_back,
    )


def _settle(session: Session, batch: _Batch, written: _Written) -> FlushResult:
    """The settling transaction: bring each report of the batch in line with what is now in
    the records, under the reports' row locks, delete their pool rows, and commit.

    A report is `recorded` exactly when its withdrawal tag is present, whatever happened in
    between (a crash after the write, a withdrawal racing the batch). A report that stopped
    counting while its record was being written is noted for `_withdraw_settled`.
    """
    ids = [report_id for report_id in batch.all_ids if report_id not in written.held_back]
    result = FlushResult(
        recorded=written.recorded,
        already_recorded=written.already_recorded,
        batches=1 if written.recorded else 0,
        held_back=len(written.held_back),
    )
    if not ids:
        session.rollback()
        return result
    # Tags are read after the reports are locked: a withdrawal deletes a record only under its
    # report's lock, so the tags seen here still hold when this transaction commits.
    current = _lock_reports(session, ids)
    present = _present_tags(session, [batch.tags[report_id] for report_id in ids])
    settlement = _plan_settlement(batch, ids, current, present, result)
    _apply_settlement(session, settlement)
    session.commit()
    return result


_Target = tuple[StatisticsState, str | None]


@dataclass(frozen=True)
class _Settlement:
    """What settling writes: each report's new state (with a failure reason), grouped so that
    one UPDATE sets a group, and the reports whose pool rows are deleted."""

    targets: dict[_Target, list[str]]
    leave_pool: list[str]


def _lock_reports(session: Session, ids: Sequence[str]) -> dict[str, Any]:
    """Read the batch's reports as they are now, under their row locks (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        with _driver_cursor(session) as cursor:
            cursor.execute(_LOCK_REPORTS_SQL, (_id_list(ids),))
            return {row[0]: row for row in cursor.fetchall()}
    query = (
        select(
            Report.id,
            Report.consent_statistics,
            Report.status,
            Report.deletion_requested,
            Report.statistics_state,
        )
        .where(among(session, Report.id, ids))
        .order_by(Report.id)  # one lock order for every flush: no deadlock between them
    )
    return {row[0]: row for row in session.execute(query)}


def _plan_settlement(
    batch: _Batch,
    ids: Sequence[str],
    current: dict[str, Any],
    present: set[bytes],
    result: FlushResult,
) -> _Settlement:
    """Decide each report's new state and whether it leaves the pool, counting the outcome in
    `result` (no database access)."""
    candidate_ids = {report_id for report_id, _ in batch.candidates.values()}
    in_pipeline = (StatisticsState.WAITING.value, StatisticsState.RECORDED.value)
    targets: dict[_Target, list[str]] = {}
    leave_pool: list[str] = []
    for report_id in ids:
        row = current.get(report_id)
        if row is None:
            leave_pool.append(report_id)  # the report is gone (its pool row went with it)
            continue
        _, consent, status, deletion_requested, state = row
        counts = counts_for_statistics(
            consent_statistics=consent, status=status, deletion_requested=deletion_requested
        )
        target: _Target | None = None
        if batch.tags[report_id] in present:
            target = (StatisticsState.RECORDED, None)
            if not counts:
                result.withdrawn += 1
                result.to_withdraw.append(report_id)
        elif report_id in candidate_ids:
            # Its record was withdrawn after the write: that withdrawal settled the report
            # (and a restore since may have queued it again). Leave both as they are.
            continue
        elif state not in in_pipeline:
            pass  # withdrawn or marked failed meanwhile: nothing to change
        elif not counts:
            target = (StatisticsState.WITHDRAWN, None)
            result.skipped += 1
        elif report_id in batch.not_counted:
            continue  # counts again by now: it stays in the pool for the next batch
        elif report_id in batch.never_consented:
            target = (StatisticsState.NOT_CONSENTED, None)
            result.skipped += 1
        elif report_id in batch.failed:
            error = batch.failed[report_id]
            target = (StatisticsState.FAILED, error.reason)
            result.failed += 1
            result.failures.append(error)
        if target is not None:
            targets.setdefault(target, []).append(report_id)
        leave_pool.append(report_id)
    return _Settlement(targets=targets, leave_pool=leave_pool)


def _apply_settlement(session: Session, settlement: _Settlement) -> None:
    """Delete the settled reports' pool rows, then set their states (not committed)."""
    if session.get_bind().dialect.name == "postgresql":
        _apply_settlement_postgresql(session, settlement)
        return
    if settlement.leave_pool:
        session.execute(
            delete(MixingPoolEntry).where(
                among(session, MixingPoolEntry.report_id, settlement.leave_pool)
            )
        )
    for (state_value, error_reason), members in settlement.targets.items():
        set_state(session, members, state_value, error_reason)


def _apply_settlement_postgresql(session: Session, settlement: _Settlement) -> None:
    """The same in one statement: the pool rows are deleted in a data-modifying CTE (which
    runs whether or not it is referenced) and every report's new state comes from its target
    (state and reason: a handful per chunk, as small arrays) by number, instead of a DELETE
    and an UPDATE per target state, each a round trip. Ids and target numbers are one text
    parameter each (`_id_list`)."""
    ids: list[str] = []
    numbers: list[str] = []
    states: list[str] = []
    errors: list[str | None] = []
    for number, ((state_value, error_reason), members) in enumerate(settlement.targets.items()):
        ids.extend(members)
        numbers.extend([str(number + 1)] * len(members))
        states.append(state_value.value)
        errors.append(error_reason)
    with _driver_cursor(session) as cursor:
        cursor.execute(
            _SETTLE_SQL,
            (_id_list(settlement.leave_pool), _id_list(ids), ",".join(numbers), states, errors),
        )


_SETTLE_SQL = """
    WITH left_pool AS (
        DELETE FROM mixing_pool WHERE report_id = ANY(string_to_array(%s, ','))
    )
    UPDATE reports SET statistics_state = target.state, statistics_error = target.error
    FROM unnest(string_to_array(%s, ','), string_to_array(%s, ',')::int[]) AS settled(id, number)
    JOIN unnest(%s::text[], %s::text[]) WITH ORDINALITY AS target(state, error, number)
        USING (number)
    WHERE reports.id = settled.id
"""


def _withdraw_settled(total: FlushResult) -> None:
    """Withdraw, each in its own transaction, records written for reports that stopped
    counting while their batch was being written (their withdraw task may have run too
    early to find them)."""
    for report_id in total.to_withdraw:
        withdraw_statistics(report_id)


def _insert_shuffled(session: Session, fresh: Sequence[tuple[bytes, Any]]) -> None:
    """Insert one batch with rows in random order (and random ids), children likewise."""
    if not fresh:
        return
    order = list(fresh)
    _shuffler.shuffle(order)
    if session.get_bind().dialect.name == "postgresql":
        _copy_shuffled(session, order)
        return
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
        if rows:
            session.execute(insert(table), rows)


def _copy_shuffled(session: Session, order: Sequence[tuple[bytes, Any]]) -> None:
    """PostgreSQL: one binary COPY per table, rows as tuples in the shuffled order.

    COPY keeps the order and costs a fraction of per-row INSERTs; rows built as tuples in
    column order (no dict per row) and sent binary (no text formatting on either side).
    """
    records: list[tuple[Any, ...]] = []
    acts: list[tuple[Any, ...]] = []
    perpetrators: list[tuple[Any, ...]] = []
    citizenships: list[tuple[Any, ...]] = []
    indicators: list[tuple[Any, ...]] = []
    # The hierarchies as dicts and the child rows as list comprehensions, only where there
    # are any: a generator per table and record and a function call per code were a fifth
    # of this loop.
    act_group = ACT_GROUP
    origin = CITIZENSHIP_ORIGIN
    for tag, (_report_id, generalised) in order:
        record_id = random_id()
        records.append((record_id, tag, *generalised.record_row()))
        acts += [(record_id, code, act_group[code]) for code in generalised.acts]
        if generalised.perpetrators:
            perpetrators += [(record_id, code) for code in generalised.perpetrators]
        if generalised.citizenships:
            citizenships += [(record_id, code, origin[code]) for code in generalised.citizenships]
        if generalised.indicators:
            indicators += [(record_id, code) for code in generalised.indicators]
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor:
        for table, columns, rows in (
            (StatisticalRecord.__table__, ("id", "withdrawal_tag", *RECORD_COLUMNS), records),
            (StatisticalAct.__table__, ("record_id", "act_code", "act_group"), acts),
            (StatisticalPerpetrator.__table__, ("record_id", "perpetrator"), perpetrators),
            (
                StatisticalCitizenship.__table__,
                ("record_id", "citizenship", "origin_region"),
                citizenships,
            ),
            (StatisticalIndicator.__table__, ("record_id", "indicator"), indicators),
        ):
            if rows:
                _copy_rows(cursor, table, columns, rows)


def _copy_rows(
    cursor: Any, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    types = [_COPY_TYPES[type(table.c[column].type).__name__] for column in columns]
    with cursor.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


# PostgreSQL type names for the column types of the statistical tables.
_COPY_TYPES = {
    "String": "text",
    "LargeBinary": "bytea",
    "Boolean": "bool",
    "Integer": "int4",
}
