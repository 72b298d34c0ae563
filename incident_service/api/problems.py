"""RFC 9457 problem details: every error under `/api/v1` as `application/problem+json`.

Titles and details are in the client's language (`?lang=` or Accept-Language), so a partner app
can show them to the reporter as they are. Problem types are relative URIs documented in
docs/reporter-api.md; `about:blank` is used where the HTTP status says everything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/api/v1/problems/"

TYPE_INVALID_REPORT = PROBLEM_BASE + "invalid-report"
TYPE_INVALID_REQUEST = PROBLEM_BASE + "invalid-request"
TYPE_MALFORMED_JSON = PROBLEM_BASE + "malformed-json"
TYPE_RECEIPT_NOT_RECOGNISED = PROBLEM_BASE + "receipt-not-recognised"
TYPE_FILE_REFUSED = PROBLEM_BASE + "file-refused"
TYPE_EVIDENCE_LIMIT = PROBLEM_BASE + "evidence-limit"


class ApiProblem(Exception):
    """Raised by an API handler where a fault is found; rendered as problem details."""

    def __init__(
        self,
        status: int,
        *,
        type_: str = "about:blank",
        title: str | None = None,
        detail: str | None = None,
        extensions: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {type_}")
        self.status = status
        self.type = type_
        self.title = title
        self.detail = detail
        self.extensions = dict(extensions or {})
        self.headers = dict(headers or {})


def _standard_titles() -> dict[int, str]:
    # Built per call: the titles are translated in the request's language.
    return {
        400: _("The request could not be understood."),
        404: _("There is nothing at this address."),
        405: _("This method is not allowed here."),
        409: _("The upload has moved on. Ask where it stands (HEAD) and continue from there."),
        413: _("The request is too large."),
        412: _("This server speaks tus 1.0.0."),
        415: _("The request must be JSON (Content-Type: application/json)."),
        422: _("The report has errors."),
        429: _("Too many tries. Please wait a few minutes and try again."),
        500: _("Something went wrong on our side. Nothing was stored; please try again later."),
        503: _(
            "The service is briefly unavailable. Nothing was stored; please send again after "
            "the number of seconds in Retry-After."
        ),
    }


def problem_response(problem: ApiProblem) -> Response:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title or _standard_titles().get(problem.status, str(problem.status)),
        "status": problem.status,
    }
    if problem.detail:
        body["detail"] = problem.detail
    body.update(problem.extensions)
    response = Response(
        json.dumps(body, ensure_ascii=False),
        status=problem.status,
        mimetype=PROBLEM_MEDIA_TYPE,
    )
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def field_errors(errors: Mapping[str, Any]) -> list[dict[str, str]]:
    """Intake's `{path: message}` as a list naming each field (dot path and JSON pointer)."""
    listed = []
    for path, message in sorted(errors.items()):
        pointer = "#" + "".join("/" + _escape_pointer(part) for part in path.split(".") if part)
        listed.append({"field": path, "pointer": pointer, "detail": str(message)})
    return listed


def _escape_pointer(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def register_problem_handlers(blueprint: Blueprint) -> None:
    """Turn every error raised under the blueprint into problem details."""

    @blueprint.errorhandler(ApiProblem)
    def _api_problem(error: ApiProblem) -> Response:
        return problem_response(error)

    @blueprint.errorhandler(HTTPException)
    def _http_problem(error: HTTPException) -> Response:
        status = error.code or 500
        headers = {}
        if status == 405 and error.response is None:
            allowed = getattr(error, "valid_methods", None)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return problem_response(ApiProblem(status, headers=headers))

    @blueprint.errorhandler(InternalServerError)
    def _server_problem(_error: InternalServerError) -> Response:
        return problem_response(ApiProblem(500))
