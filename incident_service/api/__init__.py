"""The JSON API under `/api/v1` for partner apps and officials' clients: one blueprint with
problem details (RFC 9457) and an OpenAPI 3.1 document.

Importing this package imports every module that puts routes on the blueprint, so the
blueprint it exports is complete: the reporters' endpoints (`api.reports`) and the officials'
summaries (`summaries.api`).
"""

from incident_service.api import reports as _reports  # noqa: F401  (routes)
from incident_service.api.blueprint import blueprint
from incident_service.summaries import api as _summaries  # noqa: F401  (routes)

__all__ = ["blueprint"]
