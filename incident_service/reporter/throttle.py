"""The limit on failed receipt lookups, shared by the status page and the JSON API.

Receipts carry 66 bits, so the limit is not what keeps them safe; it keeps the lookup from being
hammered. Only failed lookups are counted, so a reporter using the status page is never slowed,
and the count is keyed on the daily-salted address hash (`ratelimit.rate_limit_key`).
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
