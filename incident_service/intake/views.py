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
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests
from werkzeug.wrappers import Response

from incident_service import taxonomy
from incident_service.cases.messaging import (
    MAX_MESSAGE_LENGTH,
    EmptyMessage,
    MessageTooLong,
)
from incident_service.crypto.receipts import format_receipt
from incident_service.i18n import LANGUAGES, remember_language
from incident_service.intake import handoff
from incident_service.intake.forms import (
    GENERAL_ERRORS,
    ReceiptForm,
    ReportForm,
    StatusActionForm,
    errors_by_field,
    first_invalid_field,
    form_from_answers,
    posted_answers,
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
    written_in,
)
from incident_service.intake.storage import bind_submission_token, submit_report
from incident_service.intake.submission import InvalidReport
from incident_service.intake.understood import (
    QUESTIONS,
    from_record,
    readings_of,
    sentence,
    to_record,
)
from incident_service.intake.validation import parse_report
from incident_service.models import db, today
from incident_service.pipeline import dispatch

blueprint = Blueprint("reporter", __name__)

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
NOTICES: dict[str, Any] = {
    "sent": _l("Your message has been sent."),
    "withdrawn": _l("Your report will no longer be counted in statistics."),
    "deletion": _l("We have your request. The case team will delete your report."),
}
ACTION_ERRORS: dict[str, Any] = {
    "empty": _l("Please write something before sending."),
    "too_long": _l("This is too long (at most %(limit)s characters).", limit=MAX_MESSAGE_LENGTH),
    "confirm": _l("Tick the box to confirm."),
}


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "ru"


def _see_other(endpoint: str, *, anchor: str | None = None) -> Response:
    """The answer to every reporter POST: fetch this page with GET."""
    target = url_for(endpoint, _anchor=f"field-{anchor}" if anchor else None)
    return redirect(target, code=303)


def _problem(code: object) -> str | None:
    message = PROBLEMS.get(code) if isinstance(code, str) else None
    return str(message) if message is not None else None


# --------------------------------------------------------------------------------------------
# The report form and the receipt


@blueprint.get("/")
def index() -> ResponseReturnValue:
    return render_template("reporter/index.html")


@blueprint.route("/report", methods=["GET", "POST"])
def report() -> ResponseReturnValue:
    if request.method == "GET":
        return _report_get()
    form = ReportForm()
    form.ensure_token()
    if request.form.get("lang") in LANGUAGES:
        # A language button under the form: the same answers again in the new language,
        # nothing checked and nothing stored. Asking for the locale remembers the choice.
        current_language()
        return _keep_draft(form, checked=False)
    try:
        submission = parse_report(form.report_body(language=current_language()))
    except InvalidReport as exc:
        db.session.rollback()
        return _keep_draft(form, checked=True, errors=errors_by_field(exc.errors))
    allowance = anonymous_allowance()
    count_filing(allowance)  # a full allowance raises TooManyRequests: see `too_many`
    client_token = form.client_token()
    result = submit_report(
        submission,
        submission_token=(
            bind_submission_token(client_token, submission) if client_token is not None else None
        ),
    )
    if not result.created:
        uncount_filing(allowance)
    return _hand_over_receipt(result.receipt, understood=to_record(readings_of(form.data)))


def _report_get() -> ResponseReturnValue:
    """The receipt just issued (once), else the form: with the draft of a refused attempt and
    its errors, else blank."""
    problem = _problem(session.pop(PROBLEM_KEY, None))
    pending = handoff.take(handoff.RECEIPT)
    receipts = [r for r in (pending or {}).get("receipts", []) if isinstance(r, str)]
    if receipts:
        return _receipt_page(receipts, understood=(pending or {}).get("understood"))
    draft = handoff.get(handoff.DRAFT)
    if draft is None:
        form = ReportForm()
        form.ensure_token()
        return _report_page(form, general_error=problem)
    form = form_from_answers(draft.get("answers"))
    errors: dict[str, str] = {}
    if draft.get("checked"):
        # Checked again rather than stored: the messages follow the language now chosen.
        try:
            parse_report(form.report_body(language=current_language()))
        except InvalidReport as exc:
            errors = errors_by_field(exc.errors)
    general_error = problem or _problem(draft.get("problem"))
    return _report_page(form, errors=errors, general_error=general_error)


def _keep_draft(
    form: ReportForm,
    *,
    checked: bool,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 422,
) -> ResponseReturnValue:
    """Keep what was posted for the GET page that follows, and send the browser there."""
    answers = posted_answers(request.form, token=form.token.data or "")
    try:
        handoff.put(handoff.DRAFT, {"answers": answers, "checked": checked, "problem": problem})
    except handoff.StoreUnavailable:
        # Redis is configured but down: answer with the page itself, as before redirects were
        # used. Nothing typed is lost; the price is a page that Back or Reload may offer to
        # send again, which after "Leave quickly" meets the CSRF check and shows nothing.
        general = _problem(problem) or (errors or {}).get(GENERAL_ERRORS)
        page = _report_page(form, errors=errors, general_error=general, degraded=True)
        return page, (status if checked or problem else 200)
    return _see_other("reporter.report", anchor=first_invalid_field(errors or {}))


def _hand_over_receipt(receipt: str, *, understood: list[list[object]]) -> ResponseReturnValue:
    """Keep the receipt for its page (once) and send the browser there. A receipt not yet
    shown (a second report from another tab before the first page loaded) is kept with it.
    `understood` says how numbers typed in words were read (codes and numbers, no words)."""
    # The filed form's draft goes first: a browser without records yet (the usual case) costs
    # no round trip for it.
    handoff.delete(handoff.DRAFT)
    pending = handoff.get(handoff.RECEIPT) or {}
    receipts = [r for r in pending.get("receipts", []) if isinstance(r, str) and r != receipt]
    receipts.append(receipt)
    try:
        handoff.put(handoff.RECEIPT, {"receipts": receipts, "understood": understood})
    except handoff.StoreUnavailable:
        # Redis is down: the reporter must never lose a receipt, so the POST shows it itself.
        return _receipt_page(receipts, understood=understood, degraded=True)
    return _see_other("reporter.report")


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
        # writing, and ask for the number again.
        text = form.text.data if (form.action.data or "").strip() == "message" else None
        return _keep_status_draft(problem="closed", text=text)
    return _hand_over_status(access_or_none, _apply_action(access_or_none, form))


def _status_get() -> ResponseReturnValue:
    """The open status page (its receipt kept server-side), else the lookup."""
    problem = _problem(session.pop(PROBLEM_KEY, None))
    record = handoff.get(handoff.STATUS)
    access = _open_status(record)
    if record is not None and access is not None:
        flash = record.get("flash")
        flash = flash if isinstance(flash, dict) else {}
        if flash.get("notice") or flash.get("errors"):
            # Notices and errors are shown once; a message being written stays until sent.
            remaining = {"text": flash["text"]} if flash.get("text") else {}
            _try_put(handoff.STATUS, {"receipt": access.receipt, "flash": remaining})
        return _status_page(access, flash)
    draft = handoff.take(handoff.STATUS_DRAFT) or {}
    if draft.get("text"):
        _try_put(handoff.STATUS_DRAFT, {"text": draft["text"]})
    typed = draft.get("receipt")
    return _lookup_page(
        typed if isinstance(typed, str) else None, problem or _problem(draft.get("problem"))
    )


def _follow_report_language(access: ReporterAccess) -> None:
    """After a lookup, the pages follow the language the report was written in (a reporter
    may look it up from a browser set to another); the language links still change it."""
    if request.values.get("lang") in LANGUAGES:  # chosen with this very request: it wins
        return
    language = written_in(access.report)
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
    text = kept.get("text")
    return {"text": text} if isinstance(text, str) and text else {}


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
    *, receipt: str | None = None, problem: str, text: str | None = None
) -> ResponseReturnValue:
    """Keep what the lookup page needs after a refusal, and send the browser there. A message
    kept from a closed page stays through a mistyped number."""
    if text is None:
        earlier = (handoff.get(handoff.STATUS_DRAFT) or {}).get("text")
        text = earlier if isinstance(earlier, str) else None
    try:
        handoff.put(handoff.STATUS_DRAFT, {"receipt": receipt, "problem": problem, "text": text})
    except handoff.StoreUnavailable:  # Redis is down: the lookup page is the POST's answer
        return _lookup_page(receipt, _problem(problem), degraded=True)
    return _see_other("reporter.status")


def _apply_action(access: ReporterAccess, form: StatusActionForm) -> dict[str, Any]:
    """Carry out what the reporter pressed; return what the page should tell them once."""
    action = (form.action.data or "").strip()
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
) -> str:
    locale = get_locale()
    months = list(locale.months["stand-alone"]["wide"].items()) if locale is not None else []
    return render_template(
        "reporter/report.html",
        form=form,
        errors=errors or {},
        general_error=general_error or (errors or {}).get(GENERAL_ERRORS),
        years=selectable_years(today(), taxonomy.EARLIEST_INCIDENT_YEAR),
        months=months,
        understood={name: sentence(name, r) for name, r in readings_of(form.data).items()},
        degraded=degraded,
    )


def _receipt_page(receipts: list[str], *, understood: object, degraded: bool = False) -> str:
    readings = from_record(understood)
    return render_template(
        "reporter/receipt.html",
        receipts=[format_receipt(receipt) for receipt in receipts],
        understood=[(str(QUESTIONS[name]), sentence(name, r)) for name, r in readings.items()],
        degraded=degraded,
    )


def _lookup_page(typed: str | None, error: str | None, *, degraded: bool = False) -> str:
    form = ReceiptForm(formdata=None)
    form.receipt.data = typed or ""
    return render_template("reporter/status_lookup.html", form=form, error=error, degraded=degraded)


def _status_page(access: ReporterAccess, flash: dict[str, Any], *, degraded: bool = False) -> str:
    errors = flash.get("errors")
    notice = NOTICES.get(flash.get("notice") or "")
    return render_template(
        "reporter/status.html",
        view=reporter_view(access),
        # Only a page answered directly (Redis down) carries the receipt in its forms.
        carried_receipt=access.receipt if degraded else None,
        text=flash.get("text") or "",
        notice=str(notice) if notice is not None else "",
        errors={
            field: str(ACTION_ERRORS[code])
            for field, code in (errors.items() if isinstance(errors, dict) else [])
            if code in ACTION_ERRORS
        },
        max_message_length=MAX_MESSAGE_LENGTH,
        degraded=degraded,
    )


# --------------------------------------------------------------------------------------------
# Errors on reporter pages, in the reporter's language


def _refused_post(code: str) -> ResponseReturnValue | None:
    """A refused POST to a reporter page: 303 to its GET page, which names the problem."""
    if request.method != "POST" or request.endpoint not in ("reporter.report", "reporter.status"):
        return None
    session[PROBLEM_KEY] = code
    return _see_other(str(request.endpoint))


@blueprint.errorhandler(CSRFError)
def csrf_failed(_error: CSRFError) -> ResponseReturnValue:
    """An expired or missing form token. Nothing posted is kept or shown again: this is what a
    form replayed from a taken phone's history meets once "Leave quickly" removed the cookie."""
    return _refused_post("expired") or (_lookup_page(None, _problem("expired")), 400)


@blueprint.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    refused = _refused_post("too_large")
    if refused is not None:
        return refused
    return render_template("reporter/problem.html", message=_problem("too_large")), 413


@blueprint.errorhandler(TooManyRequests)
def too_many(_error: TooManyRequests) -> ResponseReturnValue:
    if request.endpoint == "reporter.report" and request.method == "POST":
        # The filing allowance is full: nothing is stored, and what was typed is kept for a
        # later try.
        form = ReportForm()
        form.ensure_token()
        return _keep_draft(form, checked=False, problem="too_many", status=429)
    if request.endpoint == "reporter.status" and request.method == "POST":
        return _keep_status_draft(receipt=request.form.get("receipt"), problem="too_many")
    return _lookup_page(None, str(TOO_MANY)), 429
