"""Each month's record counts, kept between releases while the month's records stay the same.

Every release counts its months, and with published releases beside it the joint audit counts
every month of their year as well (`lifecycle._counts_and_joint`): with a year of a million
records a quarter, that was as much counting again as the quarter's own. A closed month's
counts only change when one of its records is written, and the database gives the month a new
random version on every such write, whoever writes (`month_versions`). So the counts of a
month are stored with the version they were counted at, and used again while the version is
still that one and the counting is the same (`FORMAT`: this code's version and the taxonomy's
groupings the counts use).

Consistency. The figures of one release must all come from one state of the records. On
PostgreSQL the versions, the stored counts and the counting of the months missing all read
the one snapshot of this session (`counts.shared_snapshot`), so a stored month is used only if
its version in that snapshot is the one it was counted at, and a month counted there is
stored with the version of that same snapshot. A month is stored only if that is still its
version when it is written (`_store`), so counts a write has made stale are never kept — on
SQLite too, where the counting runs statement by statement in this session.

Every write of a month's records deletes its stored counts in the same statement
(`month_versions`): a copy of the database never holds counts that include a withdrawn
record.

What is stored is what a `GROUP BY` of the month's statistical records gives anyone who can
read the table: nothing the records themselves do not already say.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from incident_service import taxonomy
from incident_service.models import StatisticalMonthCounts, StatisticalMonthVersion, db
from incident_service.releases.counts import (
    Executor,
    RecordCounts,
    count_records_by_month,
    counts_from_json,
    counts_to_json,
    run_jobs,
    shared_snapshot,
)

# Raise when what `count_records` computes changes (a new field, another grouping).
_VERSION = "record-counts-1"


def _format() -> str:
    # The multi-valued counts group codes by their parent in the taxonomy: a taxonomy that
    # moves a code to another group makes every stored month stale.
    groupings = {
        name: {code: vocabulary.parent(code) for code in vocabulary.codes()}
        for name, vocabulary in (("acts", taxonomy.ACTS), ("citizenships", taxonomy.CITIZENSHIPS))
    }
    text = json.dumps([_VERSION, groupings], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


FORMAT = _format()

_VERSIONS = StatisticalMonthVersion.__table__
_STORED = StatisticalMonthCounts.__table__


@dataclass(frozen=True)
class _Known:
    version: str  # "" for a month not written since the triggers were installed
    counts: RecordCounts | None  # stored at this version and format, or None


def _versions(run: Executor, months: Sequence[str]) -> dict[str, str]:
    rows = run.execute(
        sa.select(_VERSIONS.c.month, _VERSIONS.c.version).where(_VERSIONS.c.month.in_(list(months)))
    )
    found = {str(month): str(version) for month, version in rows}
    return {month: found.get(month, "") for month in months}


def _known(run: Executor, months: Sequence[str]) -> dict[str, _Known]:
    versions = _versions(run, months)
    stored = {
        str(row.month): row
        for row in run.execute(
            sa.select(_STORED.c.month, _STORED.c.version, _STORED.c.format, _STORED.c.counts).where(
                _STORED.c.month.in_(list(months))
            )
        )
    }
    known = {}
    for month in months:
        row = stored.get(month)
        counts = None
        if row is not None and row.version == versions[month] and row.format == FORMAT:
            counts = counts_from_json(row.counts)
        known[month] = _Known(versions[month], counts)
    return known


def _store(counted: Mapping[str, RecordCounts], versions: Mapping[str, str]) -> None:
    """Store each month's counts with the version they were counted at, if that is still the
    month's version. A write since, committed or under way, means they are stale, and they
    are not kept: stale counts must not outlive the write (a withdrawal's record would live on
    in them).

    On PostgreSQL in a short transaction of its own, committed at once, so that the release's
    transaction holds no lock on the months' versions while it renders and signs (a batch
    written meanwhile would wait for it). A version row that a writer holds is skipped, and
    its month not stored: the writer is replacing it — and the writer may be this session's
    own transaction, which the short one must not wait for. On SQLite (whose writers take
    turns) in this session's transaction."""
    if not counted:
        return
    session = db.session
    postgresql = session.get_bind().dialect.name == "postgresql"
    lock = " FOR SHARE SKIP LOCKED" if postgresql else ""
    statement = sa.text(
        f"INSERT INTO {_STORED.name} (month, version, format, counts) "  # noqa: S608
        "SELECT CAST(:month AS VARCHAR(7)), CAST(:version AS VARCHAR(32)), "
        "CAST(:format AS VARCHAR(16)), CAST(:counts AS TEXT) "
        f"WHERE :version = coalesce((SELECT version FROM {_VERSIONS.name} "
        f"WHERE month = :month{lock}), '') "
        "ON CONFLICT (month) DO UPDATE SET version = excluded.version, "
        "format = excluded.format, counts = excluded.counts"
    )
    rows = [
        {"month": month, "version": versions[month], "format": FORMAT, "counts": counts_to_json(c)}
        for month, c in sorted(counted.items())
    ]
    if not postgresql:
        session.execute(statement, rows)
        return
    engine = session.get_bind()
    assert isinstance(engine, sa.Engine)
    with engine.begin() as connection:
        connection.execute(statement, rows)


def counts_by_month(months: Sequence[str]) -> dict[str, RecordCounts]:
    """`counts.count_records_by_month(months)`, the months whose records are unchanged since
    a release counted them taken from what it stored, the others counted (and stored) now.
    The same figures as counting them all (`tests/test_release_month_cache.py`). Months
    counted now are stored at once on PostgreSQL, in the session's transaction on SQLite
    (see `_store`)."""
    wanted = sorted(set(months))
    if not wanted:
        return {}
    snapshot = shared_snapshot()
    known = run_jobs({"known": lambda run: _known(run, wanted)}, snapshot)["known"]
    assert isinstance(known, dict)
    missing = [month for month in wanted if known[month].counts is None]
    counted = count_records_by_month(missing, snapshot) if missing else {}
    versions = {month: known[month].version for month in missing}
    _store(counted, versions)
    return {month: known[month].counts or counted[month] for month in months}
