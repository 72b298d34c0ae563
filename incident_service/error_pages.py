"""Error pages: every HTTP error the site answers, in the visitor's language and the site's style,
and the database outage answered 503 with `Retry-After` instead of a traceback per request.

Werkzeug's defaults are English, unstyled and without a viewport: a reporter on a phone met
"405 Method Not Allowed" in English. Here each error is a page of the area it happened in: the
reporter's (five languages, a link to the start page) or the staff's (Russian or English, a link
to the desk). Paths under `/api/` answer problem details instead (`api.problems`). No page ever
shows anything of the exception.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from incident_service.api.problems import ApiProblem, problem_response
from incident_service.database_outage import (
    DATABASE_ERRORS,
    note_database_outage,
    retry_later_headers,
)
from incident_service.i18n import is_staff_request

HEADINGS = {
    400: _l("The request could not be understood."),
    403: _l("This is not open to you."),
    404: _l("Page not found"),
    405: _l("This page cannot be used this way"),
    408: _l("The connection was too slow"),
    413: _l("What you sent is too large"),
    429: _l("Too many tries"),
    500: _l("Something went wrong"),
    503: _l("The service is briefly unavailable"),
}
MESSAGES = {
    404: _l("There is nothing at this address. Please check it, or go back to the start."),
    405: _l("Nothing was sent. Please go back to the start and try again from there."),
    408: _l("What you sent did not arrive in time, and nothing was saved. Please try again."),
    413: _l(
        "What you sent is too large. Please shorten your text and try again. "
        "Nothing has been saved."
    ),
    429: _l("Too many tries. Please wait a few minutes and try again."),
    500: _l("Something went wrong on our side. Please try again later."),
    503: _l("Nothing was stored. Please try again in a few minutes."),
}
OTHER_HEADING = _l("This request could not be completed")
OTHER_MESSAGE = _l("Please go back to the start and try again.")


def register_error_pages(app: Flask) -> None:
    """Install the handlers: blueprints' own handlers (the API's problem details, the report
    form's) still come first for errors raised inside them."""
    app.register_error_handler(HTTPException, _http_error)
    for error in DATABASE_ERRORS:
        app.register_error_handler(error, database_unavailable)


def error_page(status: int, *, headers: dict[str, str] | None = None) -> ResponseReturnValue:
    """The page (or problem document, under `/api/`) for `status` in the visitor's area."""
    headers = dict(headers or {})
    if request.path.startswith("/api/"):
        return problem_response(ApiProblem(status, headers=headers))
    heading = HEADINGS.get(status, OTHER_HEADING)
    message = MESSAGES.get(status, OTHER_MESSAGE)
    template = "errors/staff.html" if is_staff_request() else "errors/reporter.html"
    page = render_template(template, status=status, heading=heading, message=message)
    return page, status, headers


def _http_error(error: HTTPException) -> ResponseReturnValue:
    if error.response is not None:  # `abort(response)`: already what should be sent
        return error.response
    status = error.code or 500
    # Headers the error itself carries (`Allow` on a 405, `Retry-After`, `WWW-Authenticate`).
    kept = {
        name: value
        for name, value in error.get_headers()
        if name.lower() not in ("content-type", "content-length")
    }
    if isinstance(error, InternalServerError):
        status = 500
    return error_page(status, headers=kept)


# --------------------------------------------------------------------------------------------
# The database unreachable


def database_unavailable(error: Exception) -> ResponseReturnValue:
    """503 and when to try again: a page in the visitor's language, or problem details."""
    note_database_outage(error)
    return error_page(503, headers=retry_later_headers())
