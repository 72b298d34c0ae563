"""The reporter's pages: the report form, the receipt, the status page and the quick exit.

Thin edges: each view reads its form, calls one service function, commits, then enqueues. The
receipt never appears in a URL or a cookie: it is typed into a POST form and carried between
actions in a hidden field. Nothing here logs request data.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from incident_service import taxonomy
from incident_service.cases.messaging import (
    MAX_MESSAGE_LENGTH,
    EmptyMessage,
    MessageTooLong,
)
from incident_service.crypto.receipts import format_receipt
from incident_service.i18n import LANGUAGES
from incident_service.intake.forms import (
    GENERAL_ERRORS,
    ReceiptForm,
    ReportForm,
    StatusActionForm,
    errors_by_field,
    selectable_years,
)
from incident_service.intake.limits import (
    anonymous_allowance,
    count_filing,
    mark_receipt_rejected,
    receipt_lookup_limit,
    uncount_filing,
)
from incident_service.intake.reporter_access import (
    ReceiptNotRecognised,
    ReporterAccess,
    open_with_receipt,
    reporter_view,
    request_deletion,
    send_reporter_message,
    withdraw_statistics_consent,
)
from incident_service.intake.storage import bind_submission_token, submit_report
from incident_service.intake.submission import InvalidReport
from incident_service.intake.validation import parse_report
from incident_service.models import db, today
from incident_service.pipeline import dispatch

blueprint = Blueprint("reporter", __name__)


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "ru"


# --------------------------------------------------------------------------------------------
# Pages


@blueprint.get("/")
def index() -> ResponseReturnValue:
    return render_template("reporter/index.html")


@blueprint.route("/report", methods=["GET", "POST"])
def report() -> ResponseReturnValue:
    form = ReportForm()
    form.ensure_token()
    if request.method == "GET":
        return _report_page(form)
    if request.form.get("lang") in LANGUAGES:
        # A language button under the form: the same answers again in the new language,
        # nothing checked and nothing stored.
        return _report_page(form)
    try:
        submission = parse_report(form.report_body(language=current_language()))
    except InvalidReport as exc:
        db.session.rollback()
        return _report_page(form, errors=errors_by_field(exc.errors)), 422
    allowance = anonymous_allowance()
    count_filing(allowance)
    client_token = form.client_token()
    result = submit_report(
        submission,
        submission_token=(
            bind_submission_token(client_token, submission) if client_token is not None else None
        ),
    )
    if not result.created:
        uncount_filing(allowance)
    return render_template("reporter/receipt.html", receipt=format_receipt(result.receipt))


@blueprint.route("/status", methods=["GET", "POST"])
@receipt_lookup_limit
def status() -> ResponseReturnValue:
    if request.method == "GET":
        return _lookup_page(ReceiptForm())
    form = StatusActionForm()
    try:
        access = open_with_receipt(form.receipt.data or "")
    except ReceiptNotRecognised:
        mark_receipt_rejected()
        return _lookup_page(
            form,
            error=_(
                "No report was found for this number. A number has 20 digits. "
                "Check them and try again."
            ),
        )
    notice, errors = _apply_action(access, form)
    return _status_page(access, form, notice=notice, errors=errors)


@blueprint.get("/exit")
def exit_page() -> ResponseReturnValue:
    """Somewhere neutral to land, and an instruction to the browser to forget this site."""
    response = make_response(render_template("reporter/exit.html"))
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


# --------------------------------------------------------------------------------------------
# Status actions


def _apply_action(access: ReporterAccess, form: StatusActionForm) -> tuple[str, dict[str, str]]:
    """Carry out what the reporter pressed; return a notice and any errors to show."""
    action = (form.action.data or "").strip()
    if action == "message":
        try:
            send_reporter_message(access, text=form.text.data or "")
        except EmptyMessage:
            return "", {"text": _("Please write something before sending.")}
        except MessageTooLong:
            return "", {
                "text": _(
                    "This is too long (at most %(limit)s characters).", limit=MAX_MESSAGE_LENGTH
                )
            }
        db.session.commit()
        form.text.data = ""
        return _("Your message has been sent."), {}
    if action in ("withdraw", "delete"):
        if not form.confirm.data:
            return "", {action: _("Tick the box to confirm.")}
        if action == "withdraw":
            changed = withdraw_statistics_consent(access)
            db.session.commit()
            if changed:
                dispatch.enqueue(dispatch.TASK_PIPELINE_WITHDRAW, access.report.id)
            return _("Your report will no longer be counted in statistics."), {}
        requested = request_deletion(access)
        db.session.commit()
        if requested:  # the statistics go at once; the sweep makes up for a lost message
            dispatch.enqueue(dispatch.TASK_PIPELINE_WITHDRAW, access.report.id)
        return _("We have your request. The case team will delete your report."), {}
    return "", {}


# --------------------------------------------------------------------------------------------
# Rendering


def _report_page(form: ReportForm, *, errors: dict[str, str] | None = None) -> str:
    locale = get_locale()
    months = list(locale.months["stand-alone"]["wide"].items()) if locale is not None else []
    return render_template(
        "reporter/report.html",
        form=form,
        errors=errors or {},
        general_error=(errors or {}).get(GENERAL_ERRORS),
        years=selectable_years(today(), taxonomy.EARLIEST_INCIDENT_YEAR),
        months=months,
    )


def _lookup_page(form: ReceiptForm, *, error: str | None = None) -> str:
    return render_template("reporter/status_lookup.html", form=form, error=error)


def _status_page(
    access: ReporterAccess,
    form: StatusActionForm,
    *,
    notice: str = "",
    errors: dict[str, Any] | None = None,
) -> str:
    return render_template(
        "reporter/status.html",
        view=reporter_view(access),
        receipt=access.receipt,
        form=form,
        notice=notice,
        errors=errors or {},
        max_message_length=MAX_MESSAGE_LENGTH,
    )


# --------------------------------------------------------------------------------------------
# Errors on reporter pages, in the reporter's language


@blueprint.errorhandler(CSRFError)
def csrf_failed(_error: CSRFError) -> ResponseReturnValue:
    """An expired or missing form token: nothing is stored, and what was typed comes back."""
    message = _(
        "This page was open for too long or the browser did not send it completely. "
        "Nothing has been saved yet. Check your answers and press the button again."
    )
    if request.endpoint == "reporter.report":
        form = ReportForm()
        form.ensure_token()
        return _report_page(form, errors={GENERAL_ERRORS: message}), 400
    return _lookup_page(ReceiptForm(), error=message), 400


@blueprint.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    return (
        render_template(
            "reporter/problem.html",
            message=_(
                "What you sent is too large. Please shorten your text and try again. "
                "Nothing has been saved."
            ),
        ),
        413,
    )


@blueprint.errorhandler(TooManyRequests)
def too_many(_error: TooManyRequests) -> ResponseReturnValue:
    if request.endpoint == "reporter.report":
        # Nothing is stored, and what was typed comes back for a later try.
        report_form = ReportForm()
        report_form.ensure_token()
        message = _("Too many tries. Please wait a few minutes and try again.")
        return _report_page(report_form, errors={GENERAL_ERRORS: message}), 429
    form = ReceiptForm()
    return (
        _lookup_page(
            form,
            error=_("Too many tries. Please wait a few minutes and try again."),
        ),
        429,
    )
