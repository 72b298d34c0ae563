"""The caseworker's queue: filtering, ordering and paging reports, and each row's summary.

Status, assignee, day received, unread replies and deletion requests are plain columns and
filter in SQL. Urgency, act group and region are sealed (see `queue_index`): the candidates that
pass the SQL filters are ordered and filtered in memory from their opened index entries, and
only the page's 50 rows are then loaded whole.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import load_only

from incident_service import audit, taxonomy
from incident_service.cases import queue_index, queue_store
from incident_service.cases.queue_index import CaseSummary
from incident_service.cases.triage import team_members
from incident_service.constants import ReportStatus
from incident_service.crypto import RecipientPrivateKey
from incident_service.models import Report, db
from incident_service.numbers import ascii_int

PAGE_SIZE = 50
SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])
OPEN_STATUSES = (
    ReportStatus.NEW,
    ReportStatus.TRIAGED,
    ReportStatus.IN_PROGRESS,
    ReportStatus.REFERRED,
)


@dataclass(frozen=True)
class QueueFilters:
    status: str = "open"  # "open", "all", or one ReportStatus value
    priority: int | None = None
    act_group: str | None = None
    region: str | None = None
    assignee: str | None = None  # "me", "none" or a user id
    received_on: dt.date | None = None
    unread_only: bool = False
    deletion_requested_only: bool = False  # the reporter asked for deletion, not yet done


@dataclass(frozen=True)
class QueueRow:
    """One queue row as plain values, so rendering after the commit triggers no reloads."""

    id: str
    status: str
    priority: int
    received_on: dt.date
    labels: str
    unread: int
    assignee: str | None
    summary: CaseSummary | None  # None when the row cannot be opened with this team key
    deletion_requested: bool = False


@dataclass(frozen=True)
class Member:
    """Someone a case can be assigned to, as plain values (the page renders after commit)."""

    id: int
    email: str


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    page: int
    has_next: bool
    members: list[Member]


QUEUE_COLUMNS = (
    Report.id,
    Report.organisation_id,
    Report.status,
    Report.received_on,
    Report.assignee_id,
    Report.labels,
    Report.verification,
    Report.event_id,
    Report.unread_for_caseworkers,
    Report.deletion_requested,
    Report.priority_override,
)


def _plain_filters(
    statement: SelectT, *, organisation_id: int, filters: QueueFilters, viewer_id: int
) -> SelectT:
    statement = statement.where(Report.organisation_id == organisation_id)
    if filters.status == "open":
        statement = statement.where(Report.status.in_([s.value for s in OPEN_STATUSES]))
    elif filters.status != "all":
        statement = statement.where(Report.status == ReportStatus(filters.status).value)
    if filters.assignee == "me":
        statement = statement.where(Report.assignee_id == viewer_id)
    elif filters.assignee == "none":
        statement = statement.where(Report.assignee_id.is_(None))
    elif (assignee_id := ascii_int(filters.assignee)) is not None:
        statement = statement.where(Report.assignee_id == assignee_id)
    if filters.received_on is not None:
        statement = statement.where(Report.received_on == filters.received_on)
    if filters.unread_only:
        statement = statement.where(Report.unread_for_caseworkers > 0)
    if filters.deletion_requested_only:
        statement = statement.where(Report.deletion_requested.is_(True))
    return statement


def candidates_statement(
    *, organisation_id: int, filters: QueueFilters, viewer_id: int, dialect: str
) -> Select[Any]:
    """The ids of the reports that pass the plain filters, as one comma-separated string.

    One string, not a row per report: the day received and the urgency of a report the web
    process has opened are in its memory (`queue_index`), so the database only has to say which
    reports are candidates, and one value crosses the wire much faster than thousands of rows.
    """
    return _plain_filters(
        select(queue_index.joined_report_ids(dialect)),
        organisation_id=organisation_id,
        filters=filters,
        viewer_id=viewer_id,
    )


def overrides_statement(
    *, organisation_id: int, filters: QueueFilters, viewer_id: int
) -> Select[str, dt.date, bytes | None]:
    """The candidates with a caseworker's sealed priority (few; a partial index finds them)."""
    return _plain_filters(
        select(Report.id, Report.received_on, Report.priority_override).where(
            Report.priority_override.is_not(None)
        ),
        organisation_id=organisation_id,
        filters=filters,
        viewer_id=viewer_id,
    )


@dataclass(frozen=True)
class _Ranked:
    id: str
    priority: int
    entry: queue_index.IndexEntry | None


def _candidate_ids(*, organisation_id: int, filters: QueueFilters, viewer_id: int) -> set[str]:
    connection = db.session.connection()
    joined = connection.execute(
        candidates_statement(
            organisation_id=organisation_id,
            filters=filters,
            viewer_id=viewer_id,
            dialect=connection.dialect.name,
        )
    ).scalar()
    return set(joined.split(",")) if joined else set()


@dataclass(frozen=True)
class Ranking:
    """What a walk of the queue needs: the opened entries in order, the candidates of the view,
    and the reports ranked apart (a caseworker's priority, or unreadable)."""

    order: Sequence[tuple[int, int, str]]
    entries: Mapping[str, queue_index.IndexEntry]
    candidates: AbstractSet[str]
    apart: Sequence[tuple[int, int, str]]


def _ranking(
    *, organisation_id: int, filters: QueueFilters, viewer_id: int, team_key: RecipientPrivateKey
) -> Ranking:
    """The database names the candidates; the process keeps its own ordered memory of opened
    entries. That memory is filled from the sealed chunks at rest on the first view, then from
    any report new to it, whose entry is written back in a new chunk (`queue_store`). Reports
    with a caseworker's priority, and any whose answers do not open, are ranked apart."""
    candidates = _candidate_ids(
        organisation_id=organisation_id, filters=filters, viewer_id=viewer_id
    )
    if not queue_index.CACHE.is_loaded(organisation_id):
        queue_store.load(organisation_id, team_key)  # a few sealed chunks, not every report
    _, unreadable = queue_index.open_reports(
        organisation_id, queue_index.CACHE.unknown(organisation_id, candidates), team_key
    )
    queue_store.save(organisation_id, team_key)
    order, entries = queue_index.CACHE.ordered(organisation_id)
    normal = taxonomy.PRIORITY_NORMAL
    # By report: a report with a chosen priority whose answers do not open is ranked once.
    ranked_apart = {
        report_id: (normal, received_on.toordinal(), report_id)
        for report_id, received_on in unreadable
    }
    chosen = db.session.connection().execute(
        overrides_statement(organisation_id=organisation_id, filters=filters, viewer_id=viewer_id)
    )
    for report_id, received_on, sealed in chosen:
        entry = entries.get(report_id)
        priority = queue_index.effective_priority(entry, report_id, sealed, team_key)
        ranked_apart[report_id] = (priority, received_on.toordinal(), report_id)
    apart = [key for report_id, key in ranked_apart.items() if report_id in candidates]
    return Ranking(order=order, entries=entries, candidates=candidates, apart=apart)


def ranked_page(
    *,
    organisation_id: int,
    filters: QueueFilters,
    viewer_id: int,
    team_key: RecipientPrivateKey,
    page: int,
) -> tuple[list[_Ranked], bool]:
    """One page of the filtered queue in urgency order (priority, then newest, then id), and
    whether another page follows. The walk stops once the page is full."""
    ranking = _ranking(
        organisation_id=organisation_id, filters=filters, viewer_id=viewer_id, team_key=team_key
    )
    return window_of(ranking, filters=filters, page=page)


def walk(ranking: Ranking, *, filters: QueueFilters) -> Iterator[_Ranked]:
    """The view's reports in queue order, lazily: `ranking.order` holds (urgency, day, id)
    ascending for opened reports, `ranking.apart` the same keys with the priority to use for
    reports ranked apart (a caseworker's choice, or unreadable)."""
    order, entries, candidates = ranking.order, ranking.entries, ranking.candidates
    ranked_apart = sorted(ranking.apart, reverse=True)
    skip = {key[2] for key in ranked_apart}

    def walked() -> Iterator[tuple[int, int, str]]:
        for key in reversed(order):
            if key[2] in candidates and key[2] not in skip:
                yield key

    act_group, region, wanted = filters.act_group, filters.region, filters.priority
    plain = not act_group and not region
    for priority, _, report_id in heapq.merge(walked(), ranked_apart, reverse=True):
        if wanted is not None and priority != wanted:
            continue
        entry = entries.get(report_id)
        if not plain and not queue_index.matches(entry, act_group=act_group, region=region):
            continue
        yield _Ranked(id=report_id, priority=priority, entry=entry)


def window_of(ranking: Ranking, *, filters: QueueFilters, page: int) -> tuple[list[_Ranked], bool]:
    """The page of the view in queue order (see `walk`). Stops walking once it is full."""
    first = (max(page, 1) - 1) * PAGE_SIZE
    window: list[_Ranked] = []
    walked = walk(ranking, filters=filters)
    for seen, item in enumerate(walked, start=1):
        if seen > first + PAGE_SIZE:
            return window, True
        if seen > first:
            window.append(item)
    return window, False


@dataclass(frozen=True)
class Neighbours:
    """The cases before and after one case in a queue view, for moving between cases without
    going back to the queue. Both None when the case is not in the view (closed since, say)."""

    previous: str | None
    next: str | None
    in_view: bool


def neighbours_in(walked: Iterator[_Ranked], report_id: str) -> Neighbours:
    """Walk until the case after `report_id`; stop there."""
    previous: str | None = None
    for item in walked:
        if item.id == report_id:
            following = next(walked, None)
            return Neighbours(
                previous=previous, next=following.id if following else None, in_view=True
            )
        previous = item.id
    return Neighbours(previous=None, next=None, in_view=False)


def neighbours(
    *,
    organisation_id: int,
    filters: QueueFilters,
    viewer_id: int,
    team_key: RecipientPrivateKey,
    report_id: str,
) -> Neighbours:
    """The previous and next case of `report_id` in the queue view `filters` (nothing audited:
    only ids are read, no report's answers are shown)."""
    ranking = _ranking(
        organisation_id=organisation_id, filters=filters, viewer_id=viewer_id, team_key=team_key
    )
    return neighbours_in(walk(ranking, filters=filters), report_id)


def load_queue(
    *,
    organisation_id: int,
    filters: QueueFilters,
    viewer_id: int,
    team_key: RecipientPrivateKey,
    page: int = 1,
) -> QueuePage:
    """One page of the queue, each row's coded answers opened with the team key.

    The page view is recorded once, naming the reports whose coded answers were shown (the
    audit entry keeps the day only, see `audit.entry_time`).
    """
    members = [Member(id=user.id, email=user.email) for user in team_members(organisation_id)]
    window, has_next = ranked_page(
        organisation_id=organisation_id,
        filters=filters,
        viewer_id=viewer_id,
        team_key=team_key,
        page=page,
    )
    by_id = {
        report.id: report
        for report in db.session.scalars(
            select(Report)
            .options(load_only(*QUEUE_COLUMNS))
            .where(Report.id.in_([item.id for item in window]))
        )
    }
    emails = {member.id: member.email for member in members}
    rows = [
        QueueRow(
            id=report.id,
            status=report.status,
            priority=item.priority,
            received_on=report.received_on,
            labels=report.labels,
            unread=report.unread_for_caseworkers,
            assignee=emails.get(report.assignee_id) if report.assignee_id else None,
            summary=queue_index.summary(item.entry) if item.entry is not None else None,
            deletion_requested=bool(report.deletion_requested),
        )
        for item in window
        if (report := by_id.get(item.id)) is not None
    ]
    if rows:
        audit.record(
            "queue.view",
            actor_id=viewer_id,
            object_type="report",
            detail={"page": page, "reports": [row.id for row in rows]},
        )
    return QueuePage(rows=rows, page=max(page, 1), has_next=has_next, members=members)


@dataclass(frozen=True)
class QueueCounts:
    """The numbers above the queue: reports per status, and open ones that are mine or nobody's.
    All from plain columns, one query."""

    by_status: dict[str, int]
    open_total: int
    open_mine: int
    open_unassigned: int


def queue_counts(*, organisation_id: int, viewer_id: int) -> QueueCounts:
    open_values = [status.value for status in OPEN_STATUSES]
    is_open = Report.status.in_(open_values)
    rows = db.session.execute(
        select(
            Report.status,
            func.count(),
            func.count().filter(is_open, Report.assignee_id == viewer_id),
            func.count().filter(is_open, Report.assignee_id.is_(None)),
        )
        .where(Report.organisation_id == organisation_id)
        .group_by(Report.status)
    ).all()
    by_status = {status: total for status, total, _, _ in rows}
    return QueueCounts(
        by_status=by_status,
        open_total=sum(by_status.get(value, 0) for value in open_values),
        open_mine=sum(mine for _, _, mine, _ in rows),
        open_unassigned=sum(nobody for _, _, _, nobody in rows),
    )
