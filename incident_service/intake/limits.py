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

from dataclasses import dataclass

from flask import Response, current_app, g
from werkzeug.exceptions import TooManyRequests

from incident_service.extensions import limiter
from incident_service.ratelimit import add_to_windows, over_limit, rate_limit_key, windows_of

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


def _count(allowance: Allowance, step: int) -> list[int] | None:
    return add_to_windows(
        "filing",
        scope=allowance.scope,
        holder=allowance.holder,
        windows=windows_of(allowance.limit),
        step=step,
    )


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
    if over_limit(counts, windows_of(allowance.limit)):
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
