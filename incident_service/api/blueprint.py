"""The `/api/v1` blueprint itself: problem details, the OpenAPI document and the catch-all.

Endpoint modules put their routes on `blueprint`; `incident_service.api` imports them all, so
that importing the package gives the complete blueprint. Everything under it is CSRF-exempt
because it accepts JSON only (the content type is checked) and uses no cookies.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request, session
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from incident_service.api.openapi import registry
from incident_service.api.problems import ApiProblem, register_problem_handlers
from incident_service.extensions import csrf

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(blueprint)
register_problem_handlers(blueprint)


@blueprint.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    return jsonify(registry.document())


registry.add_operation(
    "/openapi.json",
    "get",
    {
        "operationId": "getOpenApi",
        "summary": "This document",
        "responses": {"200": {"description": "The OpenAPI 3.1 document of /api/v1"}},
    },
)


@blueprint.route(
    "/<path:_unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
)
def unknown(_unknown: str) -> ResponseReturnValue:
    """Anything else under /api/v1: 405 if the path exists with other methods, else 404.

    Without this catch-all, an unknown address would never reach the blueprint and would get
    the site's HTML error page instead of problem details.
    """
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "api.unknown":
            allowed.append(method)
    if allowed:
        raise ApiProblem(405, headers={"Allow": ", ".join(allowed)})
    raise ApiProblem(404)


@blueprint.after_request
def _no_cookie(response: Response) -> Response:
    # `?lang=` is remembered in the session for the web pages; API clients get no cookie.
    session.modified = False
    return response
