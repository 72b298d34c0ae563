"""The reporter's pages: the report form, the receipt, the status page and the quick exit.

Every POST here answers "303 See Other" to a GET page (POST/redirect/GET): the browser's history
then holds only pages that can be fetched again, never a form that Back or Reload would send
again on a phone taken after "Leave quickly". What the GET page needs — the receipt just issued,
the receipt of an open status page, the answers of a refused form — waits in between in a
short-lived record sealed under a key in the session cookie (`intake.handoff`). A receipt never
appears in a URL, a page's form or a cookie in the clear. Records hold codes rather than
sentences, so that a page is always told in the language chosen when it is shown. Thin edges:
each view reads its form, calls one service function, commits, then enqueues. Nothing here logs
request data.
"""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests
from werkzeug.wrappers import Response

from incident_service import taxonomy
from incident_service.cases.messaging import (
    MAX_MESSAGE_LENGTH,
    EmptyMessage,
    MessageTooLong,
)
from incident_service.compression import allow_compression
from incident_service.crypto.receipts import format_receipt
from incident_service.database_outage import (
    DATABASE_ERRORS,
    note_database_outage,
    retry_later_headers,
)
from incident_service.error_pages import error_page
from incident_service.i18n import LANGUAGES, remember_language
from incident_service.intake import handoff
from incident_service.intake.details import (
    STEP_BY_NAME,
    STEPS,
    DetailStep,
    InvalidDetails,
    check_step,
    next_step,
)
from incident_service.intake.evidence import (
    FILE_FIELD,
    AttachOutcome,
    accepted_types,
    attach_to_new_report,
    attach_to_report_just_sent,
    attach_with_receipt,
    chosen_names,
    form_limits,
    kept_listings,
    kept_refusals,
    list_reporter_files,
    receipt_files,
    shown_refusals,
    too_large_text,
)
from incident_service.intake.forms import (
    GENERAL_ERRORS,
    ReceiptForm,
    ReportForm,
    StatusActionForm,
    error_summary,
    errors_by_field,
    first_invalid_field,
    form_from_answers,
    posted_answers,
    selectable_years,
    wants_full_form,
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
    post_reporter_message,
    reporter_view,
    request_deletion,
    send_reporter_message,
    withdraw_statistics_consent,
    written_in,
)
from incident_service.intake.storage import bind_submission_token, submit_report
from incident_service.intake.submission import MAX_NARRATIVE, InvalidReport
from incident_service.intake.understood import (
    QUESTIONS,
    from_record,
    readings_of,
    sentence,
    to_record,
)
from incident_service.intake.validation import parse_report
from incident_service.models import Report, db, today
from incident_service.pipeline import dispatch

blueprint = Blueprint("reporter", __name__)


@blueprint.context_processor
def _limits() -> dict[str, Any]:
    # Said beside the box instead of a `maxlength` that would cut a pasted text silently.
    # Lazy: written out in the reader's language only by the pages that show them (the receipt
    # page, rendered after every report, does not).
    return {
        "max_narrative": LazyString(format_decimal, MAX_NARRATIVE),
        "max_message": LazyString(format_decimal, MAX_MESSAGE_LENGTH),
    }


# A refusal that nothing posted may be kept for (an expired form token, a body too large), set
# by the error handlers for the page that follows. A code, never anything of the request.
PROBLEM_KEY = "problem"
TOO_MANY = _l("Too many tries. Please wait a few minutes and try again.")
PROBLEMS: dict[str, Any] = {
    "expired": _l("This page has expired and nothing was sent. Please start again."),
    "too_large": _l(
        "What you sent is too large. Please shorten your text and try again. "
        "Nothing has been saved."
    ),
    "too_many": TOO_MANY,
    "not_found": _l(
        "No report was found for this number. A number has 20 digits. Check them and try again."
    ),
    "closed": _l("This page was closed after a while without use. Please type your number again."),
}
DATABASE_DOWN = _l(
    "Your report could not be sent just now: the service is briefly unavailable. Nothing was "
    "stored. Your answers are still here: please send again in a few minutes."
)
NOTICES: dict[str, Any] = {
    "sent": _l("Your message has been sent."),
    "files_added": _l("Your files have been added."),
    "withdrawn": _l("Your report will no longer be counted in statistics."),
    "deletion": _l("We have your request. The case team will delete your report."),
}
ACTION_ERRORS: dict[str, Any] = {
    "empty": _l("Please write something before sending."),
    "too_long": _l("This is %(count)s characters long; at most %(limit)s fit."),
    "confirm": _l("Tick the box to confirm."),
    "no_files": _l("Choose at least one file."),
    "refused": _l("These files were not added:"),
    "reselect": _l("These files were not sent. Please choose them again:"),
}


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "ru"


def _see_other(endpoint: str, *, anchor: str | None = None) -> Response:
    """The answer to every reporter POST: fetch this page with GET."""
    target = url_for(endpoint, _anchor=f"field-{anchor}" if anchor else None)
    return redirect(target, code=303)


def _problem(code: object) -> str | None:
    if code == "files_too_large":  # states the limit, which is configured
        return too_large_text()
    message = PROBLEMS.get(code) if isinstance(code, str) else None
    return str(message) if message is not None else None


# --------------------------------------------------------------------------------------------
# The report form and the receipt


@blueprint.get("/")
def index() -> ResponseReturnValue:
    allow_compression()  # no form, no secret
    return render_template("reporter/index.html")


@blueprint.route("/report", methods=["GET", "POST"])
def report() -> ResponseReturnValue:
    """The quick report (issue 13): what happened, roughly when and where, consent. A draft
    that answers more than it asks is shown on the full form, so that nothing typed is hidden."""
    if request.method == "GET":
        return _report_get(full=False)
    return _report_post()


@blueprint.route("/report/full", methods=["GET", "POST"])
def report_full() -> ResponseReturnValue:
    """The full form, for caseworkers filing on someone's behalf: every question on one page."""
    if request.method == "GET":
        return _report_get(full=True)
    return _report_post()


def _report_post() -> ResponseReturnValue:
    form = ReportForm()
    form.ensure_token()
    files = request.files.getlist(FILE_FIELD)
    if request.form.get("lang") in LANGUAGES:
        # A language button under the form: the same answers again in the new language,
        # nothing checked and nothing stored. Asking for the locale remembers the choice.
        current_language()
        return _keep_draft(form, checked=False, files=files)
    try:
        submission = parse_report(form.report_body(language=current_language()))
    except InvalidReport as exc:
        db.session.rollback()
        return _keep_draft(form, checked=True, errors=errors_by_field(exc.errors), files=files)
    allowance = anonymous_allowance()
    count_filing(allowance)  # a full allowance raises TooManyRequests: see `too_many`
    client_token = form.client_token()
    try:
        result = submit_report(
            submission,
            submission_token=(
                bind_submission_token(client_token, submission)
                if client_token is not None
                else None
            ),
        )
    except DATABASE_ERRORS:
        uncount_filing(allowance)  # nothing was stored: the try must not count
        raise  # see `database_unavailable`
    if not result.created:
        uncount_filing(allowance)
    # The report is committed first; its files follow one by one (a refused file costs neither
    # the report nor the other files). A second press of the same form adds no files again.
    outcome = attach_to_new_report(result.report_id, files) if result.created else AttachOutcome()
    if outcome.attached:  # names no file or report: the worker finds what has no copy yet
        dispatch.enqueue(dispatch.TASK_EVIDENCE_CLEAN)
    return _hand_over_receipt(
        result.receipt,
        outcome,
        understood=to_record(readings_of(form.data)),
        report_id=result.report_id,
        country=submission.country,
    )


def _report_get(*, full: bool) -> ResponseReturnValue:
    """The receipt just issued (once), else the form: with the draft of a refused attempt and
    its errors, else blank."""
    problem = _problem(session.pop(PROBLEM_KEY, None))
    pending = handoff.take(handoff.RECEIPT)
    receipts = [r for r in (pending or {}).get("receipts", []) if isinstance(r, str)]
    if receipts:
        # The latest report's "add details" steps open from its receipt page.
        details = _open_details((pending or {}).get("report"), (pending or {}).get("country"))
        return _receipt_page(
            receipts,
            (pending or {}).get("files"),
            understood=(pending or {}).get("understood"),
            details=details,
        )
    draft = handoff.get(handoff.DRAFT)
    if draft is None:
        form = ReportForm()
        form.ensure_token()
        # The blank form: its tokens are secret, but nothing a request sends appears on it
        # (the language is one of five; a problem is a code). Never the receipt, never a draft.
        allow_compression()
        return _report_page(form, general_error=problem, full=full)
    # Files to choose again are asked for on the full form (the quick report carries none).
    full = full or wants_full_form(draft.get("answers")) or bool(_names(draft.get("files")))
    form = form_from_answers(draft.get("answers"))
    errors: dict[str, str] = {}
    if draft.get("checked"):
        # Checked again rather than stored: the messages follow the language now chosen.
        try:
            parse_report(form.report_body(language=current_language()))
        except InvalidReport as exc:
            errors = errors_by_field(exc.errors)
    general_error = problem or _problem(draft.get("problem"))
    return _report_page(
        form,
        errors=errors,
        general_error=general_error,
        reselect=_names(draft.get("files")),
        full=full,
    )


def _names(kept: object) -> list[str]:
    return [name for name in (kept if isinstance(kept, list) else []) if isinstance(name, str)]


def _keep_draft(
    form: ReportForm,
    *,
    checked: bool,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 422,
    files: list[FileStorage] | None = None,
) -> ResponseReturnValue:
    """Keep what was posted for the GET page that follows, and send the browser there. Files
    cannot be kept (a browser cannot fill a file input in again): their names are, so that
    the page can ask for them again."""
    answers = posted_answers(request.form, token=form.token.data or "")
    names = chosen_names(files or [])
    record = {"answers": answers, "checked": checked, "problem": problem, "files": names}
    try:
        handoff.put(handoff.DRAFT, record)
    except handoff.StoreUnavailable:
        # Redis is configured but down: answer with the page itself, as before redirects were
        # used. Nothing typed is lost; the price is a page that Back or Reload may offer to
        # send again, which after "Leave quickly" meets the CSRF check and shows nothing.
        general = _problem(problem) or (errors or {}).get(GENERAL_ERRORS)
        page = _report_page(
            form,
            errors=errors,
            general_error=general,
            degraded=True,
            reselect=names,
            full=request.endpoint == "reporter.report_full"
            or wants_full_form(answers)
            or bool(names),
        )
        return page, (status if checked or problem else 200)
    anchor = first_invalid_field(errors or {}) or (FILE_FIELD if names else None)
    return _see_other(_form_endpoint(), anchor=anchor)


def _form_endpoint() -> str:
    """The form a POST came from (the quick report or the full form), to show again."""
    return (
        "reporter.report_full" if request.endpoint == "reporter.report_full" else "reporter.report"
    )


def _hand_over_receipt(
    receipt: str,
    outcome: AttachOutcome,
    *,
    understood: list[list[object]],
    report_id: str | None = None,
    country: str | None = None,
) -> ResponseReturnValue:
    """Keep the receipt for its page (once) and send the browser there. A receipt not yet
    shown (a second report from another tab before the first page loaded) is kept with it.
    `understood` says how numbers typed in words were read (codes and numbers, no words)."""
    # The filed form's draft goes, in the same round trip as reading the receipts not yet shown:
    # a browser without records yet (the usual case) costs no round trip for either.
    pending = handoff.get_deleting(handoff.RECEIPT, handoff.DRAFT) or {}
    receipts = [r for r in pending.get("receipts", []) if isinstance(r, str) and r != receipt]
    receipts.append(receipt)
    kept = pending.get("files")
    files: dict[str, Any] = dict(kept) if isinstance(kept, dict) else {}
    files[receipt] = {
        "attached": kept_listings(outcome.attached),
        "refused": kept_refusals(outcome.refused),
    }
    try:
        handoff.put(
            handoff.RECEIPT,
            {
                "receipts": receipts,
                "files": files,
                "understood": understood,
                # The latest report, for its "add details" steps (intake.details).
                "report": report_id,
                "country": country,
            },
        )
    except handoff.StoreUnavailable:
        # Redis is down: the reporter must never lose a receipt, so the POST shows it itself.
        return _receipt_page(receipts, files, understood=understood, degraded=True)
    return _see_other("reporter.report")


# --------------------------------------------------------------------------------------------
# Details after sending: optional steps for the report just sent (intake.details)

DETAILS_NOTICE = _l("Added to your report.")
DETAILS_CLOSED = _l(
    "This page was closed after a while without use. What you sent before is kept. To add "
    "more, open your report with your number."
)


def _open_details(report_id: object, country: object) -> bool:
    """Keep the report just sent for its "add details" steps; False if the store is down (the
    receipt page then says to add details with the number later). The record names the report,
    never its receipt: the steps only write to the report, and the receipt must not outlive
    its page (tests/attacks/test_searched_phone.py)."""
    if not isinstance(report_id, str):
        return False
    record = {"report": report_id, "country": country if isinstance(country, str) else None}
    try:
        handoff.put(handoff.DETAILS, record)
    except handoff.StoreUnavailable:
        return False
    return True


def _details_access() -> tuple[dict[str, Any], Report] | None:
    record = handoff.get(handoff.DETAILS)
    report_id = record.get("report") if record is not None else None
    if record is None or not isinstance(report_id, str):
        return None
    report = db.session.get(Report, report_id)
    if report is None:  # deleted since
        handoff.delete(handoff.DETAILS)
        return None
    return record, report


@blueprint.get("/report/details")
def details_start() -> ResponseReturnValue:
    return redirect(url_for("reporter.details", step=STEPS[0].name), code=303)


@blueprint.route("/report/details/<step>", methods=["GET", "POST"])
def details(step: str) -> ResponseReturnValue:
    chosen = STEP_BY_NAME.get(step)
    if chosen is None and step != "done":
        return error_page(404)
    if request.method == "GET":
        return _details_get(chosen)
    current_language()  # a posted `lang` is remembered for the page that follows
    opened = _details_access()
    if opened is None or chosen is None:
        return redirect(url_for("reporter.details", step=step), code=303)
    record, report = opened
    form = ReportForm()
    answers = posted_answers(request.form, token="")
    if request.form.get("lang") in LANGUAGES:  # the same answers again in another language
        return _keep_details(record, chosen, answers, checked=False)
    try:
        details = check_step(chosen, form, language=current_language(), country=_country(record))
    except InvalidDetails as exc:
        return _keep_details(record, chosen, answers, checked=True, anchor=exc.errors)
    files = request.files.getlist(FILE_FIELD) if chosen.name == "words" else []
    added = False
    if not details.empty:
        post_reporter_message(
            report,
            text=details.text,
            limit=MAX_NARRATIVE + MAX_MESSAGE_LENGTH,
            details={"step": chosen.name, **details.codes},
        )
        if details.follow_up:
            report.consent_follow_up = True
        if details.ombudsman:
            report.consent_ombudsman = True
        db.session.commit()
        added = True
    outcome = (
        attach_to_report_just_sent(report.id, files) if chosen_names(files) else AttachOutcome()
    )
    if outcome.attached:  # names no file or report: the worker finds what has no copy yet
        dispatch.enqueue(dispatch.TASK_EVIDENCE_CLEAN)
        added = True
    following = next_step(chosen)
    kept: dict[str, Any] = {"report": report.id, "country": _country(record), "notice": added}
    if outcome.refused:
        kept["refused"] = kept_refusals(outcome.refused)
    try:
        handoff.put(handoff.DETAILS, kept)
    except handoff.StoreUnavailable:
        return _details_page(following, notice=added, refused=kept.get("refused"))
    return redirect(url_for("reporter.details", step=following.name if following else "done"), 303)


def _country(record: dict[str, Any]) -> str | None:
    country = record.get("country")
    return country if isinstance(country, str) else None


def _keep_details(
    record: dict[str, Any],
    step: DetailStep,
    answers: list[list[str]],
    *,
    checked: bool,
    anchor: dict[str, str] | None = None,
) -> ResponseReturnValue:
    kept = {
        "report": record.get("report"),
        "country": _country(record),
        "draft": {"step": step.name, "answers": answers, "checked": checked},
    }
    place = first_invalid_field(anchor or {})
    target = url_for(
        "reporter.details", step=step.name, _anchor=f"field-{place}" if place else None
    )
    try:
        handoff.put(handoff.DETAILS, kept)
    except handoff.StoreUnavailable:
        opened = _details_access()
        if opened is None:
            return redirect(target, code=303)
        form = form_from_answers(answers)
        return _details_page(step, form=form, errors=anchor or {}), 422
    return redirect(target, code=303)


def _details_get(step: DetailStep | None) -> ResponseReturnValue:
    problem = _problem(session.pop(PROBLEM_KEY, None))
    opened = _details_access()
    if opened is None:
        return render_template("reporter/problem.html", message=str(DETAILS_CLOSED))
    record = opened[0]
    draft = record.get("draft")
    draft = draft if isinstance(draft, dict) and step and draft.get("step") == step.name else {}
    form = form_from_answers(draft.get("answers"))
    errors: dict[str, str] = {}
    if draft.get("checked") and step is not None:
        try:  # checked again rather than stored: the messages follow the language now chosen
            check_step(step, form, language=current_language(), country=_country(record))
        except InvalidDetails as exc:
            errors = exc.errors
    notice, refused = bool(record.get("notice")), record.get("refused")
    if notice or refused:  # said once
        _try_put(
            handoff.DETAILS, {k: v for k, v in record.items() if k not in ("notice", "refused")}
        )
    return _details_page(
        step, form=form, errors=errors, notice=notice, refused=refused, problem=problem
    )


def _details_page(
    step: DetailStep | None,
    *,
    form: ReportForm | None = None,
    errors: dict[str, str] | None = None,
    notice: bool = False,
    refused: object = None,
    problem: str | None = None,
) -> str:
    # The page shows nothing of the report, only the step's questions: the record that names
    # the report opens no part of it.
    return render_template(
        "reporter/details.html",
        step=step,
        steps=STEPS,
        following=next_step(step) if step is not None else None,
        form=form or form_from_answers(None),
        errors=errors or {},
        summary=error_summary(errors or {}),
        notice=str(DETAILS_NOTICE) if notice else "",
        refused=shown_refusals(refused),
        problem=problem,
        evidence_accept=accepted_types(),
        evidence_limits=form_limits(),
        understood={},
    )


# --------------------------------------------------------------------------------------------
# The status page


@blueprint.route("/status", methods=["GET", "POST"])
@receipt_lookup_limit
def status() -> ResponseReturnValue:
    if request.method == "GET":
        return _status_get()
    current_language()  # a posted `lang` is remembered for the page that follows
    form = StatusActionForm()
    if (form.action.data or "").strip() == "close":
        handoff.delete(handoff.STATUS)
        return _see_other("reporter.status")
    if "receipt" in request.form:
        try:
            access = open_with_receipt(form.receipt.data or "")
        except ReceiptNotRecognised:
            mark_receipt_rejected()
            return _keep_status_draft(receipt=form.receipt.data, problem="not_found")
        kept = handoff.take(handoff.STATUS_DRAFT) or {}
        flash = _apply_action(access, form) or _kept_text(kept)
        _follow_report_language(access)
        return _hand_over_status(access, flash)
    access_or_none = _open_status(handoff.get(handoff.STATUS))
    if access_or_none is None:
        # The page closed (or was left) while the reporter was on it: keep what they were
        # writing (and the names of the files they chose), and ask for the number again.
        text = form.text.data if (form.action.data or "").strip() == "message" else None
        files = chosen_names(request.files.getlist(FILE_FIELD))
        return _keep_status_draft(problem="closed", text=text, files=files)
    return _hand_over_status(access_or_none, _apply_action(access_or_none, form))


def _status_get() -> ResponseReturnValue:
    """The open status page (its receipt kept server-side), else the lookup."""
    problem = _problem(session.pop(PROBLEM_KEY, None))
    record = handoff.get(handoff.STATUS)
    access = _open_status(record)
    if record is not None and access is not None:
        flash = record.get("flash")
        flash = flash if isinstance(flash, dict) else {}
        if any(flash.get(key) for key in ("notice", "errors", "refused", "reselect")):
            # Notices and errors are shown once; a message being written stays until sent.
            remaining = {"text": flash["text"]} if flash.get("text") else {}
            _try_put(handoff.STATUS, {"receipt": access.receipt, "flash": remaining})
        return _status_page(access, flash, problem=problem)
    draft = handoff.take(handoff.STATUS_DRAFT) or {}
    kept = _kept_text(draft)
    if kept:
        _try_put(handoff.STATUS_DRAFT, {"text": kept.get("text"), "files": kept.get("reselect")})
    typed = draft.get("receipt")
    return _lookup_page(
        typed if isinstance(typed, str) else None,
        problem or _problem(draft.get("problem")),
        reselect=_names(draft.get("files")),
    )


def _follow_report_language(access: ReporterAccess) -> None:
    """After a lookup, the pages follow the language the report was written in (a reporter
    may look it up from a browser set to another); the language links still change it."""
    if request.values.get("lang") in LANGUAGES:  # chosen with this very request: it wins
        return
    language = written_in(access)
    if language is not None and language != current_language():
        remember_language(language)


def _open_status(record: dict[str, Any] | None) -> ReporterAccess | None:
    """The report of the open status page's `record`, if there is one and it still exists."""
    receipt = record.get("receipt") if record is not None else None
    if not isinstance(receipt, str):
        return None
    try:
        return open_with_receipt(receipt)
    except ReceiptNotRecognised:  # deleted since: the page closes
        handoff.delete(handoff.STATUS)
        return None


def _kept_text(kept: dict[str, Any]) -> dict[str, Any]:
    """What a closed page kept for the reporter: the message being written, and the names of
    the files to choose again (the page opens at the file input)."""
    flash: dict[str, Any] = {}
    text = kept.get("text")
    if isinstance(text, str) and text:
        flash["text"] = text
    names = _names(kept.get("files"))
    if names:
        flash["reselect"] = names
        flash["errors"] = {FILE_FIELD: "reselect"}
    return flash


def _try_put(kind: handoff.Kind, document: dict[str, Any]) -> None:
    # On a GET the page is shown anyway: a record not rewritten just expires as it was.
    with contextlib.suppress(handoff.StoreUnavailable):
        handoff.put(kind, document)


def _hand_over_status(access: ReporterAccess, flash: dict[str, Any]) -> ResponseReturnValue:
    """Keep the open page's receipt (and what to tell once) and send the browser to it."""
    try:
        handoff.put(handoff.STATUS, {"receipt": access.receipt, "flash": flash})
    except handoff.StoreUnavailable:
        # Redis is down: the page is the POST's answer, and its forms carry the receipt in a
        # hidden field as they did before redirects were used.
        return _status_page(access, flash, degraded=True)
    errors = flash.get("errors") or {}
    return _see_other("reporter.status", anchor=next(iter(errors), None))


def _keep_status_draft(
    *,
    receipt: str | None = None,
    problem: str,
    text: str | None = None,
    files: list[str] | None = None,
) -> ResponseReturnValue:
    """Keep what the lookup page needs after a refusal, and send the browser there. A message
    (and the names of chosen files) kept from a closed page stays through a mistyped number."""
    earlier = handoff.get(handoff.STATUS_DRAFT) or {}
    if text is None:
        text = earlier.get("text") if isinstance(earlier.get("text"), str) else None
    if not files:
        files = _names(earlier.get("files"))
    record = {"receipt": receipt, "problem": problem, "text": text, "files": files}
    try:
        handoff.put(handoff.STATUS_DRAFT, record)
    except handoff.StoreUnavailable:  # Redis is down: the lookup page is the POST's answer
        return _lookup_page(receipt, _problem(problem), degraded=True, reselect=files)
    return _see_other("reporter.status")


def _apply_action(access: ReporterAccess, form: StatusActionForm) -> dict[str, Any]:
    """Carry out what the reporter pressed; return what the page should tell them once."""
    action = (form.action.data or "").strip()
    if action == FILE_FIELD:
        return _add_evidence(access)
    if action == "message":
        text = form.text.data or ""
        try:
            send_reporter_message(access, text=text)
        except EmptyMessage:
            return {"errors": {"text": "empty"}, "text": text}
        except MessageTooLong:
            return {"errors": {"text": "too_long"}, "text": text}
        db.session.commit()
        return {"notice": "sent"}
    if action in ("withdraw", "delete"):
        if not form.confirm.data:
            return {"errors": {action: "confirm"}}
        if action == "withdraw":
            changed = withdraw_statistics_consent(access)
            db.session.commit()
            if changed:  # no report id in the message: see dispatch.statistics_changed
                dispatch.statistics_changed()
            return {"notice": "withdrawn"}
        requested = request_deletion(access)
        db.session.commit()
        if requested:  # the statistics go at once; the sweep makes up for a lost message
            dispatch.statistics_changed()
        return {"notice": "deletion"}
    return {}


def _add_evidence(access: ReporterAccess) -> dict[str, Any]:
    """ "Add evidence": attach the chosen files; say what was added and what was refused."""
    files = request.files.getlist(FILE_FIELD)
    if not chosen_names(files):
        return {"errors": {FILE_FIELD: "no_files"}}
    outcome = attach_with_receipt(access, files)  # commits after each file
    if outcome.attached:  # names no file or report: the worker finds what has no copy yet
        dispatch.enqueue(dispatch.TASK_EVIDENCE_CLEAN)
    flash: dict[str, Any] = {"notice": "files_added"} if outcome.attached else {}
    if outcome.refused:
        flash["refused"] = kept_refusals(outcome.refused)
        flash["errors"] = {FILE_FIELD: "refused"}
    return flash


@blueprint.get("/exit")
def exit_page() -> ResponseReturnValue:
    """Somewhere neutral to land: this browser's records are deleted, its cookie emptied, and
    the browser told to forget the site."""
    # Rendered first, while the session still names the reporter's language.
    response = make_response(render_template("reporter/exit.html"))
    handoff.forget_browser()
    session.clear()
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


# --------------------------------------------------------------------------------------------
# Rendering


def _report_page(
    form: ReportForm,
    *,
    errors: dict[str, str] | None = None,
    general_error: str | None = None,
    degraded: bool = False,
    reselect: list[str] | None = None,
    full: bool = True,
) -> str:
    locale = get_locale()
    months = list(locale.months["stand-alone"]["wide"].items()) if locale is not None else []
    return render_template(
        "reporter/report.html" if full else "reporter/quick.html",
        form=form,
        errors=errors or {},
        summary=error_summary(errors or {}),
        general_error=general_error or (errors or {}).get(GENERAL_ERRORS),
        years=selectable_years(today(), taxonomy.EARLIEST_INCIDENT_YEAR),
        months=months,
        understood={name: sentence(name, r) for name, r in readings_of(form.data).items()},
        degraded=degraded,
        reselect=reselect or [],
        evidence_accept=accepted_types(),
        evidence_limits=form_limits(),
    )


def _receipt_page(
    receipts: list[str],
    files: object,
    *,
    understood: object,
    degraded: bool = False,
    details: bool = False,
) -> str:
    """The receipts just issued, each with the files attached and those refused, and how
    numbers typed in words were read (the latest report's)."""
    entries = [
        {"receipt": format_receipt(receipt), **receipt_files(files, receipt)}
        for receipt in receipts
    ]
    readings = from_record(understood)
    return render_template(
        "reporter/receipt.html",
        entries=entries,
        understood=[(str(QUESTIONS[name]), sentence(name, r)) for name, r in readings.items()],
        degraded=degraded,
        details=details,
        steps=STEPS,
    )


def _lookup_page(
    typed: str | None,
    error: str | None,
    *,
    degraded: bool = False,
    reselect: list[str] | None = None,
) -> str:
    form = ReceiptForm(formdata=None)
    form.receipt.data = typed or ""
    return render_template(
        "reporter/status_lookup.html",
        form=form,
        error=error,
        degraded=degraded,
        reselect=reselect or [],
    )


def _action_error(code: str, text: str) -> str:
    """What a refused action on the status page says; a message too long says its length (the
    box has no `maxlength`: the text comes back whole to be shortened, never cut)."""
    message = str(ACTION_ERRORS[code])
    if code == "too_long":
        message %= {"count": format_decimal(len(text)), "limit": format_decimal(MAX_MESSAGE_LENGTH)}
    return message


def _status_page(
    access: ReporterAccess,
    flash: dict[str, Any],
    *,
    degraded: bool = False,
    problem: str | None = None,
) -> str:
    errors = flash.get("errors")
    notice = NOTICES.get(flash.get("notice") or "")
    return render_template(
        "reporter/status.html",
        view=reporter_view(access),
        files=list_reporter_files(access),
        refused=shown_refusals(flash.get("refused")),
        reselect=_names(flash.get("reselect")),
        problem=problem,
        evidence_accept=accepted_types(),
        evidence_limits=form_limits(),
        # Only a page answered directly (Redis down) carries the receipt in its forms.
        carried_receipt=access.receipt if degraded else None,
        text=flash.get("text") or "",
        notice=str(notice) if notice is not None else "",
        errors={
            field: _action_error(code, flash.get("text") or "")
            for field, code in (errors.items() if isinstance(errors, dict) else [])
            if code in ACTION_ERRORS
        },
        degraded=degraded,
    )


# --------------------------------------------------------------------------------------------
# Errors on reporter pages, in the reporter's language


def _refused_post(code: str) -> ResponseReturnValue | None:
    """A refused POST to a reporter page: 303 to its GET page, which names the problem."""
    if request.method != "POST" or request.endpoint not in REFUSABLE:
        return None
    session[PROBLEM_KEY] = code
    if request.endpoint == "reporter.details":
        step = (request.view_args or {}).get("step")
        return redirect(url_for("reporter.details", step=step), code=303)
    return _see_other(str(request.endpoint))


REFUSABLE = ("reporter.report", "reporter.report_full", "reporter.status", "reporter.details")


@blueprint.errorhandler(CSRFError)
def csrf_failed(_error: CSRFError) -> ResponseReturnValue:
    """An expired or missing form token. Nothing posted is kept or shown again: this is what a
    form replayed from a taken phone's history meets once "Leave quickly" removed the cookie."""
    return _refused_post("expired") or (_lookup_page(None, _problem("expired")), 400)


@blueprint.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A body over its limit: nothing of it was read, so nothing can be kept. The page names
    the limit for files where the body was a form that can carry them."""
    code = "files_too_large" if request.mimetype == "multipart/form-data" else "too_large"
    refused = _refused_post(code)
    if refused is not None:
        return refused
    return render_template("reporter/problem.html", message=_problem(code)), 413


@blueprint.errorhandler(TooManyRequests)
def too_many(_error: TooManyRequests) -> ResponseReturnValue:
    if request.endpoint in ("reporter.report", "reporter.report_full") and request.method == "POST":
        # The filing allowance is full: nothing is stored, and what was typed is kept for a
        # later try.
        form = ReportForm()
        form.ensure_token()
        files = request.files.getlist(FILE_FIELD)
        return _keep_draft(form, checked=False, problem="too_many", status=429, files=files)
    if request.endpoint == "reporter.status" and request.method == "POST":
        return _keep_status_draft(receipt=request.form.get("receipt"), problem="too_many")
    return _lookup_page(None, str(TOO_MANY)), 429


def database_unavailable(error: Exception) -> ResponseReturnValue:
    """The database is unreachable: 503 and when to try again. A report being sent comes back
    as the form with everything typed, to send again as it is (its token too, so that a report
    stored after all is not stored twice); answered directly, not kept server-side for a GET."""
    note_database_outage(error)
    if request.endpoint in ("reporter.report", "reporter.report_full") and request.method == "POST":
        form = ReportForm()
        form.ensure_token()
        full = request.endpoint == "reporter.report_full" or wants_full_form(
            posted_answers(request.form, token="")
        )
        page = _report_page(form, general_error=str(DATABASE_DOWN), full=full)
        return page, 503, retry_later_headers()
    return error_page(503, headers=retry_later_headers())


for _database_error in DATABASE_ERRORS:
    blueprint.register_error_handler(_database_error, database_unavailable)
