"""Reporter endpoints of the JSON API: the taxonomy, filing a report, and what a receipt opens.

Same services as the web pages (`services.intake`, `services.reporter_access`), so the API and
the form cannot drift apart. The receipt travels in request bodies only, never in a URL.
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
from incident_service.api.openapi import registry
from incident_service.api.problems import (
    TYPE_INVALID_REPORT,
    TYPE_INVALID_REQUEST,
    TYPE_MALFORMED_JSON,
    TYPE_RECEIPT_NOT_RECOGNISED,
    ApiProblem,
    field_errors,
)
from incident_service.cases.messaging import (
    MAX_MESSAGE_LENGTH,
    EmptyMessage,
    MessageTooLong,
)
from incident_service.i18n import LANGUAGES, use_body_language
from incident_service.intake.limits import (
    API_SCOPE,
    api_report_limit,
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
    count_filing(API_SCOPE, api_report_limit())
    result = submit_report(
        submission,
        submission_token=(
            bind_submission_token(client_token, submission) if client_token is not None else None
        ),
    )
    if not result.created:
        uncount_filing(API_SCOPE, api_report_limit())
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
        dispatch.enqueue(dispatch.TASK_PIPELINE_WITHDRAW, access.report.id)
    return jsonify(_status_document(access))


@blueprint.post("/deletion-request")
@receipt_lookup_limit
def post_deletion_request() -> ResponseReturnValue:
    access = _receipt_from(json_body())
    requested = request_deletion(access)
    db.session.commit()
    if requested:  # the statistics go at once; the sweep makes up for a lost message
        dispatch.enqueue(dispatch.TASK_PIPELINE_WITHDRAW, access.report.id)
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


# --------------------------------------------------------------------------------------------
# OpenAPI description (schemas built from the taxonomy, so codes cannot drift)


def _codes(vocabulary: taxonomy.Vocabulary, *, nullable: bool = False) -> dict[str, Any]:
    if nullable:
        return {"type": ["string", "null"], "enum": [*vocabulary.codes(), None]}
    return {"type": "string", "enum": vocabulary.codes()}


def _code_list(vocabulary: taxonomy.Vocabulary) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "enum": vocabulary.codes()},
        "uniqueItems": True,
        "maxItems": len(vocabulary),
    }


def _flag(description: str) -> dict[str, Any]:
    return {"type": "boolean", "default": False, "description": description}


def report_body_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["incident_date", "acts", "country", "consent"],
        "properties": {
            "language": {
                "type": "string",
                "enum": list(LANGUAGES),
                "default": "ru",
                "description": "The language the reporter used.",
            },
            "incident_date": {
                "type": "string",
                "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$",
                "description": "YYYY-MM-DD, YYYY-MM or YYYY to match date_precision; "
                f"not before {taxonomy.EARLIEST_INCIDENT_YEAR}, not in the future.",
            },
            "date_precision": {**_codes(taxonomy.DATE_PRECISIONS), "default": "day"},
            "acts": {**_code_list(taxonomy.ACTS), "minItems": 1},
            "perpetrators": _code_list(taxonomy.PERPETRATORS),
            "location_type": _codes(taxonomy.LOCATION_TYPES, nullable=True),
            "country": _codes(taxonomy.COUNTRIES),
            "region": {
                **_codes(taxonomy.REGIONS, nullable=True),
                "description": "Only with country RU.",
            },
            "airport": {
                **_codes(taxonomy.AIRPORTS, nullable=True),
                "description": "Only with country RU; implies its region.",
            },
            "place_text": {
                "type": "string",
                "maxLength": MAX_PLACE_TEXT,
                "description": "Free text; sealed to the case team only.",
            },
            "duration_hours": {
                "type": ["number", "null"],
                "minimum": 0,
                "maximum": taxonomy.MAX_DURATION_HOURS,
            },
            "people": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "citizenship": _code_list(taxonomy.CITIZENSHIPS),
                    "sex": _codes(taxonomy.SEXES, nullable=True),
                    "age_band": _codes(taxonomy.AGE_BANDS, nullable=True),
                    "legal_status": _codes(taxonomy.LEGAL_STATUSES, nullable=True),
                    "group_size": {
                        "type": ["integer", "null"],
                        "minimum": 1,
                        "maximum": taxonomy.MAX_GROUP_SIZE,
                    },
                    "women_involved": _flag("Women were among those affected."),
                    "children_involved": _flag("Children were among those affected."),
                },
            },
            "forced_labour_indicators": _code_list(taxonomy.FORCED_LABOUR_INDICATORS),
            "coercion": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "contract_offered": _flag("A military contract was offered."),
                    "contract_signed": _flag("A military contract was signed."),
                    "citizenship_promised": _flag("Citizenship was promised for service."),
                    "payment_offered_rub": {
                        "type": ["integer", "null"],
                        "minimum": 0,
                        "maximum": MAX_PAYMENT_RUB,
                    },
                },
            },
            "outcome": {**_codes(taxonomy.OUTCOMES, nullable=True), "default": "UNK"},
            "narrative": {
                "type": "string",
                "maxLength": MAX_NARRATIVE,
                "description": "In the reporter's own words, stored exactly as sent; sealed to "
                "the case team only.",
            },
            "reporter_role": _codes(taxonomy.REPORTER_ROLES, nullable=True),
            "contact": {
                "type": "object",
                "additionalProperties": False,
                "description": "Optional; sealed to the case team only. A value needs a channel.",
                "properties": {
                    "channel": _codes(taxonomy.CONTACT_CHANNELS, nullable=True),
                    "value": {"type": "string", "maxLength": MAX_CONTACT},
                },
            },
            "consent": {
                "type": "object",
                "additionalProperties": False,
                "required": ["statistics"],
                "properties": {
                    "statistics": {
                        "type": "boolean",
                        "description": "May the report be counted in anonymised statistics? "
                        "Must be answered, yes or no.",
                    },
                    "follow_up": _flag("The case team may contact the reporter."),
                    "share_with_ombudsman": _flag("The case may be shared with the ombudsman."),
                },
            },
        },
    }


def _describe() -> None:
    registry.add_tag("reporter", "Filing reports and reading answers with a receipt.")
    registry.add_schema(
        "Problem",
        {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string", "format": "uri-reference"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "pointer", "detail"],
                        "properties": {
                            "field": {"type": "string", "examples": ["people.group_size"]},
                            "pointer": {"type": "string", "examples": ["#/people/group_size"]},
                            "detail": {"type": "string"},
                        },
                    },
                },
            },
        },
    )
    registry.add_schema("ReportBody", report_body_schema)
    registry.add_schema(
        "Receipt",
        {
            "type": "object",
            "required": ["receipt"],
            "properties": {
                "receipt": {
                    "type": "string",
                    "pattern": r"^\d{20}$",
                    "description": "Show it to the reporter in groups of four; never store it.",
                }
            },
        },
    )
    registry.add_schema(
        "ReceiptRequest",
        {
            "type": "object",
            "required": ["receipt"],
            "properties": {
                "receipt": {
                    "type": "string",
                    "maxLength": 64,
                    "description": "20 digits; spaces and dashes are ignored.",
                }
            },
        },
    )
    registry.add_schema(
        "MessageRequest",
        {
            "type": "object",
            "required": ["receipt", "text"],
            "properties": {
                "receipt": {"type": "string", "maxLength": 64},
                "text": {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE_LENGTH},
            },
        },
    )
    registry.add_schema(
        "ReportStatus",
        {
            "type": "object",
            "required": [
                "status",
                "status_text",
                "received_on",
                "consent_statistics",
                "deletion_requested",
                "messages",
            ],
            "properties": {
                "status": {
                    "type": "string",
                    "enum": [
                        "new",
                        "triaged",
                        "in_progress",
                        "referred",
                        "closed",
                        "spam",
                        "duplicate",
                    ],
                },
                "status_text": {"type": "string", "description": "Plain words for the reporter."},
                "received_on": {"type": "string", "format": "date"},
                "consent_statistics": {"type": "boolean"},
                "deletion_requested": {"type": "boolean"},
                "messages": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["author", "sent_on", "text"],
                        "properties": {
                            "author": {"type": "string", "enum": ["reporter", "caseworker"]},
                            "sent_on": {"type": "string", "format": "date"},
                            "text": {"type": "string"},
                        },
                    },
                },
            },
        },
    )
    registry.add_schema(
        "Taxonomy",
        {
            "type": "object",
            "required": ["language", "languages", "vocabularies", "limits"],
            "properties": {
                "language": {"type": "string"},
                "languages": {"type": "object", "additionalProperties": {"type": "string"}},
                "vocabularies": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["code", "label", "parent"],
                            "properties": {
                                "code": {"type": "string"},
                                "label": {"type": "string"},
                                "parent": {"type": ["string", "null"]},
                            },
                        },
                    },
                },
                "limits": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
        },
    )

    lang_parameter = {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "Language of labels and error messages (else Accept-Language).",
        "schema": {"type": "string", "enum": list(LANGUAGES)},
    }
    problem = registry.problem_response
    receipt_errors = {
        "400": problem("Malformed JSON"),
        "404": problem("The receipt was not recognised (one answer for every wrong receipt)"),
        "413": problem("Body too large"),
        "415": problem("Not application/json"),
        "429": problem("Too many wrong receipts from this address; wait and retry"),
    }
    registry.add_operation(
        "/taxonomy",
        "get",
        {
            "operationId": "getTaxonomy",
            "tags": ["reporter"],
            "summary": "Codes and labels for every question, in one language",
            "parameters": [lang_parameter],
            "responses": {"200": registry.json_response("Taxonomy", "The vocabularies")},
        },
    )
    registry.add_operation(
        "/reports",
        "post",
        {
            "operationId": "fileReport",
            "tags": ["reporter"],
            "summary": "File a report; the answer holds the receipt",
            "parameters": [
                lang_parameter,
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Send the same key with the same report again (after a "
                    "timeout, say) to get the same receipt and no second report. A key "
                    "with different content files a new report.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
                },
            ],
            "requestBody": registry.json_body("ReportBody"),
            "responses": {
                "201": registry.json_response("Receipt", "Stored; the reporter's receipt"),
                "400": problem("Malformed JSON or a bad Idempotency-Key"),
                "413": problem("Body too large"),
                "415": problem("Not application/json"),
                "422": problem("The report has errors; `errors` names each field"),
                "429": problem("More reports from this address than the operator allows"),
            },
        },
    )
    registry.add_operation(
        "/status",
        "post",
        {
            "operationId": "getStatus",
            "tags": ["reporter"],
            "summary": "Status and messages of the report a receipt opens",
            "parameters": [lang_parameter],
            "requestBody": registry.json_body("ReceiptRequest"),
            "responses": {
                "200": registry.json_response("ReportStatus", "The status and the thread"),
                **receipt_errors,
            },
        },
    )
    registry.add_operation(
        "/messages",
        "post",
        {
            "operationId": "sendMessage",
            "tags": ["reporter"],
            "summary": "Answer the case team or add information to the report",
            "parameters": [lang_parameter],
            "requestBody": registry.json_body("MessageRequest"),
            "responses": {
                "201": registry.json_response("ReportStatus", "Sent; the updated thread"),
                **receipt_errors,
                "422": problem("Empty or too long"),
            },
        },
    )
    registry.add_operation(
        "/consent/withdraw",
        "post",
        {
            "operationId": "withdrawStatisticsConsent",
            "tags": ["reporter"],
            "summary": "Stop counting the report in statistics",
            "parameters": [lang_parameter],
            "requestBody": registry.json_body("ReceiptRequest"),
            "responses": {
                "200": registry.json_response("ReportStatus", "Consent withdrawn"),
                **receipt_errors,
            },
        },
    )
    registry.add_operation(
        "/deletion-request",
        "post",
        {
            "operationId": "requestDeletion",
            "tags": ["reporter"],
            "summary": "Ask the case team to delete the report",
            "parameters": [lang_parameter],
            "requestBody": registry.json_body("ReceiptRequest"),
            "responses": {
                "202": registry.json_response("ReportStatus", "Request recorded"),
                **receipt_errors,
            },
        },
    )


_describe()
