"""The OpenAPI description of the reporter endpoints (`api.reports`), registered on import.

`incident_service.api` imports this module beside the endpoints, so the document served at
`/api/v1/openapi.json` describes them. The report body's schema is built from the taxonomy when
the document is served, so its codes cannot drift from what intake accepts.
"""

from __future__ import annotations

from typing import Any

from incident_service import taxonomy
from incident_service.api.openapi import registry
from incident_service.api.reports import MAX_IDEMPOTENCY_KEY
from incident_service.cases.messaging import MAX_MESSAGE_LENGTH
from incident_service.i18n import LANGUAGES
from incident_service.intake.natural_numbers import MAX_INPUT as MAX_TYPED_NUMBER
from incident_service.intake.submission import (
    MAX_CONTACT,
    MAX_NARRATIVE,
    MAX_PAYMENT_RUB,
    MAX_PLACE_TEXT,
)

# Numbers may also be sent as a reporter typed them; the words are kept, sealed, in the private
# section, and the number they were read as is what is counted.
_TYPED_NUMBER = "A number, or words as a reporter types them in any of the five languages"


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
            **_incident_properties(),
            "people": _people_schema(),
            "forced_labour_indicators": _code_list(taxonomy.FORCED_LABOUR_INDICATORS),
            "coercion": _coercion_schema(),
            "outcome": {**_codes(taxonomy.OUTCOMES, nullable=True), "default": "UNK"},
            "narrative": {
                "type": "string",
                "maxLength": MAX_NARRATIVE,
                "description": "In the reporter's own words, stored exactly as sent; sealed to "
                "the case team only.",
            },
            "reporter_role": _codes(taxonomy.REPORTER_ROLES, nullable=True),
            "contact": _contact_schema(),
            "consent": _consent_schema(),
        },
    }


def _incident_properties() -> dict[str, Any]:
    """The questions before the people involved: language, when, what, who, where, how long."""
    return {
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
            "type": ["number", "string", "null"],
            "minimum": 0,
            "maximum": taxonomy.MAX_DURATION_HOURS,
            "maxLength": MAX_TYPED_NUMBER,
            "description": _TYPED_NUMBER + ' ("6 часов", "2 суток", "about 3 days").',
        },
    }


def _people_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "citizenship": _code_list(taxonomy.CITIZENSHIPS),
            "sex": _codes(taxonomy.SEXES, nullable=True),
            "age_band": _codes(taxonomy.AGE_BANDS, nullable=True),
            "legal_status": _codes(taxonomy.LEGAL_STATUSES, nullable=True),
            "group_size": {
                "type": ["integer", "string", "null"],
                "minimum": 1,
                "maximum": taxonomy.MAX_GROUP_SIZE,
                "maxLength": MAX_TYPED_NUMBER,
                "description": _TYPED_NUMBER + ' ("около 40", "40-50", "several").',
            },
            "women_involved": _flag("Women were among those affected."),
            "children_involved": _flag("Children were among those affected."),
        },
    }


def _coercion_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "contract_offered": _flag("A military contract was offered."),
            "contract_signed": _flag("A military contract was signed."),
            "citizenship_promised": _flag("Citizenship was promised for service."),
            "payment_offered_rub": {
                "type": ["integer", "string", "null"],
                "minimum": 0,
                "maximum": MAX_PAYMENT_RUB,
                "maxLength": MAX_TYPED_NUMBER,
                "description": _TYPED_NUMBER + ' ("2 млн", "150 тыс").',
            },
        },
    }


def _contact_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "Optional; sealed to the case team only. A value needs a channel.",
        "properties": {
            "channel": _codes(taxonomy.CONTACT_CHANNELS, nullable=True),
            "value": {"type": "string", "maxLength": MAX_CONTACT},
        },
    }


def _consent_schema() -> dict[str, Any]:
    return {
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
    }


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
            "files": {
                "type": "array",
                "description": "Evidence files sent with the report (see /uploads).",
                "items": registry.ref("EvidenceFile"),
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

_LANG_PARAMETER: dict[str, Any] = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": "Language of labels and error messages (else Accept-Language).",
    "schema": {"type": "string", "enum": list(LANGUAGES)},
}
_problem = registry.problem_response
_RECEIPT_ERRORS: dict[str, dict[str, Any]] = {
    "400": _problem("Malformed JSON"),
    "404": _problem("The receipt was not recognised (one answer for every wrong receipt)"),
    "413": _problem("Body too large"),
    "415": _problem("Not application/json"),
    "429": _problem("Too many wrong receipts from this address; wait and retry"),
}
registry.add_operation(
    "/taxonomy",
    "get",
    {
        "operationId": "getTaxonomy",
        "tags": ["reporter"],
        "summary": "Codes and labels for every question, in one language",
        "parameters": [_LANG_PARAMETER],
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
            _LANG_PARAMETER,
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
            "400": _problem("Malformed JSON or a bad Idempotency-Key"),
            "413": _problem("Body too large"),
            "415": _problem("Not application/json"),
            "422": _problem("The report has errors; `errors` names each field"),
            "429": _problem("More reports from this address than the operator allows"),
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
        "parameters": [_LANG_PARAMETER],
        "requestBody": registry.json_body("ReceiptRequest"),
        "responses": {
            "200": registry.json_response("ReportStatus", "The status and the thread"),
            **_RECEIPT_ERRORS,
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
        "parameters": [_LANG_PARAMETER],
        "requestBody": registry.json_body("MessageRequest"),
        "responses": {
            "201": registry.json_response("ReportStatus", "Sent; the updated thread"),
            **_RECEIPT_ERRORS,
            "422": _problem("Empty or too long"),
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
        "parameters": [_LANG_PARAMETER],
        "requestBody": registry.json_body("ReceiptRequest"),
        "responses": {
            "200": registry.json_response("ReportStatus", "Consent withdrawn"),
            **_RECEIPT_ERRORS,
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
        "parameters": [_LANG_PARAMETER],
        "requestBody": registry.json_body("ReceiptRequest"),
        "responses": {
            "202": registry.json_response("ReportStatus", "Request recorded"),
            **_RECEIPT_ERRORS,
        },
    },
)
