"""Limits on the reporter's side: failed receipt lookups, and reports filed per address.

Receipts carry 66 bits, so the lookup limit is not what keeps them safe; it keeps the lookup
from being hammered. Only failed lookups are counted, so a reporter using the status page is
never slowed. Filing is limited so that one address cannot bury the queue under invented
"still detained" reports, nor plant enough records to lift a cell over the publication
threshold; only reports actually stored count. A partner app relays many reporters from one
address, so the API's limit is higher. Every count is keyed on the daily-salted address hash
(`ratelimit.rate_limit_key`).
"""

from __future__ import annotations

from flask import Response, current_app, g

from incident_service.extensions import limiter

DEFAULT_RECEIPT_ATTEMPT_LIMIT = "10 per minute;60 per hour"
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


def report_limit() -> str:
    return str(current_app.config["REPORT_RATE_LIMIT"])  # config.py holds the default


def api_report_limit() -> str:
    return str(current_app.config["API_REPORT_RATE_LIMIT"])


def _report_was_stored(response: Response) -> bool:
    # Set by the form and the API once intake returned a receipt (a replayed submission too);
    # error pages and the form shown again in another language do not count.
    return bool(g.get("report_stored")) and response.status_code in (200, 201)


report_intake_limit = limiter.limit(
    report_limit, scope="report-form", methods=["POST"], deduct_when=_report_was_stored
)
api_report_intake_limit = limiter.limit(
    api_report_limit, scope="report-api", methods=["POST"], deduct_when=_report_was_stored
)
