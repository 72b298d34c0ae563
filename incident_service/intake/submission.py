"""What a report is: its answer groups, the limits on its free text, and what storing it returns.

Plain data with no database, keys or request behind it, so that validation, storage, the seed
loader and the benchmarks can all share one definition of a report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

MAX_NARRATIVE = 20_000
MAX_PLACE_TEXT = 500
MAX_CONTACT = 200
MAX_PAYMENT_RUB = 100_000_000
SECTION_FORMAT_VERSION = 1


class InvalidReport(Exception):
    """Input that cannot be stored. `errors` maps field paths (``people.group_size``) to
    messages in the reporter's language (lazy strings, rendered at the edge)."""

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__("invalid report: " + ", ".join(sorted(errors)))
        self.errors = dict(errors)


@dataclass(frozen=True)
class People:
    citizenship: list[str] = field(default_factory=list)
    sex: str | None = None
    age_band: str | None = None
    legal_status: str | None = None
    group_size: int = 1
    women_involved: bool = False
    children_involved: bool = False


@dataclass(frozen=True)
class Coercion:
    contract_offered: bool = False
    contract_signed: bool = False
    citizenship_promised: bool = False
    payment_offered_rub: int | None = None


@dataclass(frozen=True)
class Contact:
    channel: str | None = None
    value: str = ""


@dataclass(frozen=True)
class Consent:
    statistics: bool
    follow_up: bool = False
    share_with_ombudsman: bool = False


@dataclass(frozen=True)
class ReportSubmission:
    """A validated report. Field names are the JSON API's; the form maps onto them."""

    language: str
    incident_date: dt.date
    date_precision: str
    acts: list[str]
    perpetrators: list[str]
    location_type: str | None
    country: str
    region: str | None
    airport: str | None
    place_text: str
    duration_hours: float | None
    people: People
    forced_labour_indicators: list[str]
    coercion: Coercion
    outcome: str
    narrative: str
    reporter_role: str | None
    contact: Contact
    consent: Consent
    # Numbers answered in words ("около 40", "2 млн"), by field path, exactly as typed: free
    # text, so kept in the private section only, beside the number stored in the coded one.
    as_typed: dict[str, str] = field(default_factory=dict)

    def statistical_section(self) -> dict[str, Any]:
        """Coded answers only — the worker can open this, so no free text ever goes here."""
        return {
            "v": SECTION_FORMAT_VERSION,
            "incident_date": self.incident_date.isoformat(),
            "date_precision": self.date_precision,
            "acts": self.acts,
            "perpetrators": self.perpetrators,
            "location_type": self.location_type,
            "country": self.country,
            "region": self.region,
            "airport": self.airport,
            "duration_hours": self.duration_hours,
            "people": _plain(self.people),
            "forced_labour_indicators": self.forced_labour_indicators,
            "coercion": _plain(self.coercion),
            "outcome": self.outcome,
            "reporter_role": self.reporter_role,
            "consent_statistics": self.consent.statistics,
        }

    def private_section(self) -> dict[str, Any]:
        section = {
            "v": SECTION_FORMAT_VERSION,
            "language": self.language,
            "place_text": self.place_text,
            "narrative": self.narrative,
            "contact": _plain(self.contact),
            "consent": _plain(self.consent),
        }
        if self.as_typed:  # absent when every number was typed as one (most reports)
            section["as_typed"] = dict(self.as_typed)
        return section


def _plain(group: object) -> dict[str, Any]:
    """A flat answer group as a dict (what `dataclasses.asdict` does, without its deep copy,
    which is a measurable share of intake's CPU time)."""
    return {
        f.name: list(value) if isinstance(value := getattr(group, f.name), list) else value
        for f in fields(group)  # type: ignore[arg-type]
    }


@dataclass(frozen=True)
class RecordedReport:
    id: str
    consent_statistics: bool


@dataclass(frozen=True)
class SubmissionResult:
    report_id: str
    receipt: str
    created: bool  # False when the same submission token was seen before
