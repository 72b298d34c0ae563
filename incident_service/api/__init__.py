"""The JSON API under `/api/v1` for partner apps and officials' clients: one blueprint with
problem details (RFC 9457) and an OpenAPI 3.1 document.

Importing this package imports every module that puts routes on the blueprint or describes
them, so the blueprint it exports and its OpenAPI document are complete: the reporters'
endpoints (`api.reports`, described in `api.reports_spec`) and the officials' summaries
(`summaries.api`).
"""

from incident_service.api import reports as _reports  # noqa: F401  (routes)
from incident_service.api import reports_spec as _reports_spec  # noqa: F401  (their OpenAPI)
from incident_service.api import uploads as _uploads  # noqa: F401  (tus routes)
from incident_service.api import uploads_spec as _uploads_spec  # noqa: F401  (their OpenAPI)
from incident_service.api.blueprint import blueprint
from incident_service.summaries import api as _summaries  # noqa: F401  (routes)

__all__ = ["blueprint"]
