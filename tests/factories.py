"""Small factory functions for test data (synthetic, never real cases)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from incident_service.intake.storage import submit_report
from incident_service.intake.submission import SubmissionResult
from incident_service.intake.validation import parse_report

BASE_REPORT: dict[str, Any] = {
    "language": "ru",
    "incident_date": "2024-05-14",
    "date_precision": "day",
    "acts": ["BRD.01", "BRD.02", "BRD.03"],
    "perpetrators": ["BRD"],
    "location_type": "AIR",
    "country": "RU",
    "region": "RU-SPE",
    "airport": "LED",
    "place_text": "Terminal 1, a room next to passport control",
    "duration_hours": 3,
    "people": {
        "citizenship": ["TJK"],
        "sex": "M",
        "age_band": "25-34",
        "legal_status": "PAT",
        "group_size": 30,
        "women_involved": True,
        "children_involved": False,
    },
    "forced_labour_indicators": [],
    "coercion": {
        "contract_offered": False,
        "contract_signed": False,
        "citizenship_promised": False,
        "payment_offered_rub": None,
    },
    "outcome": "REL",
    "narrative": "SYNTHETIC TEST REPORT. We were held as a group and our phones were searched.",
    "reporter_role": "SELF",
    "contact": {"channel": "TELEGRAM", "value": "@synthetic_test_contact"},
    "consent": {"statistics": True, "follow_up": True, "share_with_ombudsman": False},
}


def report_payload(**overrides: Any) -> dict[str, Any]:
    payload = copy.deepcopy(BASE_REPORT)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(payload.get(key), dict):
            payload[key].update(value)
        else:
            payload[key] = value
    return payload


def submit(
    *, token: bytes | None = None, received_on: dt.date | None = None, **overrides: Any
) -> SubmissionResult:
    """File a report through the real intake service (call inside an app context)."""
    return submit_report(
        parse_report(report_payload(**overrides)),
        submission_token=token,
        received_on=received_on,
    )
