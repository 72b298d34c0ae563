"""The caseworker's workspace under /cases: queue, case view, triage, replies, events, export,
and the supervisor's pages (granting the team key, reading the audit log)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from incident_service import taxonomy
from incident_service.auth.access import (
    CASE_ROLES,
    current_staff,
    require_roles,
    requires_team_key,
)
from incident_service.auth.forms import ConfirmForm, GrantForm
from incident_service.auth.teams import HolderNotConfirmed, TeamKeyUnavailable
from incident_service.cases import deletion as report_deletion
from incident_service.cases import display, events, messaging, team_access, triage
from incident_service.cases import export as case_export
from incident_service.cases import queue as case_queue
from incident_service.cases.forms import (
    EXPORT_LABELS,
    PRIORITY_LABELS,
    STATUS_LABELS,
    ActForm,
    DeleteReportForm,
    DetailsForm,
    ExportForm,
    InterventionForm,
    LinkEventForm,
    NewEventForm,
    NoteForm,
    ReplyForm,
    StatusForm,
    choices,
    parse_filters,
    parse_page,
)
from incident_service.constants import ReportStatus, Role
from incident_service.crypto import RecipientPrivateKey
from incident_service.crypto.errors import CryptoError
from incident_service.evidence import case_files
from incident_service.models import Report, db
from incident_service.numbers import ascii_int
from incident_service.pipeline import dispatch

blueprint = Blueprint("cases", __name__, url_prefix="/cases")
blueprint.add_app_template_filter(display.incident_date, "incident_date")


@blueprint.context_processor
def _labels() -> dict[str, Any]:
    return {
        "PRIORITY_LABELS": PRIORITY_LABELS,
        "STATUS_LABELS": {status.value: label for status, label in STATUS_LABELS.items()},
        "EXPORT_LABELS": EXPORT_LABELS,
    }


def _case_or_404(report_id: str) -> Report:
    try:
        return triage.get_case(report_id=report_id, organisation_id=current_staff().organisation_id)
    except triage.CaseNotFound:
        abort(404)


# The queue view a case was opened from rides along in the case page's links and forms, so
# that "Previous case" and "Next case" keep walking it after a change (`parse_filters` reads it).
QUEUE_VIEW_ARGS = frozenset(
    ("status", "priority", "act_group", "region", "assignee", "received", "unread", "deletion")
)


def _queue_view_args() -> dict[str, Any]:
    return {key: value for key, value in request.args.items() if key in QUEUE_VIEW_ARGS and value}


def back_to_case(report: Report, anchor: str = "") -> BaseResponse:
    """303 to the case page (at `anchor`), in the queue view the request came from."""
    return redirect(
        url_for("cases.case", report_id=report.id, **_queue_view_args())
        + (f"#{anchor}" if anchor else ""),
        303,
    )


def _refused(report: Report, message: str, anchor: str = "") -> BaseResponse:
    """Drop what the refused change added to the session and say why, back on the case."""
    db.session.rollback()
    flash(message, "error")
    return back_to_case(report, anchor)


# --------------------------------------------------------------------------------------------
# Queue and case. Every view here, reading or writing, needs the session's team key: a caseworker
# who has not been granted it (or has not unlocked) handles no case at all.


@blueprint.get("/")
@require_roles(*CASE_ROLES)
@requires_team_key
def queue(team_key: RecipientPrivateKey) -> ResponseReturnValue:
    principal = current_staff()
    filters = parse_filters(request.args)
    page = parse_page(request.args)
    result = case_queue.load_queue(
        organisation_id=principal.organisation_id,
        filters=filters,
        viewer_id=principal.id,
        team_key=team_key,
        page=page,
    )
    counts = case_queue.queue_counts(
        organisation_id=principal.organisation_id, viewer_id=principal.id
    )
    db.session.commit()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "staff/cases/queue.html",
        result=result,
        counts=counts,
        filters=filters,
        members=result.members,
        statuses=list(ReportStatus),
        page_args=args,
    )


@blueprint.get("/<report_id>")
@require_roles(*CASE_ROLES)
@requires_team_key
def case(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    principal = current_staff()
    report = _case_or_404(report_id)
    try:
        opened = triage.open_report(report=report, team_key=team_key, actor_id=principal.id)
    except CryptoError:
        db.session.rollback()
        return render_template("staff/cases/unreadable.html", report=report), 200
    # The queue view the case was opened from, so that "Previous case" and "Next case" walk
    # the same list without going back to it. Before the commit: walking the view may
    # write newly opened queue entries back in a sealed chunk (`queue_store.save`).
    queue_args = _queue_view_args()
    around = case_queue.neighbours(
        organisation_id=principal.organisation_id,
        filters=parse_filters(request.args),
        viewer_id=principal.id,
        team_key=team_key,
        report_id=report.id,
    )
    db.session.commit()
    members = triage.team_members(principal.organisation_id)
    priority = triage.case_priority(report=report, coded=opened.coded, team_key=team_key)
    details = DetailsForm(
        priority=priority,
        assignee=str(report.assignee_id or ""),
        labels=report.labels.replace(",", ", "),
        verification=report.verification,
    )
    details.assignee.choices = choices(
        [("", _("Nobody"))] + [(str(m.id), m.email) for m in members]
    )
    link_form = LinkEventForm()
    event_listing = events.list_events(organisation_id=principal.organisation_id, team_key=team_key)
    link_form.event_id.choices = choices(
        (listing.event.id, listing.details.title if listing.details else listing.event.id[:8])
        for listing in event_listing
    )
    event_details = None
    if report.event_id is not None:
        event_details = next(
            (listing for listing in event_listing if listing.event.id == report.event_id), None
        )
    status_form = StatusForm(status=report.status)
    allowed = triage.TRANSITIONS[ReportStatus(report.status)]
    status_form.status.choices = choices(
        (status.value, label)
        for status, label in STATUS_LABELS.items()
        if status in allowed or status.value == report.status
    )
    return render_template(
        "staff/cases/case.html",
        report=report,
        priority=priority,
        coded=opened.coded,
        private=opened.private,
        thread=triage.read_thread(report, team_key),
        evidence=case_files.case_files(report.id, team_key),
        notes=triage.read_notes(report, team_key),
        interventions=triage.read_interventions(report, team_key),
        event=event_details,
        status_form=status_form,
        details_form=details,
        note_form=NoteForm(),
        intervention_form=InterventionForm(),
        reply_form=ReplyForm(),
        link_form=link_form,
        new_event_form=NewEventForm(),
        confirm=ConfirmForm(),
        delete_form=DeleteReportForm(),
        may_delete=principal.role is Role.SUPERVISOR and report.deletion_requested,
        assignee=next((m.email for m in members if m.id == report.assignee_id), None),
        around=around,
        queue_args=queue_args,
    )


@blueprint.post("/<report_id>/status")
@require_roles(*CASE_ROLES)
@requires_team_key
def change_status(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    report = _case_or_404(report_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        task = triage.change_status(
            report=report, new_status=ReportStatus(form.status.data), actor_id=current_staff().id
        )
    except triage.TransitionNotAllowed:
        return _refused(report, _("That status change is not possible from here."))
    db.session.commit()
    if task is not None:
        dispatch.enqueue(task, report.id)
    flash(_("Status changed."), "ok")
    return back_to_case(report)


@blueprint.post("/<report_id>/details")
@require_roles(*CASE_ROLES)
@requires_team_key
def update_details(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    report = _case_or_404(report_id)
    form = DetailsForm()
    form.assignee.choices = []
    if not form.validate_on_submit():
        abort(400)
    raw_assignee = form.assignee.data or ""
    try:
        triage.update_case(
            report=report,
            priority=form.priority.data,
            assignee_id=ascii_int(raw_assignee),
            labels=form.labels.data or "",
            verification=form.verification.data,
            actor_id=current_staff().id,
            team_key=team_key,
        )
    except triage.InvalidCaseInput as exc:
        return _refused(report, str(exc), "details")
    db.session.commit()
    flash(_("Case updated."), "ok")
    return back_to_case(report, "details")


@blueprint.post("/<report_id>/notes")
@require_roles(*CASE_ROLES)
@requires_team_key
def add_note(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    report = _case_or_404(report_id)
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("The note is empty or too long."), "error")
        return back_to_case(report, "notes")
    try:
        triage.add_note(report=report, text=form.text.data, actor_id=current_staff().id)
    except triage.InvalidCaseInput as exc:
        return _refused(report, str(exc), "notes")
    db.session.commit()
    return back_to_case(report, "notes")


@blueprint.post("/<report_id>/interventions")
@require_roles(*CASE_ROLES)
@requires_team_key
def add_intervention(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    report = _case_or_404(report_id)
    form = InterventionForm()
    if not form.validate_on_submit():
        flash(_("Choose what was done; the date must be a date."), "error")
        return back_to_case(report, "interventions")
    try:
        triage.add_intervention(
            report=report,
            kind=form.kind.data,
            on_date=form.on_date.data,
            note=form.note.data or "",
            actor_id=current_staff().id,
        )
    except triage.InvalidCaseInput as exc:
        return _refused(report, str(exc), "interventions")
    db.session.commit()
    return back_to_case(report, "interventions")


@blueprint.post("/<report_id>/messages")
@require_roles(*CASE_ROLES)
@requires_team_key
def reply(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    report = _case_or_404(report_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        flash(_("The message is empty or too long."), "error")
        return back_to_case(report, "thread")
    try:
        triage.send_reply(report=report, text=form.text.data, actor_id=current_staff().id)
    except (messaging.EmptyMessage, messaging.MessageTooLong):
        return _refused(report, _("The message is empty or too long."), "thread")
    db.session.commit()
    flash(_("Message sent. The reporter reads it with their receipt."), "ok")
    return back_to_case(report, "thread")


@blueprint.post("/<report_id>/delete")
@require_roles(Role.SUPERVISOR)
@requires_team_key
def delete_report(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    """Carry out the reporter's deletion request: statistics withdrawn first, then the report."""
    report = _case_or_404(report_id)
    if not DeleteReportForm().validate_on_submit():
        flash(_("Tick the box to confirm the deletion."), "error")
        return back_to_case(report, "deletion")
    if not report.deletion_requested:
        return _refused(report, _("Only a report whose reporter asked for it can be deleted."))
    outcome = report_deletion.delete_requested_report(
        report_id=report.id, actor_id=current_staff().id
    )
    if outcome is report_deletion.DeletionOutcome.DELETED:
        flash(_("The report and everything with it is deleted."), "ok")
        return redirect(url_for("cases.queue", deletion="1"), 303)
    if outcome is report_deletion.DeletionOutcome.WORKER_UNREACHABLE:
        flash(
            _(
                "Nothing was deleted: the report's statistics must be withdrawn first and the "
                "worker cannot be reached. Please try again in a few minutes."
            ),
            "error",
        )
    else:
        flash(
            _(
                "Nothing was deleted yet: the report's statistics are being withdrawn first. "
                "Please try again in a few minutes."
            ),
            "error",
        )
    return back_to_case(report, "deletion")


# --------------------------------------------------------------------------------------------
# Events


@blueprint.post("/<report_id>/event")
@require_roles(*CASE_ROLES)
@requires_team_key
def link_event(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    principal = current_staff()
    report = _case_or_404(report_id)
    form = LinkEventForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        event = events.get_event(
            event_id=form.event_id.data or "", organisation_id=principal.organisation_id
        )
    except events.EventNotFound:
        abort(404)
    events.link_report(report=report, event=event, actor_id=principal.id)
    db.session.commit()
    return back_to_case(report, "event")


@blueprint.post("/<report_id>/event/new")
@require_roles(*CASE_ROLES)
@requires_team_key
def new_event(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    principal = current_staff()
    report = _case_or_404(report_id)
    form = NewEventForm()
    if not form.validate_on_submit():
        flash(_("Give the event a title and at least one person affected."), "error")
        return back_to_case(report, "event")
    try:
        event = events.create_event(
            organisation_id=principal.organisation_id,
            title=form.title.data,
            description=form.description.data or "",
            persons_affected=form.persons_affected.data,
            actor_id=principal.id,
        )
    except events.InvalidEventInput as exc:
        return _refused(report, str(exc), "event")
    events.link_report(report=report, event=event, actor_id=principal.id)
    db.session.commit()
    return back_to_case(report, "event")


@blueprint.post("/<report_id>/event/unlink")
@require_roles(*CASE_ROLES)
@requires_team_key
def unlink_event(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    report = _case_or_404(report_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    events.unlink_report(report=report, actor_id=current_staff().id)
    db.session.commit()
    return back_to_case(report, "event")


@blueprint.get("/events")
@require_roles(*CASE_ROLES)
@requires_team_key
def events_list(team_key: RecipientPrivateKey) -> ResponseReturnValue:
    listings = events.list_events(
        organisation_id=current_staff().organisation_id, team_key=team_key
    )
    return render_template("staff/cases/events.html", listings=listings)


@blueprint.get("/events/<event_id>")
@require_roles(*CASE_ROLES)
@requires_team_key
def event(event_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    try:
        found = events.get_event(event_id=event_id, organisation_id=current_staff().organisation_id)
    except events.EventNotFound:
        abort(404)
    try:
        details = events.read_event(found, team_key)
        acts = events.read_acts(found, team_key)
    except CryptoError:
        return render_template("staff/cases/unreadable.html", report=None), 200
    return render_template(
        "staff/cases/event.html",
        event=found,
        details=details,
        acts=acts,
        reports=events.linked_reports(found),
        act_form=ActForm(),
    )


@blueprint.post("/events/<event_id>/acts")
@require_roles(*CASE_ROLES)
@requires_team_key
def add_act(event_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    principal = current_staff()
    try:
        found = events.get_event(event_id=event_id, organisation_id=principal.organisation_id)
    except events.EventNotFound:
        abort(404)
    form = ActForm()
    if form.validate_on_submit():
        try:
            events.add_act(
                event=found,
                code=form.code.data,
                victims=form.victims.data,
                perpetrator=form.perpetrator.data or None,
                actor_id=principal.id,
            )
        except events.InvalidEventInput as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
    else:
        flash(_("Choose an act and the number of persons."), "error")
    return redirect(url_for("cases.event", event_id=found.id), 303)


# --------------------------------------------------------------------------------------------
# Export


@blueprint.route("/<report_id>/export", methods=["GET", "POST"])
@require_roles(*CASE_ROLES)
@requires_team_key
def export(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    report = _case_or_404(report_id)
    form = ExportForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("staff/cases/export_form.html", report=report, form=form), status
    parts = [part for part in case_export.EXPORT_PARTS if getattr(form, part).data]
    try:
        pdf = case_export.export_case_pdf(
            report=report, parts=parts, team_key=team_key, actor_id=current_staff().id
        )
    except case_export.NothingToExport:
        return render_template(
            "staff/cases/export_form.html",
            report=report,
            form=form,
            error=_("Tick at least one part to include."),
        ), 400
    db.session.commit()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="case-{report.id[:8]}.pdf"'
    return response


# --------------------------------------------------------------------------------------------
# Supervisor: team key grants and the audit log


@blueprint.get("/team")
@require_roles(Role.SUPERVISOR)
def team() -> ResponseReturnValue:
    return render_template(
        "staff/cases/team.html",
        members=team_access.members(current_staff().organisation_id),
        form=GrantForm(),
    )


def _fingerprint_refusal(reason: str, email: str) -> str:
    if reason == "missing":
        text = _(
            "Type the key fingerprint that %(email)s reads out to you from their own screen, in "
            "person or on a call where you know their voice. Never take it from anyone else.",
            email=email,
        )
        return str(text)
    # The likeliest cause is a typo; the dangerous one is an account that someone other than
    # its owner set up with the one-time password.
    text = _(
        "That fingerprint does not match the key of %(email)s, so the team key was not "
        "granted. Ask them to read it again from their own screen. If they cannot log in, or "
        "their screen shows a different number, someone else may have set up this account: do "
        "not grant it, and tell an administrator you trust.",
        email=email,
    )
    return str(text)


@blueprint.post("/team/<int:user_id>/grant")
@require_roles(Role.SUPERVISOR)
@requires_team_key
def grant(user_id: int, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    principal = current_staff()
    form = GrantForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        granted = team_access.grant(
            user_id=user_id,
            organisation_id=principal.organisation_id,
            team_private_key=team_key,
            granted_by=principal.user,
            typed_fingerprint=form.fingerprint.data or "",
        )
    except team_access.MemberNotFound:
        abort(404)
    except TeamKeyUnavailable:
        db.session.rollback()
        flash(_("They must finish their first login before the key can be granted."), "error")
        return redirect(url_for("cases.team"), 303)
    except HolderNotConfirmed as exc:
        db.session.commit()  # keep the refusal's audit entry
        flash(_fingerprint_refusal(exc.reason, team_access.member_email(user_id)), "error")
        return redirect(url_for("cases.team"), 303)
    db.session.commit()
    flash(_("Team key granted to %(email)s.", email=granted.email), "ok")
    return redirect(url_for("cases.team"), 303)


@blueprint.get("/audit")
@require_roles(Role.SUPERVISOR)
def audit_log() -> ResponseReturnValue:
    page = parse_page(request.args)
    lines, has_next = team_access.audit_page(
        organisation_id=current_staff().organisation_id, page=page
    )
    return render_template("staff/cases/audit.html", lines=lines, page=page, has_next=has_next)


@blueprint.app_template_filter("act_label")
def act_label(code: str) -> str:
    return taxonomy.ACTS.label(code) if code in taxonomy.ACTS else code
