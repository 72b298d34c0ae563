"""Limits on the reporter's side: failed receipt lookups, and reports filed per address.

Receipts carry 66 bits, so the lookup limit is not what keeps them safe; it keeps the lookup
from being hammered. Only failed lookups are counted, so a reporter using the status page is
never slowed. Filing is limited so that one address cannot bury the queue under invented
"still detained" reports, nor plant enough records to lift a cell over the publication
threshold; only reports actually stored count. A partner app relays many reporters from one
address, so the API's limit is higher. Every count is keyed on the daily-keyed address hash
(`ratelimit.rate_limit_key`), and counter names hide the window they count
(`ratelimit.counter_name`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cache

from flask import Response, current_app, g
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from incident_service.extensions import limiter
from incident_service.ratelimit import counter_name, rate_limit_key, redis_client

_memory_lock = threading.Lock()

# Failed lookups per address: short, because many reporters share a mobile carrier's address
# and one stranger's typos must not lock them out of their own receipt for long.
DEFAULT_RECEIPT_ATTEMPT_LIMIT = "10 per minute"
# Lookups of one receipt, from anywhere: a number someone else learned cannot be watched around
# the clock through many addresses.
DEFAULT_RECEIPT_USE_LIMIT = "60 per hour"
# Messages a receipt holder may post a day: each one lands in a caseworker's queue.
DEFAULT_REPORTER_MESSAGE_LIMIT = "20 per day"
RECEIPT_LIMIT_SCOPE = "receipt-lookup"


def receipt_attempt_limit() -> str:
    """`RECEIPT_ATTEMPT_LIMIT` in the app config overrides the default (tests lower it)."""
    return str(current_app.config.get("RECEIPT_ATTEMPT_LIMIT", DEFAULT_RECEIPT_ATTEMPT_LIMIT))


def mark_receipt_rejected() -> None:
    g.receipt_rejected = True


def _receipt_was_rejected(_response: Response) -> bool:
    return bool(g.get("receipt_rejected", False))


receipt_lookup_limit = limiter.shared_limit(
    receipt_attempt_limit,
    scope=RECEIPT_LIMIT_SCOPE,
    methods=["POST"],
    deduct_when=_receipt_was_rejected,
)


@dataclass(frozen=True)
class Allowance:
    """Whose filings count against which limit."""

    scope: str
    limit: str
    holder: str  # the daily-keyed address hash, or a partner token's id


def anonymous_allowance() -> Allowance:
    """The form and the API without a token share one allowance per address bucket, so that
    switching from one to the other gains nothing (`REPORT_RATE_LIMIT`)."""
    return Allowance("report", str(current_app.config["REPORT_RATE_LIMIT"]), rate_limit_key())


def partner_allowance(token_id: int) -> Allowance:
    """A partner app relays many reporters from one address: its token has a quota of its own
    (`API_REPORT_RATE_LIMIT`), counted per token rather than per address."""
    return Allowance("partner", str(current_app.config["API_REPORT_RATE_LIMIT"]), f"t{token_id}")


# --------------------------------------------------------------------------------------------
# Filing limits: counted in one Redis round trip per stored report.
#
# Flask-Limiter would test every window before the request and hit it again after the
# response: two round trips and its bookkeeping on every report (docs/benchmarks.md). Intake
# instead counts the report in every window at once, after validation and just before storing,
# and is refused when any count goes over. A refused or replayed submission is taken back out,
# so that only stored reports use up an allowance.


@dataclass(frozen=True)
class FilingWindow:
    amount: int
    seconds: int


@cache
def filing_windows(limit: str) -> tuple[FilingWindow, ...]:
    """ "10 per hour;30 per day" → the windows, parsed once per distinct setting."""
    return tuple(FilingWindow(item.amount, item.get_expiry()) for item in parse_many(limit))


def _filing_keys(allowance: Allowance, windows: tuple[FilingWindow, ...]) -> list[tuple[str, int]]:
    """(counter name, the window's end as a Unix time) per window. The counter expires at the
    end of its window, so its time to live tells no more than which window it counts."""
    now = int(time.time())
    keys = []
    for window in windows:
        index = now // window.seconds
        parts = (allowance.scope, str(window.seconds), str(index), allowance.holder)
        name = counter_name("filing", *parts)
        keys.append((f"incident:filing:{name}", (index + 1) * window.seconds))
    return keys


def _memory_counts(keys: list[tuple[str, int]], step: int) -> list[int]:
    """Embedded default: counts in this process, per app (the tests build many apps)."""
    counts: dict[str, int] = current_app.extensions.setdefault("filing_counts", {})
    with _memory_lock:
        result = []
        for key, _expires in keys:
            counts[key] = counts.get(key, 0) + step
            result.append(counts[key])
        if len(counts) > 100_000:  # old windows: drop everything rather than grow
            counts.clear()
        return result


def _redis_counts(uri: str, keys: list[tuple[str, int]], step: int) -> list[int] | None:
    import redis

    pipe = redis_client(uri).pipeline(transaction=False)
    for key, expires_at in keys:
        pipe.incrby(key, step)
        pipe.expireat(key, expires_at)
    try:
        replies = pipe.execute()
    except redis.RedisError:
        return None
    return [int(n) for n in replies[::2]]


def _count(allowance: Allowance, step: int) -> list[int] | None:
    windows = filing_windows(allowance.limit)
    keys = _filing_keys(allowance, windows)
    uri = str(current_app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    if uri.startswith("redis"):
        return _redis_counts(uri, keys, step)
    return _memory_counts(keys, step)


def count_filing(allowance: Allowance) -> None:
    """Count one report against `allowance`; `TooManyRequests` (429) once a window is full.

    If Redis cannot be reached the report is taken: losing a report to an unreachable counter
    is worse than letting one address file a few more.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    counts = _count(allowance, +1)
    if counts is None:
        return
    windows = filing_windows(allowance.limit)
    if any(n > window.amount for n, window in zip(counts, windows, strict=True)):
        # A refused attempt must not use up the longer windows (a full hour would otherwise
        # eat into the day with every retry): the second round trip is paid only here.
        _count(allowance, -1)
        raise TooManyRequests()


def uncount_filing(allowance: Allowance) -> None:
    """Take back a count for a submission that stored nothing new (a replay)."""
    if current_app.config.get("RATELIMIT_ENABLED", True):
        _count(allowance, -1)


def count_receipt_use(lookup_hash: bytes) -> None:
    """Count one lookup of a receipt (by its lookup hash); 429 past `RECEIPT_USE_LIMIT`."""
    limit = str(current_app.config.get("RECEIPT_USE_LIMIT", DEFAULT_RECEIPT_USE_LIMIT))
    count_filing(Allowance("receipt-use", limit, lookup_hash.hex()))


def count_reporter_message(report_id: str) -> None:
    """Count one message from a receipt holder; 429 past `REPORTER_MESSAGE_LIMIT` a day."""
    limit = str(current_app.config.get("REPORTER_MESSAGE_LIMIT", DEFAULT_REPORTER_MESSAGE_LIMIT))
    count_filing(Allowance("reporter-message", limit, report_id))
