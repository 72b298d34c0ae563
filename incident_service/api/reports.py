"""Reporter endpoints of the JSON API: the taxonomy, filing a report, and what a receipt opens.

Same services as the web pages (`intake.validation`, `intake.storage`, `intake.reporter_access`),
so the API and the form cannot drift apart. The receipt travels in request bodies only, never in
a URL. Their OpenAPI description is in `api.reports_spec`.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from incident_service import taxonomy
from incident_service.api.blueprint import blueprint
from incident_service.api.problems import (
    TYPE_INVALID_REPORT,
    TYPE_INVALID_REQUEST,
    TYPE_MALFORMED_JSON,
    TYPE_RECEIPT_NOT_RECOGNISED,
    ApiProblem,
    field_errors,
)
from incident_service.auth import api_tokens
from incident_service.cases.messaging import (
    MAX_MESSAGE_LENGTH,
    EmptyMessage,
    MessageTooLong,
)
from incident_service.database_outage import DATABASE_ERRORS
from incident_service.i18n import LANGUAGES, use_body_language
from incident_service.intake.evidence import list_reporter_files
from incident_service.intake.limits import (
    Allowance,
    anonymous_allowance,
    count_filing,
    mark_receipt_rejected,
    partner_allowance,
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
from incident_service.intake.submission import (
    MAX_CONTACT,
    MAX_NARRATIVE,
    MAX_PAYMENT_RUB,
    MAX_PLACE_TEXT,
    InvalidReport,
)
from incident_service.intake.validation import parse_report
from incident_service.models import db
from incident_service.pipeline import dispatch

JSON_MEDIA_TYPE = "application/json"
MAX_IDEMPOTENCY_KEY = 255

# Vocabularies a partner app needs to build its own form, in the order of the web form.
REPORTER_VOCABULARIES = (
    taxonomy.ACT_GROUPS,
    taxonomy.ACTS,
    taxonomy.PERPETRATORS,
    taxonomy.LOCATION_TYPES,
    taxonomy.COUNTRIES,
    taxonomy.REGIONS,
    taxonomy.AIRPORTS,
    taxonomy.CITIZENSHIPS,
    taxonomy.SEXES,
    taxonomy.AGE_BANDS,
    taxonomy.LEGAL_STATUSES,
    taxonomy.FORCED_LABOUR_INDICATORS,
    taxonomy.OUTCOMES,
    taxonomy.REPORTER_ROLES,
    taxonomy.CONTACT_CHANNELS,
    taxonomy.DATE_PRECISIONS,
)


# --------------------------------------------------------------------------------------------
# Reading requests


def json_body() -> Any:
    """The request's JSON, or a problem: 415 for another content type, 400 if malformed.

    The size limit (413) is enforced by Werkzeug while reading, before any parsing.
    """
    if request.mimetype != JSON_MEDIA_TYPE:
        raise ApiProblem(415)
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8 and numbers too long to convert; RecursionError, nesting
        # deeper than the parser allows. Neither says anything about the body worth echoing.
        raise ApiProblem(
            400,
            type_=TYPE_MALFORMED_JSON,
            detail=_("The body is not valid JSON."),
        ) from None


def _receipt_from(body: Any) -> ReporterAccess:
    receipt = body.get("receipt") if isinstance(body, dict) else None
    try:
        return open_with_receipt(receipt if isinstance(receipt, str) else "")
    except ReceiptNotRecognised:
        mark_receipt_rejected()
        raise ApiProblem(
            404,
            type_=TYPE_RECEIPT_NOT_RECOGNISED,
            title=_("No report was found for this number."),
            detail=_("A number has 20 digits. Check them and try again."),
        ) from None


def _idempotency_key() -> bytes | None:
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY or not value.isprintable():
        raise ApiProblem(
            400,
            type_=TYPE_INVALID_REQUEST,
            detail=_("The Idempotency-Key header must be 1 to 255 printable characters."),
        )
    return value.encode("utf-8", "surrogateescape")


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "ru"


# --------------------------------------------------------------------------------------------
# Endpoints


@blueprint.get("/taxonomy")
def get_taxonomy() -> ResponseReturnValue:
    return jsonify(
        {
            "language": _language(),
            "languages": LANGUAGES,
            "vocabularies": {
                vocabulary.name: [
                    {"code": term.code, "label": term.label, "parent": term.parent}
                    for term in vocabulary
                ]
                for vocabulary in REPORTER_VOCABULARIES
            },
            "limits": _limits(),
        }
    )


def _filing_allowance() -> Allowance:
    """A partner app's token gives it its own quota; without one, the caller shares the
    per-address allowance of the form. A token that is sent must be valid."""
    authorization = request.headers.get("Authorization")
    if not authorization:
        return anonymous_allowance()
    try:
        return partner_allowance(api_tokens.authenticate_partner(authorization))
    except api_tokens.TokenError as exc:
        raise ApiProblem(
            401,
            title=_("A valid API token is needed."),
            detail=str(exc),
            headers={"WWW-Authenticate": 'Bearer realm="reports", error="invalid_token"'},
        ) from exc


@blueprint.post("/reports")
def post_report() -> ResponseReturnValue:
    body = json_body()
    use_body_language(body.get("language") if isinstance(body, dict) else None)
    client_token = _idempotency_key()
    try:
        submission = parse_report(body)
    except InvalidReport as exc:
        db.session.rollback()
        raise ApiProblem(
            422,
            type_=TYPE_INVALID_REPORT,
            detail=_("Some answers cannot be accepted. Each one is named in `errors`."),
            extensions={"errors": field_errors(exc.errors)},
        ) from None
    allowance = _filing_allowance()
    count_filing(allowance)
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
        raise  # answered 503 with Retry-After (error_pages.database_unavailable)
    if not result.created:
        uncount_filing(allowance)
    response = jsonify({"receipt": result.receipt})
    response.status_code = 201
    if not result.created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@blueprint.post("/status")
@receipt_lookup_limit
def post_status() -> ResponseReturnValue:
    access = _receipt_from(json_body())
    return jsonify(_status_document(access))


@blueprint.post("/messages")
@receipt_lookup_limit
def post_message() -> ResponseReturnValue:
    body = json_body()
    access = _receipt_from(body)
    text = body.get("text")
    try:
        send_reporter_message(access, text=text if isinstance(text, str) else "")
    except (EmptyMessage, MessageTooLong):
        db.session.rollback()
        raise ApiProblem(
            422,
            type_=TYPE_INVALID_REQUEST,
            detail=_(
                "The message must not be empty and may have at most %(limit)s characters.",
                limit=MAX_MESSAGE_LENGTH,
            ),
            extensions={
                "errors": [
                    {
                        "field": "text",
                        "pointer": "#/text",
                        "detail": _("Please write something before sending."),
                    }
                ]
            },
        ) from None
    db.session.commit()
    return _created(_status_document(access))


@blueprint.post("/consent/withdraw")
@receipt_lookup_limit
def post_withdraw_consent() -> ResponseReturnValue:
    access = _receipt_from(json_body())
    changed = withdraw_statistics_consent(access)
    db.session.commit()
    if changed:
        dispatch.statistics_changed()
    return jsonify(_status_document(access))


@blueprint.post("/deletion-request")
@receipt_lookup_limit
def post_deletion_request() -> ResponseReturnValue:
    access = _receipt_from(json_body())
    requested = request_deletion(access)
    db.session.commit()
    if requested:  # the statistics go at once; the sweep makes up for a lost message
        dispatch.statistics_changed()
    response = jsonify(_status_document(access))
    response.status_code = 202
    return response


def _created(document: dict[str, Any]) -> Response:
    response = jsonify(document)
    response.status_code = 201
    return response


def _status_document(access: ReporterAccess) -> dict[str, Any]:
    view = reporter_view(access)
    return {
        "status": view.status.value,
        "status_text": view.status_words,
        "received_on": view.received_on.isoformat(),
        "consent_statistics": view.consent_statistics,
        "deletion_requested": view.deletion_requested,
        "messages": [
            {"author": m.author, "sent_on": m.sent_on.isoformat(), "text": m.text}
            for m in view.thread
        ],
        "files": [listing.as_json() for listing in list_reporter_files(access)],
    }


def _limits() -> dict[str, int]:
    return {
        "earliest_incident_year": taxonomy.EARLIEST_INCIDENT_YEAR,
        "max_group_size": taxonomy.MAX_GROUP_SIZE,
        "max_duration_hours": taxonomy.MAX_DURATION_HOURS,
        "max_payment_offered_rub": MAX_PAYMENT_RUB,
        "max_narrative": MAX_NARRATIVE,
        "max_place_text": MAX_PLACE_TEXT,
        "max_contact": MAX_CONTACT,
        "max_message": MAX_MESSAGE_LENGTH,
    }
