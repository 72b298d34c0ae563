"""WSGI entry point for gunicorn: `gunicorn incident_service.wsgi:app`."""

from __future__ import annotations

import sys

from werkzeug.middleware.proxy_fix import ProxyFix

from config import UnsafeConfiguration
from incident_service import create_app

try:
    app = create_app()
except UnsafeConfiguration as exc:
    print(f"refusing to start: {exc}", file=sys.stderr)
    sys.exit(2)

# Behind exactly one reverse proxy (TLS terminator) in the compose deployment. The forwarded
# address feeds only the daily-keyed rate-limit hash; it is never stored or logged.
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
