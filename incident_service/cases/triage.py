"""Case handling: opening a report, the status workflow and what caseworkers add to a case
(priority, assignee, labels, verification, sealed notes, interventions, replies). The queue that
lists cases is `cases.queue`.

Every function works inside one organisation: a report of another organisation is as absent as a
report that does not exist. Functions add to the session and record audit entries; the caller
commits, then enqueues whatever pipeline task a status change returned.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from incident_service import audit, taxonomy
from incident_service.auth.teams import team_public_key
from incident_service.cases import messaging, queue_index
from incident_service.constants import (
    UNCOUNTED_STATUSES,
    MessageAuthor,
    ReportStatus,
    Role,
    Section,
)
from incident_service.crypto import RecipientPrivateKey, RecipientPublicKey, bindings
from incident_service.crypto.envelopes import open_envelope, seal
from incident_service.models import (
    CaseNote,
    Intervention,
    Message,
    Organisation,
    Report,
    User,
    db,
    today,
)
from incident_service.pipeline import dispatch

# Intake sets 4 when someone is still detained, 3 when children are involved, 2 for violence,
# 1 otherwise (`taxonomy.urgency`); 0 is for a caseworker to lower a case.
PRIORITIES = (
    taxonomy.PRIORITY_LOW,
    taxonomy.PRIORITY_NORMAL,
    taxonomy.PRIORITY_VIOLENCE,
    taxonomy.PRIORITY_CHILDREN,
    taxonomy.PRIORITY_DETAINED,
)
VERIFICATION_LEVELS = (0, 1, 2)
MAX_LABELS = 10
MAX_LABEL_LENGTH = 30
MAX_NOTE_LENGTH = 10_000
_LABEL = re.compile(r"^[\w][\w\- ]*$")

# The workflow: forward along new → triaged → in progress → referred → closed (steps may be
# skipped), back to "in progress" from referred or closed, and out to spam or duplicate from
# anywhere. A report marked spam or duplicate by mistake comes back as triaged.
_MAIN = (
    ReportStatus.NEW,
    ReportStatus.TRIAGED,
    ReportStatus.IN_PROGRESS,
    ReportStatus.REFERRED,
    ReportStatus.CLOSED,
)


def _transitions() -> dict[ReportStatus, frozenset[ReportStatus]]:
    table: dict[ReportStatus, set[ReportStatus]] = {}
    for position, status in enumerate(_MAIN):
        table[status] = set(_MAIN[position + 1 :]) | set(UNCOUNTED_STATUSES)
    table[ReportStatus.REFERRED].add(ReportStatus.IN_PROGRESS)
    table[ReportStatus.CLOSED].add(ReportStatus.IN_PROGRESS)
    table[ReportStatus.SPAM] = {ReportStatus.TRIAGED, ReportStatus.DUPLICATE}
    table[ReportStatus.DUPLICATE] = {ReportStatus.TRIAGED, ReportStatus.SPAM}
    return {status: frozenset(targets) for status, targets in table.items()}


TRANSITIONS = _transitions()


class CaseNotFound(Exception):
    """No such report in this organisation (whether it exists elsewhere is not said)."""


class TransitionNotAllowed(Exception):
    def __init__(self, old: ReportStatus, new: ReportStatus) -> None:
        super().__init__(f"{old.value} cannot become {new.value}")
        self.old = old
        self.new = new


class InvalidCaseInput(Exception):
    """A value a caseworker typed that cannot be stored; `field` names the input."""

    def __init__(self, field: str, message: object) -> None:
        # A lazy string: `str(exc)` reads it in the staff member's language.
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------------------------
# Finding reports and opening them


def get_case(*, report_id: str, organisation_id: int) -> Report:
    if not re.fullmatch(r"[0-9a-f]{32}", report_id or ""):
        raise CaseNotFound(report_id)
    report = db.session.get(Report, report_id)
    if report is None or report.organisation_id != organisation_id:
        raise CaseNotFound(report_id)
    return report


def open_section(report: Report, section: Section, team_key: RecipientPrivateKey) -> dict[str, Any]:
    blob = report.statistical_section if section is Section.STATISTICAL else report.private_section
    document: dict[str, Any] = json.loads(
        open_envelope(
            blob, context=bindings.report_section(report.id, section), private_key=team_key
        )
    )
    return document


@dataclass(frozen=True)
class OpenedReport:
    coded: dict[str, Any]
    private: dict[str, Any]


def open_report(*, report: Report, team_key: RecipientPrivateKey, actor_id: int) -> OpenedReport:
    """Decrypt both sections for a caseworker, record the opening, and mark replies as read.

    Raises a `CryptoError` if the report is not sealed to this team key; the opening is then
    not recorded, because nothing was read.
    """
    coded = open_section(report, Section.STATISTICAL, team_key)
    private = open_section(report, Section.PRIVATE, team_key)
    audit.record("report.open", actor_id=actor_id, object_type="report", object_id=report.id)
    if report.unread_for_caseworkers:
        report.unread_for_caseworkers = 0
        db.session.execute(
            update(Message)
            .where(
                Message.report_id == report.id,
                Message.author == MessageAuthor.REPORTER.value,
                Message.read.is_(False),
            )
            .values(read=True)
        )
    return OpenedReport(coded=coded, private=private)


# --------------------------------------------------------------------------------------------
# Who can be assigned a case


def team_members(organisation_id: int) -> list[User]:
    """People a case can be assigned to."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.organisation_id == organisation_id,
                User.active.is_(True),
                User.role.in_([Role.CASEWORKER.value, Role.SUPERVISOR.value]),
            )
            .order_by(User.email)
        )
    )


# --------------------------------------------------------------------------------------------
# Status and case details


def change_status(*, report: Report, new_status: ReportStatus, actor_id: int) -> str | None:
    """Move a report along the workflow. Returns the pipeline task to enqueue after commit:
    withdrawing its statistical record when it becomes spam or a duplicate, restoring it when
    it is marked valid again."""
    old = ReportStatus(report.status)
    if new_status is old:
        return None
    if new_status not in TRANSITIONS[old]:
        raise TransitionNotAllowed(old, new_status)
    report.status = new_status.value
    day = today()
    if new_status is ReportStatus.TRIAGED and report.triaged_on is None:
        report.triaged_on = day
    if new_status is ReportStatus.REFERRED:
        report.referred_on = day
    if new_status is ReportStatus.CLOSED:
        report.closed_on = day
    elif old is ReportStatus.CLOSED:
        report.closed_on = None
    audit.record(
        "report.status",
        actor_id=actor_id,
        object_type="report",
        object_id=report.id,
        detail={"from": old.value, "to": new_status.value},
    )
    if new_status.withdraws_statistics and not old.withdraws_statistics:
        return dispatch.TASK_PIPELINE_WITHDRAW
    if old.withdraws_statistics and not new_status.withdraws_statistics:
        return dispatch.TASK_PIPELINE_RESTORE
    return None


def normalise_labels(text: str) -> str:
    """Comma-separated short tags, lower-cased and de-duplicated.

    Labels are stored in the clear to filter by, so they are kept to short tags of letters,
    digits, spaces and hyphens: no room for a name or a phone number to slip into plaintext.
    """
    labels: list[str] = []
    for raw in text.split(","):
        label = " ".join(raw.split()).lower()
        if not label:
            continue
        if len(label) > MAX_LABEL_LENGTH or not _LABEL.match(label) or "_" in label:
            raise InvalidCaseInput(
                "labels",
                _l(
                    "Labels are short tags (up to %(count)d letters, digits, spaces or "
                    "hyphens), separated by commas.",
                    count=MAX_LABEL_LENGTH,
                ),
            )
        if sum(ch.isdigit() for ch in label) > 4:
            raise InvalidCaseInput("labels", _l("Labels may not hold long numbers."))
        if label not in labels:
            labels.append(label)
    if len(labels) > MAX_LABELS:
        raise InvalidCaseInput("labels", _l("At most %(count)d labels.", count=MAX_LABELS))
    return ",".join(labels)


def case_priority(
    *, report: Report, team_key: RecipientPrivateKey, coded: dict[str, Any] | None = None
) -> int:
    """The case's priority: a caseworker's sealed choice, else the urgency of its coded answers
    (opened here unless the caller passes them)."""
    if coded is not None:
        entry: queue_index.IndexEntry | None = queue_index.entry_for_opened(
            report.organisation_id, report.id, report.received_on, coded
        )
    else:
        entry = queue_index.entry_for(report.organisation_id, report.id, team_key)
    return queue_index.effective_priority(entry, report.id, report.priority_override, team_key)


def update_case(
    *,
    report: Report,
    priority: int,
    assignee_id: int | None,
    labels: str,
    verification: int,
    actor_id: int,
    team_key: RecipientPrivateKey,
) -> list[str]:
    """Set priority, assignee, labels and verification level; returns the fields changed.

    The priority is sealed to the team key (`Report.priority_override`), and the audit entry
    says that it changed, not to what: a level names what happened (detained, children)."""
    if priority not in PRIORITIES:
        raise InvalidCaseInput("priority", _l("Unknown priority."))
    if verification not in VERIFICATION_LEVELS:
        raise InvalidCaseInput("verification", _l("Unknown verification level."))
    if assignee_id is not None and assignee_id not in {
        user.id for user in team_members(report.organisation_id)
    }:
        raise InvalidCaseInput("assignee", _l("That person cannot be assigned cases."))
    cleaned_labels = normalise_labels(labels)
    changes: dict[str, Any] = {}
    if priority != case_priority(report=report, team_key=team_key):
        report.priority_override = queue_index.seal_override(
            report.id, priority, _team_public(report)
        )
        changes["priority"] = "changed"
    for name, value in (
        ("assignee_id", assignee_id),
        ("labels", cleaned_labels),
        ("verification", verification),
    ):
        if getattr(report, name) != value:
            setattr(report, name, value)
            changes[name] = value
    if "labels" in changes:  # counted, not copied, into the audit detail
        changes["labels"] = len([label for label in cleaned_labels.split(",") if label])
    if changes:
        audit.record(
            "case.update",
            actor_id=actor_id,
            object_type="report",
            object_id=report.id,
            detail=changes,
        )
    return sorted(changes)


# --------------------------------------------------------------------------------------------
# Notes, interventions, replies


def _team_public(report: Report) -> RecipientPublicKey:
    organisation = db.session.get_one(Organisation, report.organisation_id)
    return team_public_key(organisation)


def add_note(*, report: Report, text: str, actor_id: int) -> CaseNote:
    """A caseworker's note, sealed to the team key like the report itself."""
    if not text.strip():
        raise InvalidCaseInput("text", _l("The note is empty."))
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidCaseInput(
            "text", _l("Notes hold at most %(count)d characters.", count=MAX_NOTE_LENGTH)
        )
    sealed = seal(
        json.dumps({"text": text}, ensure_ascii=False).encode("utf-8"),
        context=bindings.case_note(report.id),
        recipients=[_team_public(report)],
    )
    note = CaseNote(report_id=report.id, author_id=actor_id, created_on=today(), sealed=sealed)
    db.session.add(note)
    db.session.flush()
    audit.record(
        "note.add",
        actor_id=actor_id,
        object_type="report",
        object_id=report.id,
        detail={"note": note.id},
    )
    return note


@dataclass(frozen=True)
class NoteView:
    author: str
    created_on: dt.date
    text: str


def read_notes(report: Report, team_key: RecipientPrivateKey) -> list[NoteView]:
    rows = db.session.execute(
        select(CaseNote, User.email)
        .join(User, User.id == CaseNote.author_id)
        .where(CaseNote.report_id == report.id)
        .order_by(CaseNote.id)
    ).all()
    notes = []
    for note, email in rows:
        body = open_envelope(
            note.sealed, context=bindings.case_note(report.id), private_key=team_key
        )
        notes.append(
            NoteView(author=email, created_on=note.created_on, text=json.loads(body)["text"])
        )
    return notes


def add_intervention(
    *, report: Report, kind: str, on_date: dt.date | None, note: str, actor_id: int
) -> Intervention:
    if kind not in taxonomy.INTERVENTIONS:
        raise InvalidCaseInput("kind", _l("Unknown kind of intervention."))
    if on_date is not None and not dt.date(2000, 1, 1) <= on_date <= today() + dt.timedelta(
        days=366
    ):
        raise InvalidCaseInput("on_date", _l("That date is out of range."))
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidCaseInput("note", _l("At most %(count)d characters.", count=MAX_NOTE_LENGTH))
    sealed_note = None
    if note.strip():
        sealed_note = seal(
            json.dumps({"text": note}, ensure_ascii=False).encode("utf-8"),
            context=bindings.case_intervention(report.id),
            recipients=[_team_public(report)],
        )
    intervention = Intervention(
        report_id=report.id,
        kind=kind,
        on_date=on_date,
        created_by_id=actor_id,
        sealed_note=sealed_note,
    )
    db.session.add(intervention)
    db.session.flush()
    audit.record(
        "intervention.add",
        actor_id=actor_id,
        object_type="report",
        object_id=report.id,
        detail={"kind": kind},
    )
    return intervention


@dataclass(frozen=True)
class InterventionView:
    kind: str
    label: str
    on_date: dt.date | None
    note: str


def read_interventions(report: Report, team_key: RecipientPrivateKey) -> list[InterventionView]:
    rows = db.session.scalars(
        select(Intervention).where(Intervention.report_id == report.id).order_by(Intervention.id)
    )
    views = []
    for row in rows:
        note = ""
        if row.sealed_note is not None:
            body = open_envelope(
                row.sealed_note, context=bindings.case_intervention(report.id), private_key=team_key
            )
            note = str(json.loads(body)["text"])
        views.append(
            InterventionView(
                kind=row.kind,
                label=taxonomy.INTERVENTIONS.label(row.kind),
                on_date=row.on_date,
                note=note,
            )
        )
    return views


def send_reply(*, report: Report, text: str, actor_id: int) -> Message:
    """A caseworker's message to the reporter, readable with the receipt (no commit).

    Raises `messaging.EmptyMessage` or `messaging.MessageTooLong`.
    """
    message = messaging.post_message(
        report, author=MessageAuthor.CASEWORKER, text=text, author_user_id=actor_id
    )
    db.session.flush()
    audit.record(
        "message.send",
        actor_id=actor_id,
        object_type="report",
        object_id=report.id,
        detail={"message": message.id},
    )
    return message


def read_thread(report: Report, team_key: RecipientPrivateKey) -> list[messaging.ThreadMessage]:
    return messaging.read_thread(report, private_key=team_key)
