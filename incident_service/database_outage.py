"""The database unreachable: which errors mean it, and one log line per outage burst.

PostgreSQL stopped answered every form post 500 with a traceback in the log each (421 in one
outage). These errors are answered 503 with `Retry-After` (`error_pages`, the report form's own
handler in `intake.views`), and the log says so once, then at most once a minute how many
requests were refused since: the log of an outage is a few lines an operator can read.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from sqlalchemy import exc as sa_exc

from incident_service.models import db

log = logging.getLogger(__name__)

# The faults of a database that cannot be reached or has gone away (PostgreSQL stopped or
# restarting, the network to it cut, every pooled connection taken). They are transient: the
# client is told to try again, and nothing is stored.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)
RETRY_AFTER_SECONDS = 30
# One log line per outage burst: at most one line a minute while requests keep failing.
OUTAGE_LOG_INTERVAL_SECONDS = 60.0


class _OutageLog:
    """Says once that the database is unreachable, then at most once an interval how many
    requests were refused since: the log of an outage is a few lines, not a traceback each."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._last: float | None = None
        self._since = 0

    def note(self, error: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._since += 1
            if self._last is not None and now - self._last < self.interval:
                return
            refused, self._since = self._since, 0
            self._last = now
        # The driver's error class and SQLSTATE only: its message names the server's address.
        orig = getattr(error, "orig", None)
        cause = type(orig if orig is not None else error)
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        log.error(
            "database unavailable (%s.%s%s): answered 503 with Retry-After to %d request(s) "
            "since the last such line; the next comes %d s later at the earliest",
            cause.__module__,
            cause.__qualname__,
            f", SQLSTATE {sqlstate}" if sqlstate else "",
            refused,
            int(self.interval),
        )

    def reset(self) -> None:
        with self._lock:
            self._last, self._since = None, 0


outage_log = _OutageLog(OUTAGE_LOG_INTERVAL_SECONDS)


def note_database_outage(error: Exception) -> None:
    """Roll back what the request began and note the outage in the log (throttled)."""
    # The connection may be gone with the rollback failing too; the session is discarded at
    # the end of the request anyway.
    with contextlib.suppress(Exception):
        db.session.rollback()
    outage_log.note(error)


def retry_later_headers() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}
