"""Forms of the caseworker's workspace, and the queue's filter parameters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import cast

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from incident_service import taxonomy
from incident_service.cases.export import EXPORT_PARTS
from incident_service.cases.queue import QueueFilters
from incident_service.cases.triage import MAX_NOTE_LENGTH, PRIORITIES, VERIFICATION_LEVELS
from incident_service.constants import ReportStatus
from incident_service.numbers import ascii_int

# Each label says which intake rule sets that level, so a caseworker's choice means the same.
PRIORITY_LABELS = {
    taxonomy.PRIORITY_LOW: _l("Low"),
    taxonomy.PRIORITY_NORMAL: _l("Normal"),
    taxonomy.PRIORITY_VIOLENCE: _l("High (violence)"),
    taxonomy.PRIORITY_CHILDREN: _l("Very high (children involved)"),
    taxonomy.PRIORITY_DETAINED: _l("Urgent (someone still detained)"),
}
STATUS_LABELS = {
    ReportStatus.NEW: _l("New"),
    ReportStatus.TRIAGED: _l("Triaged"),
    ReportStatus.IN_PROGRESS: _l("In progress"),
    ReportStatus.REFERRED: _l("Referred"),
    ReportStatus.CLOSED: _l("Closed"),
    ReportStatus.SPAM: _l("Spam"),
    ReportStatus.DUPLICATE: _l("Duplicate"),
}
EXPORT_LABELS = {
    "coded": _l("Coded answers (what, where, when, who)"),
    "narrative": _l("The reporter's own account"),
    "place": _l("Place as the reporter described it"),
    "contact": _l("The reporter's contact details"),
    "notes": _l("Case notes"),
    "interventions": _l("Interventions"),
    "messages": _l("Messages with the reporter"),
    "event": _l("The linked event and its acts"),
}


def choices(pairs: Iterable[tuple[str, object]]) -> list[SelectChoice]:
    """Options for a SelectField (labels may be lazy translations)."""
    # Lazy labels stay lazy, so class-level choices are translated per request, not at import.
    return [SelectChoice(value, cast(str, label)) for value, label in pairs]


def parse_filters(args: Mapping[str, str]) -> QueueFilters:
    """Read the queue's query string; a value that is not a known choice is ignored."""
    deletion_only = args.get("deletion") == "1"
    # Pending deletion requests are looked for whatever the report's status.
    status = args.get("status") or ("all" if deletion_only else "open")
    if status not in {"open", "all"} | {s.value for s in ReportStatus}:
        status = "open"
    priority = ascii_int(args.get("priority"))
    act_group = args.get("act_group") or None
    region = args.get("region") or None
    assignee = args.get("assignee") or None
    received: dt.date | None = None
    try:
        received = dt.date.fromisoformat(args.get("received", ""))
    except ValueError:
        received = None
    return QueueFilters(
        status=status,
        priority=priority if priority in PRIORITIES else None,
        act_group=act_group if act_group in taxonomy.ACT_GROUPS else None,
        region=region if region in taxonomy.REGIONS else None,
        assignee=assignee if assignee in {"me", "none"} or ascii_int(assignee) else None,
        received_on=received,
        unread_only=args.get("unread") == "1",
        deletion_requested_only=deletion_only,
    )


def parse_page(args: Mapping[str, str]) -> int:
    page = ascii_int(args.get("page"))
    return min(max(page, 1), 100_000) if page is not None else 1


class StatusForm(FlaskForm):  # type: ignore[misc]
    status = SelectField(
        _l("Status"),
        choices=choices((status.value, label) for status, label in STATUS_LABELS.items()),
        validators=[DataRequired()],
    )


class DetailsForm(FlaskForm):  # type: ignore[misc]
    priority = SelectField(
        _l("Priority"),
        choices=choices((str(p), PRIORITY_LABELS[p]) for p in PRIORITIES),
        coerce=int,
    )
    assignee = SelectField(_l("Assigned to"), choices=[], validate_choice=False)
    labels = StringField(_l("Labels (comma-separated)"), validators=[Length(max=400)])
    verification = SelectField(
        _l("Verification"),
        choices=choices(
            (str(level), taxonomy.VERIFICATION_LEVELS.get(str(level)).msgid)
            for level in VERIFICATION_LEVELS
        ),
        coerce=int,
    )


class DeleteReportForm(FlaskForm):  # type: ignore[misc]
    confirm = BooleanField(
        _l("I have checked that the reporter asked for this, and it cannot be undone."),
        validators=[DataRequired()],
    )


class NoteForm(FlaskForm):  # type: ignore[misc]
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=MAX_NOTE_LENGTH)])


class InterventionForm(FlaskForm):  # type: ignore[misc]
    kind = SelectField(_l("What was done"), choices=[], validators=[DataRequired()])
    on_date = DateField(_l("Date"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE_LENGTH)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = choices((term.code, term.label) for term in taxonomy.INTERVENTIONS)


class ReplyForm(FlaskForm):  # type: ignore[misc]
    text = TextAreaField(
        _l("Message to the reporter"), validators=[DataRequired(), Length(max=5000)]
    )


class LinkEventForm(FlaskForm):  # type: ignore[misc]
    event_id = SelectField(_l("Event"), choices=[], validate_choice=False)


class NewEventForm(FlaskForm):  # type: ignore[misc]
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10_000)])
    persons_affected = IntegerField(
        _l("Persons affected"), default=1, validators=[DataRequired(), NumberRange(1, 100_000)]
    )


class ActForm(FlaskForm):  # type: ignore[misc]
    code = SelectField(_l("Act"), choices=[], validators=[DataRequired()])
    victims = IntegerField(
        _l("Persons"), default=1, validators=[DataRequired(), NumberRange(1, 100_000)]
    )
    perpetrator = SelectField(_l("Perpetrator"), choices=[], validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.code.choices = choices(
            (term.code, f"{term.code} {term.label}") for term in taxonomy.ACTS
        )
        self.perpetrator.choices = choices(
            [("", "—")] + [(term.code, term.label) for term in taxonomy.PERPETRATORS]
        )


class ExportForm(FlaskForm):  # type: ignore[misc]
    pass


for _part in EXPORT_PARTS:
    setattr(ExportForm, _part, BooleanField(EXPORT_LABELS[_part], default=False))
