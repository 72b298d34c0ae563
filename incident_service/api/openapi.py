"""The OpenAPI 3.1 document of `/api/v1`, assembled from a registry that any module can extend.

How to add your endpoints (for example `/api/v1/summaries`):

1. Put your routes on `incident_service.api.blueprint.blueprint` in a module of your own and
   import that module in `incident_service/api/__init__.py`, so that the blueprint is complete
   when the app registers it. Your errors then become problem details like everyone else's.
2. In the same module (or, when the description is long, in one of its own that the package
   init imports too, like `api.reports_spec`), at import time, describe them::

       from incident_service.api.openapi import registry

       registry.add_schema("Summary", {"type": "object", "properties": {...}})
       registry.add_operation(
           "/summaries/{period}",
           "get",
           {
               "operationId": "getSummary",
               "summary": "A published summary",
               "tags": ["summaries"],
               "security": [{"officialToken": []}],
               "responses": {"200": registry.json_response("Summary", "The summary")},
           },
       )
       registry.add_security_scheme("officialToken", {"type": "http", "scheme": "bearer"})

   Paths are relative to the server URL `/api/v1`. Errors can reuse
   `registry.problem_response("...")`. Adding the same path and method twice is refused, so two
   modules cannot silently overwrite each other.

The document is built on request (`/api/v1/openapi.json`), so schemas built from the taxonomy
always list today's codes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Schema = dict[str, Any]


class DuplicateOperation(ValueError):
    """Two modules tried to describe the same path and method."""


class OpenApiRegistry:
    """Paths, component schemas and security schemes contributed by API modules."""

    def __init__(self, *, title: str, description: str) -> None:
        self.title = title
        self.description = description
        self._paths: dict[str, dict[str, Any]] = {}
        self._schemas: dict[str, Schema | Callable[[], Schema]] = {}
        self._security_schemes: dict[str, Schema] = {}
        self._tags: dict[str, str] = {}

    def add_operation(self, path: str, method: str, operation: dict[str, Any]) -> None:
        method = method.lower()
        if method not in HTTP_METHODS:
            raise ValueError(f"not an HTTP method: {method}")
        item = self._paths.setdefault(path, {})
        if method in item:
            raise DuplicateOperation(f"{method.upper()} {path} is already described")
        item[method] = operation

    def add_schema(self, name: str, schema: Schema | Callable[[], Schema]) -> None:
        """A component schema, or a function building it when the document is served."""
        self._schemas[name] = schema

    def add_security_scheme(self, name: str, scheme: Schema) -> None:
        self._security_schemes[name] = scheme

    def add_tag(self, name: str, description: str) -> None:
        self._tags[name] = description

    @staticmethod
    def ref(name: str) -> Schema:
        return {"$ref": f"#/components/schemas/{name}"}

    def json_response(self, schema_name: str, description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": self.ref(schema_name)}},
        }

    def json_body(self, schema_name: str) -> dict[str, Any]:
        return {
            "required": True,
            "content": {"application/json": {"schema": self.ref(schema_name)}},
        }

    def problem_response(self, description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/problem+json": {"schema": self.ref("Problem")}},
        }

    def described(self) -> set[tuple[str, str]]:
        """(path, method) pairs described so far; tests compare them with the URL map."""
        return {(path, method) for path, item in self._paths.items() for method in item}

    def document(self) -> dict[str, Any]:
        schemas = {
            name: (schema() if callable(schema) else copy.deepcopy(schema))
            for name, schema in sorted(self._schemas.items())
        }
        components: dict[str, Any] = {"schemas": schemas}
        if self._security_schemes:
            components["securitySchemes"] = copy.deepcopy(self._security_schemes)
        return {
            "openapi": OPENAPI_VERSION,
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "info": {
                "title": self.title,
                "version": API_VERSION,
                "description": self.description,
                "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
            },
            "servers": [{"url": "/api/v1"}],
            "tags": [{"name": n, "description": d} for n, d in sorted(self._tags.items())],
            "paths": copy.deepcopy(dict(sorted(self._paths.items()))),
            "components": components,
        }


registry = OpenApiRegistry(
    title="Incident Service API",
    description=(
        "For partner apps (a Telegram bot, a mobile app) that file reports for labour migrants "
        "and let them read answers with their receipt. The receipt is sent in request bodies "
        "only, never in a URL. Errors are RFC 9457 problem details in the language asked for "
        "with `?lang=`, else the report's `language`, else Accept-Language. "
        "See docs/reporter-api.md."
    ),
)
