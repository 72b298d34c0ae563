"""WSGI entry point for gunicorn: `gunicorn incident_service.wsgi:app`."""

from __future__ import annotations

import sys

from werkzeug.middleware.proxy_fix import ProxyFix

from incident_service import create_app, keystore
from incident_service.settings import Config, UnsafeConfiguration

try:
    settings = Config.from_env()
    settings.check_serving_role("web")
    app = create_app(settings)
except UnsafeConfiguration as exc:
    print(f"refusing to start: {exc}", file=sys.stderr)
    sys.exit(2)
if app.extensions["incident_keys"].development:
    keystore.warn_development(app.extensions["incident_keys"].keys_dir)

# Only as many forwarded hops as there are proxies we run (TRUSTED_PROXIES). The forwarded
# address feeds only the daily-keyed rate-limit hash; it is never stored or logged.
if settings.TRUSTED_PROXIES > 0:
    hops = settings.TRUSTED_PROXIES
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
