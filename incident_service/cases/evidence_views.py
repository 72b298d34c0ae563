"""The caseworker's evidence pages under /cases: working copies shown inline (never cached),
originals on request, and the referral dossier. Routes join the `cases` blueprint."""

from __future__ import annotations

from flask import Response, abort, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from incident_service.auth.access import CASE_ROLES, current_staff, require_roles, requires_team_key
from incident_service.auth.forms import ConfirmForm
from incident_service.cases import dossier as case_dossier
from incident_service.cases import export as case_export
from incident_service.cases import triage
from incident_service.cases.forms import EXPORT_LABELS
from incident_service.cases.views import back_to_case, blueprint
from incident_service.crypto import RecipientPrivateKey
from incident_service.evidence import case_files
from incident_service.evidence.intake import ORIGINAL, WORKING, EvidenceIntegrityError
from incident_service.models import Report, db


def _case_or_404(report_id: str) -> Report:
    try:
        return triage.get_case(report_id=report_id, organisation_id=current_staff().organisation_id)
    except triage.CaseNotFound:
        abort(404)


def _file_response(opened: case_files.OpenedCopy, *, inline: bool) -> Response:
    response = Response(opened.data, mimetype=opened.media_type)
    disposition = "inline" if inline else "attachment"
    # Never cached (security headers: no-store), never sniffed into another type (nosniff).
    response.headers["Content-Disposition"] = f'{disposition}; filename="{opened.filename}"'
    return response


def _open(
    report: Report, file_id: str, copy: str, team_key: RecipientPrivateKey, *, inline: bool
) -> case_files.OpenedCopy | BaseResponse:
    try:
        row = case_files.get_case_file(report.id, file_id)
        opened = case_files.open_copy(
            row, copy=copy, team_key=team_key, actor_id=current_staff().id, inline=inline
        )
    except case_files.EvidenceFileNotFound:
        abort(404)
    except case_files.EvidenceUnreadable:
        db.session.rollback()
        flash(_("This file could not be opened: its stored copy was changed or damaged."), "error")
        return back_to_case(report, "evidence")
    db.session.commit()  # the custody entry first, then the bytes
    return opened


@blueprint.get("/<report_id>/evidence/<file_id>/working")
@require_roles(*CASE_ROLES)
@requires_team_key
def evidence_working(
    report_id: str, file_id: str, team_key: RecipientPrivateKey
) -> ResponseReturnValue:
    """The working copy: images and recordings shown in the case view, documents downloaded."""
    report = _case_or_404(report_id)
    download = request.args.get("download") == "1"
    opened = _open(report, file_id, WORKING, team_key, inline=not download)
    if isinstance(opened, BaseResponse):
        return opened
    inline = not download and opened.media_type.split("/")[0] in ("image", "audio")
    return _file_response(opened, inline=inline)


@blueprint.post("/<report_id>/evidence/<file_id>/original")
@require_roles(*CASE_ROLES)
@requires_team_key
def evidence_original(
    report_id: str, file_id: str, team_key: RecipientPrivateKey
) -> ResponseReturnValue:
    """The original, exactly as received, only on an explicit request (recorded)."""
    report = _case_or_404(report_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    opened = _open(report, file_id, ORIGINAL, team_key, inline=False)
    if isinstance(opened, BaseResponse):
        return opened
    return _file_response(opened, inline=False)


@blueprint.route("/<report_id>/dossier", methods=["GET", "POST"])
@require_roles(*CASE_ROLES)
@requires_team_key
def dossier(report_id: str, team_key: RecipientPrivateKey) -> ResponseReturnValue:
    report = _case_or_404(report_id)
    files = case_files.case_files(report.id, team_key)
    form = ConfirmForm()
    if request.method == "GET":
        return _dossier_form(report, files, form)
    if not form.validate_on_submit():
        abort(400)
    parts = [part for part in case_export.EXPORT_PARTS if request.form.get(f"part-{part}")]
    chosen = {
        item.row.id: [
            copy for copy in (ORIGINAL, WORKING) if request.form.get(f"{copy}-{item.row.id}")
        ]
        for item in files
    }
    try:
        built = case_dossier.build_dossier(
            report=report, parts=parts, files=chosen, team_key=team_key, actor_id=current_staff().id
        )
    except case_dossier.EmptyDossier:
        db.session.rollback()
        return _dossier_form(report, files, form, _("Tick at least one part or one file."), 400)
    except (case_files.EvidenceFileNotFound, EvidenceIntegrityError, case_files.EvidenceUnreadable):
        db.session.rollback()
        message = _("A chosen file has no working copy, or its original no longer matches.")
        return _dossier_form(report, files, form, message, 409)
    db.session.commit()
    response = Response(built.data, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{built.filename}"'
    return response


def _dossier_form(
    report: Report,
    files: list[case_files.CaseFile],
    form: ConfirmForm,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    page = render_template(
        "staff/cases/dossier_form.html",
        report=report,
        files=files,
        form=form,
        parts=EXPORT_LABELS,
        error=error,
    )
    return page, status
