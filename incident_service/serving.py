"""gunicorn's settings for the web process: `gunicorn -c python:incident_service.serving
incident_service.wsgi:app` (docker-compose.yml runs exactly that).

Threads rather than one process per request: a client on a slow or broken mobile link that
sends 10 of 1,000 declared bytes used to hold one of two sync workers until gunicorn's 30 s
timeout, and two such clients took the whole site down. With `gthread`, such a client holds
one thread of many, and `body_limits.RequestBodyGuard` gives up on it after
`REQUEST_READ_TIMEOUT` seconds. In front of it, a buffering proxy (nginx with request buffering
on, see docs/operations.md) absorbs slow uploads before they reach Python at all.
"""

from __future__ import annotations

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "16"))
# A worker silent this long is restarted; requests themselves are bounded by the guard.
timeout = 60
graceful_timeout = 30
keepalive = 5
# No access log: it would carry every client's address.
accesslog = None
logger_class = "incident_service.log_redaction.GunicornLogger"
