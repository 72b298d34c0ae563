"""The OpenAPI description of the tus upload endpoints (`api.uploads`), registered on import."""

from __future__ import annotations

from typing import Any

from incident_service.api.openapi import registry
from incident_service.i18n import LANGUAGES

_problem = registry.problem_response


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "schema": schema}


_TUS_RESUMABLE: dict[str, Any] = {
    "name": "Tus-Resumable",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "const": "1.0.0"},
}
_TOKEN: dict[str, Any] = {
    "name": "token",
    "in": "path",
    "required": True,
    "description": "From the Location of the creation answer. It carries the secret the "
    "upload's state is sealed under: keep it only while the upload lasts.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{64}$"},
}
_LANG: dict[str, Any] = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": list(LANGUAGES)},
}
_RESUMABLE_HEADER = {"Tus-Resumable": _header("1.0.0", {"type": "string"})}
_OFFSET_HEADER = _header("Bytes stored so far", {"type": "integer", "minimum": 0})
_EXPIRES_HEADER = _header(
    "When an unfinished upload stops being accepted (RFC 9110 date)", {"type": "string"}
)
_NOT_FOUND = _problem("No such upload, or it expired or finished (one answer for all)")
_TUS_OPTIONS_HEADERS = {
    "Tus-Version": _header("1.0.0", {"type": "string"}),
    "Tus-Extension": _header("creation,termination,expiration", {"type": "string"}),
    "Tus-Max-Size": _header("The largest file, in bytes", {"type": "integer"}),
}

registry.add_tag(
    "evidence",
    "Photos, documents and recordings for a report, over the tus 1.0 resumable-upload "
    "protocol (core, creation, termination, expiration). See docs/reporter-api.md.",
)
registry.add_schema(
    "EvidenceFile",
    {
        "type": "object",
        "required": ["name", "size", "type", "fingerprint", "received_on"],
        "properties": {
            "name": {"type": ["string", "null"], "description": "As sent (filename)"},
            "size": {"type": "integer", "description": "Bytes"},
            "type": {"type": "string", "examples": ["image/jpeg"]},
            "fingerprint": {
                "type": "string",
                "pattern": "^[0-9A-F]{4}( [0-9A-F]{4}){3}$",
                "description": "The first 64 bits of the file's SHA-256, in four groups: "
                "compare with `sha256sum` of the copy on the phone.",
            },
            "received_on": {"type": "string", "format": "date"},
        },
    },
)
registry.add_operation(
    "/uploads",
    "options",
    {
        "operationId": "uploadOptions",
        "tags": ["evidence"],
        "summary": "What this tus server supports",
        "responses": {"204": {"description": "Capabilities", "headers": _TUS_OPTIONS_HEADERS}},
    },
)
registry.add_operation(
    "/uploads",
    "post",
    {
        "operationId": "createUpload",
        "tags": ["evidence"],
        "summary": "Start an upload for the report a receipt opens (tus creation)",
        "description": "`Upload-Metadata` must carry `receipt` (base64 of the 20 digits); it "
        "may carry `filename` and `language`. The receipt is sent here only, never in a URL "
        "and never again for this upload. The type is judged from the bytes, not from "
        "`filetype` or the name.",
        "parameters": [
            _TUS_RESUMABLE,
            _LANG,
            {
                "name": "Upload-Length",
                "in": "header",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": "Upload-Metadata",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "examples": ["receipt MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="]},
            },
        ],
        "responses": {
            "201": {
                "description": "Created; PATCH the bytes to Location",
                "headers": {
                    "Location": _header("The upload's URL", {"type": "string"}),
                    "Upload-Expires": _EXPIRES_HEADER,
                    **_RESUMABLE_HEADER,
                },
            },
            "400": _problem("A malformed header"),
            "404": _problem("The receipt was not recognised"),
            "412": _problem("Tus-Resumable missing or not 1.0.0"),
            "413": _problem("Upload-Length over Tus-Max-Size"),
            "422": _problem("The report has no room for another file, or the file is empty"),
            "429": _problem("Too many wrong receipts from this address"),
        },
    },
)
registry.add_operation(
    "/uploads/{token}",
    "options",
    {
        "operationId": "uploadResourceOptions",
        "tags": ["evidence"],
        "summary": "What this tus server supports",
        "parameters": [_TOKEN],
        "responses": {"204": {"description": "Capabilities", "headers": _TUS_OPTIONS_HEADERS}},
    },
)
registry.add_operation(
    "/uploads/{token}",
    "head",
    {
        "operationId": "uploadOffset",
        "tags": ["evidence"],
        "summary": "Where an upload stands (to resume it)",
        "parameters": [_TOKEN, _TUS_RESUMABLE],
        "responses": {
            "200": {
                "description": "The offset to continue from",
                "headers": {
                    "Upload-Offset": _OFFSET_HEADER,
                    "Upload-Length": _header("The declared size", {"type": "integer"}),
                    "Upload-Expires": _EXPIRES_HEADER,
                    **_RESUMABLE_HEADER,
                },
            },
            "404": _NOT_FOUND,
        },
    },
)
registry.add_operation(
    "/uploads/{token}",
    "patch",
    {
        "operationId": "uploadBytes",
        "tags": ["evidence"],
        "summary": "Send the next bytes (tus core)",
        "description": "Each piece is sealed as it arrives. After the last byte the file is "
        "judged by its content: a refused file gets 422 with `reason`, and the report is kept.",
        "parameters": [
            _TOKEN,
            _TUS_RESUMABLE,
            _LANG,
            {
                "name": "Upload-Offset",
                "in": "header",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            },
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/offset+octet-stream": {
                    "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
                }
            },
        },
        "responses": {
            "204": {
                "description": "Stored. Once complete, also Evidence-Type and "
                "Evidence-Fingerprint (first 64 bits of the SHA-256) for the reporter to see.",
                "headers": {
                    "Upload-Offset": _OFFSET_HEADER,
                    "Upload-Expires": _EXPIRES_HEADER,
                    "Evidence-Type": _header("The type judged from the bytes", {"type": "string"}),
                    "Evidence-Fingerprint": _header("e.g. 3F2A 9C01 B7D4 E880", {"type": "string"}),
                    **_RESUMABLE_HEADER,
                },
            },
            "404": _NOT_FOUND,
            "409": _problem("Upload-Offset is not where the upload stands (HEAD, then resume)"),
            "412": _problem("Tus-Resumable missing or not 1.0.0"),
            "413": _problem("More bytes than Upload-Length"),
            "415": _problem("Not application/offset+octet-stream"),
            "422": _problem("The file was refused (`reason`) or the report is full; kept"),
        },
    },
)
registry.add_operation(
    "/uploads/{token}",
    "delete",
    {
        "operationId": "cancelUpload",
        "tags": ["evidence"],
        "summary": "Cancel an unfinished upload; what it stored is deleted (tus termination)",
        "parameters": [_TOKEN, _TUS_RESUMABLE],
        "responses": {
            "204": {"description": "Deleted", "headers": _RESUMABLE_HEADER},
            "404": _NOT_FOUND,
        },
    },
)
