"""The caseworker's queue: filtering, ordering and paging reports, and each row's summary."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import load_only

from incident_service import audit, taxonomy
from incident_service.cases.triage import open_section, team_members
from incident_service.constants import ReportStatus, Section
from incident_service.crypto import RecipientPrivateKey, bindings
from incident_service.crypto.errors import CryptoError
from incident_service.models import Report, ReportFacet, db
from incident_service.numbers import ascii_int

PAGE_SIZE = 50
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
class CaseSummary:
    """The coded answers the queue shows for one row (opened with the team key)."""

    incident_date: str
    act_groups: list[str]
    acts: list[str]
    place: list[str]
    outcome: str | None
    group_size: int
    children: bool


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
class QueuePage:
    rows: list[QueueRow]
    page: int
    has_next: bool


QUEUE_COLUMNS = (
    Report.id,
    Report.organisation_id,
    Report.status,
    Report.priority,
    Report.received_on,
    Report.assignee_id,
    Report.labels,
    Report.verification,
    Report.event_id,
    Report.unread_for_caseworkers,
    Report.deletion_requested,
    Report.statistical_section,
)


def queue_statement(
    *, organisation_id: int, filters: QueueFilters, viewer_id: int, index_key: bytes, page: int
) -> Select[Report]:
    """The queue's query: urgency first (priority, then newest), 50 rows per page.

    One row more than a page is fetched to know whether a next page exists, instead of counting
    a whole organisation's reports on every view.
    """
    statement = (
        select(Report)
        .options(load_only(*QUEUE_COLUMNS))
        .where(Report.organisation_id == organisation_id)
    )
    if filters.status == "open":
        statement = statement.where(Report.status.in_([s.value for s in OPEN_STATUSES]))
    elif filters.status != "all":
        statement = statement.where(Report.status == ReportStatus(filters.status).value)
    if filters.priority is not None:
        statement = statement.where(Report.priority == filters.priority)
    for facet, value in (("act_group", filters.act_group), ("region", filters.region)):
        if value:
            tag = bindings.facet_tag(index_key, organisation_id, facet, value)
            statement = statement.where(
                Report.id.in_(select(ReportFacet.report_id).where(ReportFacet.tag == tag))
            )
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
    return (
        statement.order_by(Report.priority.desc(), Report.received_on.desc(), Report.id.desc())
        .offset((max(page, 1) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )


def summarise(report: Report, team_key: RecipientPrivateKey) -> CaseSummary | None:
    try:
        coded = open_section(report, Section.STATISTICAL, team_key)
    except (CryptoError, ValueError):
        return None
    acts = [str(code) for code in coded.get("acts", [])]
    place = [
        label
        for label in (
            taxonomy.AIRPORTS.label(coded["airport"]) if coded.get("airport") else None,
            taxonomy.REGIONS.label(coded["region"]) if coded.get("region") else None,
            taxonomy.COUNTRIES.label(coded["country"]) if coded.get("country") else None,
        )
        if label
    ]
    people = coded.get("people") or {}
    return CaseSummary(
        incident_date=str(coded.get("incident_date", "")),
        act_groups=sorted({taxonomy.act_group(code) for code in acts}),
        acts=acts,
        place=place,
        outcome=coded.get("outcome"),
        group_size=int(people.get("group_size") or 1),
        children=bool(people.get("children_involved")),
    )


def load_queue(
    *,
    organisation_id: int,
    filters: QueueFilters,
    viewer_id: int,
    index_key: bytes,
    team_key: RecipientPrivateKey,
    page: int = 1,
) -> QueuePage:
    """One page of the queue, each row's coded answers opened with the team key.

    The page view is recorded once, naming the reports whose coded answers were shown.
    """
    statement = queue_statement(
        organisation_id=organisation_id,
        filters=filters,
        viewer_id=viewer_id,
        index_key=index_key,
        page=page,
    )
    reports = list(db.session.scalars(statement))
    has_next = len(reports) > PAGE_SIZE
    reports = reports[:PAGE_SIZE]
    emails = {user.id: user.email for user in team_members(organisation_id)}
    rows = [
        QueueRow(
            id=report.id,
            status=report.status,
            priority=report.priority,
            received_on=report.received_on,
            labels=report.labels,
            unread=report.unread_for_caseworkers,
            assignee=emails.get(report.assignee_id) if report.assignee_id else None,
            summary=summarise(report, team_key),
            deletion_requested=bool(report.deletion_requested),
        )
        for report in reports
    ]
    if rows:
        audit.record(
            "queue.view",
            actor_id=viewer_id,
            object_type="report",
            detail={"page": page, "reports": [report.id for report in reports]},
        )
    return QueuePage(rows=rows, page=max(page, 1), has_next=has_next)
