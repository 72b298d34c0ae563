"""Logging that cannot leak who reported: no access log, a filter that redacts addresses and
receipt-like digit runs from every record (message, exception and stack text) as a second line
of defence, and no per-submission task lines in the worker's log."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gunicorn.glogging import Logger as GunicornBaseLogger

REDACTED_IP = "[redacted-ip]"
IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# Anything that could be an IPv6 address: a run of hex digits, colons and dots with at least two
# colons. Compressed forms ("2001:db8::1", "fe80::abcd", "::1", "::ffff:10.0.0.1") have no fixed
# shape a pattern alone can check, so each run is then parsed (`_redact_ipv6_run`).
IPV6_CANDIDATE = re.compile(r"[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*")
# The longest text form: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
MAX_IPV6_TEXT = 45
MAX_RUN_SEARCHED = 200
# 20 digits, possibly grouped by spaces or dashes: the shape of a receipt.
RECEIPT_LIKE = re.compile(r"(?<!\d)(?:\d[ \-]?){19}\d(?!\d)")
# A resumable upload's URL carries the secret its state is sealed under (evidence uploads):
# Flask's "Exception on /api/v1/uploads/<secret> [PATCH]" would otherwise log it.
UPLOAD_URL = re.compile(r"(/uploads/)[^/\s?#\"']+")


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _starts(run: str) -> list[int]:
    """Where an address in a run may begin: at the start, after any colon ("host:2001:db8::1"),
    or glued to a few hex letters before the first colon ("deadfe80::1")."""
    first_colon = run.find(":")
    glued = range(max(1, first_colon - 4), first_colon)
    after_colons = (i + 1 for i, ch in enumerate(run) if ch == ":")
    return sorted({0, *glued, *after_colons})


def _first_ipv6(run: str) -> tuple[int, int] | None:
    """The first address in a run: of the possible starts before it ends, the one reaching
    furthest (":::ffff:10.0.0.1" is ":" and an address, not "::" and a remainder)."""
    best: tuple[int, int] | None = None
    for start in _starts(run):
        if best is not None and start >= best[1]:
            break  # past the address found: a later one is the next round's
        reached = best[1] if best is not None else start + 1
        for end in range(min(len(run), start + MAX_IPV6_TEXT), reached, -1):
            if _is_ipv6(run[start:end]):
                best = (start, end)
                break
    return best


def _redact_ipv6_in(run: str) -> str:
    """Every address in a run replaced; the rest (a time of day, a MAC address, a port,
    sentence punctuation) left as it was. A run too long to search is replaced whole: no
    text a person reads is a 200-character chain of hex digits and colons."""
    if len(run) > MAX_RUN_SEARCHED:
        return REDACTED_IP
    kept: list[str] = []
    while IPV6_CANDIDATE.search(run):
        found = _first_ipv6(run)
        if found is None:
            break
        kept += [run[: found[0]], REDACTED_IP]
        run = run[found[1] :]
    return "".join(kept) + run


def _redact_ipv6_run(match: re.Match[str]) -> str:
    return _redact_ipv6_in(match.group(0))


def redact(text: str) -> str:
    """Addresses first, so that the digits of an address are never taken for part of a
    receipt (which would leave the rest of the address behind)."""
    text = IPV6_CANDIDATE.sub(_redact_ipv6_run, text)
    text = IPV4.sub(REDACTED_IP, text)
    text = UPLOAD_URL.sub(r"\1[redacted-upload]", text)
    return RECEIPT_LIKE.sub("[redacted-number]", text)


class RedactingFilter(logging.Filter):
    """Redacts the message, and the text of any exception or stack attached to the record:
    an exception's message is as likely to quote an address as a log line is."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break logging
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            # Formatters fall back to exc_info only when exc_text is empty; dropping it also
            # keeps the raw exception from handlers that read it directly.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class QuietTaskLines(logging.Filter):
    """Drops Celery's INFO lines ("Task ... received", "Task ... succeeded in ...") for the
    given tasks; warnings and errors about them still pass.

    The nudge task is sent after each submission, so its lines would date every report to the
    second in the worker's log. Celery logs these with a mapping of the task's name and id as
    the record's arguments.
    """

    def __init__(self, task_names: Iterable[str]) -> None:
        super().__init__()
        self.task_names = frozenset(task_names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        args = record.args
        name = args.get("name") if isinstance(args, Mapping) else None
        return name not in self.task_names


# Where Celery writes the per-task lines: the worker's strategy ("received") and the tracer
# ("succeeded", "retry", "raised").
CELERY_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


def quiet_task_lines(task_names: Iterable[str]) -> None:
    """Install `QuietTaskLines` on Celery's task loggers (idempotent)."""
    for logger_name in CELERY_TASK_LOGGERS:
        logger = logging.getLogger(logger_name)
        if not any(isinstance(f, QuietTaskLines) for f in logger.filters):
            logger.addFilter(QuietTaskLines(task_names))


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
