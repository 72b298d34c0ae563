"""Logging that cannot leak who reported: no access log, and a filter that redacts addresses
and receipt-like digit runs from every record as a second line of defence."""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as GunicornBaseLogger

IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
IPV6 = re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{0,4}\b|::1\b")
# 20 digits, possibly grouped by spaces or dashes: the shape of a receipt.
RECEIPT_LIKE = re.compile(r"(?<!\d)(?:\d[ \-]?){19}\d(?!\d)")


def redact(text: str) -> str:
    text = RECEIPT_LIKE.sub("[redacted-number]", text)
    text = IPV4.sub("[redacted-ip]", text)
    return IPV6.sub("[redacted-ip]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break logging
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def configure_logging() -> None:
    # The development server's request log carries the client address: silence it.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("gunicorn.access").disabled = True
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for f in root.filters):
        root.addFilter(RedactingFilter())
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


class GunicornLogger(GunicornBaseLogger):  # type: ignore[misc]
    """gunicorn's logger with the redacting filter and no access log at all.

    gunicorn's error log has its own handlers and does not propagate to the root logger, and
    it reports malformed requests with the client's address ("Invalid request from ip=...").
    Use with `gunicorn --logger-class incident_service.log_redaction.GunicornLogger`.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactingFilter) for f in log.filters):
                log.addFilter(RedactingFilter())
            for handler in log.handlers:
                if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                    handler.addFilter(RedactingFilter())

    def access(self, *args: Any, **kwargs: Any) -> None:
        """Never write an access log line: each one would carry a reporter's address."""
