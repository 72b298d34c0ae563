"""Anonymisation of one report: open its statistical section, generalise it, tag it.

This module knows nothing of batches or the mixing pool (that is `pipeline.py`). It turns a
sealed statistical section into a `GeneralisedReport`: the values a `StatisticalRecord` and its
child rows will hold, each at its level of the taxonomy's hierarchies (design §5):

    incident day        → month ("YYYY-MM"), or the year alone ("YYYY") when only the year is known
    airport             → kept as the airport code (the finest place level a record holds)
    region              → region and its federal district; country kept
    act sub-code        → kept, with its act group beside it
    citizenship         → kept, with its region of origin beside it
    group size          → band, and persons affected top-coded at 50
    duration in hours   → band
    payment offered     → yes or no (the amount is dropped)

Only codes from the vocabularies pass: a section carrying anything else (a newer format, a
corrupted value) is refused as a whole with `SectionInvalid`, never partly counted.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from incident_service import taxonomy
from incident_service.constants import Section
from incident_service.crypto import CryptoError, RecipientPrivateKey, SymmetricKey, bindings
from incident_service.crypto.envelopes import open_envelope
from incident_service.keystore import current_keyring

SUPPORTED_SECTION_VERSIONS = frozenset({1})
UNKNOWN_ROLE = "UNK"


class SectionUnusable(Exception):
    """A statistical section that cannot become a record. `reason` is coarse and content-free:
    it is stored on the report for an operator and may be logged."""

    reason = "statistical section unusable"

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or self.reason)
        if reason is not None:
            self.reason = reason


class SectionUnreadable(SectionUnusable):
    """The envelope did not open: wrong key, tampered or truncated bytes, wrong report."""

    reason = "statistical section could not be decrypted"


class SectionInvalid(SectionUnusable):
    """The section opened but does not hold a format and codes this build knows."""

    reason = "statistical section has an unknown format or code"


@dataclass(frozen=True)
class GeneralisedReport:
    """One report at the granularity statistics keep. Field names follow `StatisticalRecord`."""

    month: str
    country: str
    federal_district: str | None
    region: str | None
    airport: str | None
    location_type: str | None
    sex: str | None
    age_band: str | None
    legal_status: str | None
    group_size_band: str
    persons_affected: int
    duration_band: str
    women_involved: bool
    children_involved: bool
    contract_offered: bool
    contract_signed: bool
    citizenship_promised: bool
    payment_offered: bool
    outcome: str
    reporter_role: str
    acts: tuple[str, ...]
    perpetrators: tuple[str, ...]
    citizenships: tuple[str, ...]
    indicators: tuple[str, ...]
    consented: bool

    def record_row(self) -> tuple[Any, ...]:
        """The same values as a tuple in `RECORD_COLUMNS` order (for a COPY)."""
        return (
            self.month,
            self.country,
            self.federal_district,
            self.region,
            self.airport,
            self.location_type,
            self.sex,
            self.age_band,
            self.legal_status,
            self.group_size_band,
            self.persons_affected,
            self.duration_band,
            self.women_involved,
            self.children_involved,
            self.contract_offered,
            self.contract_signed,
            self.citizenship_promised,
            self.payment_offered,
            self.outcome,
            self.reporter_role,
        )

    def record_values(self) -> dict[str, Any]:
        """Column values of the `statistical_records` row (without id and tag)."""
        return {
            "month": self.month,
            "country": self.country,
            "federal_district": self.federal_district,
            "region": self.region,
            "airport": self.airport,
            "location_type": self.location_type,
            "sex": self.sex,
            "age_band": self.age_band,
            "legal_status": self.legal_status,
            "group_size_band": self.group_size_band,
            "persons_affected": self.persons_affected,
            "duration_band": self.duration_band,
            "women_involved": self.women_involved,
            "children_involved": self.children_involved,
            "contract_offered": self.contract_offered,
            "contract_signed": self.contract_signed,
            "citizenship_promised": self.citizenship_promised,
            "payment_offered": self.payment_offered,
            "outcome": self.outcome,
            "reporter_role": self.reporter_role,
        }


# Columns of `statistical_records` besides id and tag, in the order of `record_row`.
RECORD_COLUMNS = (
    "month",
    "country",
    "federal_district",
    "region",
    "airport",
    "location_type",
    "sex",
    "age_band",
    "legal_status",
    "group_size_band",
    "persons_affected",
    "duration_band",
    "women_involved",
    "children_involved",
    "contract_offered",
    "contract_signed",
    "citizenship_promised",
    "payment_offered",
    "outcome",
    "reporter_role",
)


# --------------------------------------------------------------------------------------------
# Keys


def statistics_key() -> RecipientPrivateKey:
    """The statistics private key; only a worker (or the embedded all-in-one process) has it."""
    return current_keyring().require_statistics_private()


def withdrawal_key() -> SymmetricKey:
    return current_keyring().require_withdrawal_key()


def withdrawal_tag(report_id: str, key: SymmetricKey | None = None) -> bytes:
    """The only link from a statistical record back to its report, usable only with the
    worker-held withdrawal key."""
    return bindings.withdrawal_tag(key or withdrawal_key(), report_id)


# --------------------------------------------------------------------------------------------
# Opening


def open_section(report_id: str, envelope: bytes, key: RecipientPrivateKey) -> Mapping[str, Any]:
    """Decrypt and parse one statistical section, or raise `SectionUnusable`."""
    try:
        plaintext = open_envelope(
            envelope,
            context=bindings.report_section(report_id, Section.STATISTICAL),
            private_key=key,
        )
    except CryptoError as exc:
        raise SectionUnreadable() from exc
    try:
        document = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SectionInvalid() from exc
    if not isinstance(document, dict):
        raise SectionInvalid()
    return document


# --------------------------------------------------------------------------------------------
# Generalising


def _code(document: Mapping[str, Any], name: str, vocabulary: taxonomy.Vocabulary) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value not in vocabulary:
        raise SectionInvalid()
    return value


def _codes(value: Any, vocabulary: taxonomy.Vocabulary) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SectionInvalid()
    codes: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in vocabulary:
            raise SectionInvalid()
        if item not in codes:
            codes.append(item)
    return tuple(sorted(codes))


def _flag(document: Mapping[str, Any], name: str) -> bool:
    value = document.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise SectionInvalid()
    return value


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SectionInvalid()
    if value != value or value < 0:  # NaN or negative: not something intake stores
        raise SectionInvalid()
    return float(value)


def _month(document: Mapping[str, Any]) -> str:
    raw = document.get("incident_date")
    precision = document.get("date_precision", "day")
    if not isinstance(raw, str) or precision not in taxonomy.DATE_PRECISIONS:
        raise SectionInvalid()
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise SectionInvalid() from exc
    if precision == "year":
        # A year-only date is stored as 1 January; calling that January would invent a month.
        return f"{day.year:04d}"
    return taxonomy.month_of(day)


def generalise(document: Mapping[str, Any]) -> GeneralisedReport:
    """Turn an opened statistical section into its generalised form (pure; no I/O)."""
    if document.get("v") not in SUPPORTED_SECTION_VERSIONS:
        raise SectionInvalid()
    acts = _codes(document.get("acts"), taxonomy.ACTS)
    if not acts:
        raise SectionInvalid()
    country = _code(document, "country", taxonomy.COUNTRIES)
    if country is None:
        raise SectionInvalid()
    region = _code(document, "region", taxonomy.REGIONS)
    airport = _code(document, "airport", taxonomy.AIRPORTS)
    if airport is not None and region is None:
        region = taxonomy.airport_region(airport)
    if (region is not None or airport is not None) and country != "RU":
        raise SectionInvalid()
    people = document.get("people") or {}
    coercion = document.get("coercion") or {}
    if not isinstance(people, Mapping) or not isinstance(coercion, Mapping):
        raise SectionInvalid()
    group_size = _number(people.get("group_size"))
    if group_size is not None and not group_size.is_integer():
        raise SectionInvalid()
    size = int(group_size) if group_size is not None else None
    payment = _number(coercion.get("payment_offered_rub"))
    reporter_role = _code(document, "reporter_role", taxonomy.REPORTER_ROLES)
    outcome = _code(document, "outcome", taxonomy.OUTCOMES) or "UNK"
    consented = document.get("consent_statistics", True)
    if not isinstance(consented, bool):
        raise SectionInvalid()
    return GeneralisedReport(
        month=_month(document),
        country=country,
        federal_district=taxonomy.region_district(region) if region is not None else None,
        region=region,
        airport=airport,
        location_type=_code(document, "location_type", taxonomy.LOCATION_TYPES),
        sex=_code(people, "sex", taxonomy.SEXES),
        age_band=_code(people, "age_band", taxonomy.AGE_BANDS),
        legal_status=_code(people, "legal_status", taxonomy.LEGAL_STATUSES),
        group_size_band=taxonomy.group_size_band(size),
        persons_affected=taxonomy.persons_affected(size),
        duration_band=taxonomy.duration_band(_number(document.get("duration_hours"))),
        women_involved=_flag(people, "women_involved"),
        children_involved=_flag(people, "children_involved"),
        contract_offered=_flag(coercion, "contract_offered"),
        contract_signed=_flag(coercion, "contract_signed"),
        citizenship_promised=_flag(coercion, "citizenship_promised"),
        payment_offered=payment is not None and payment > 0,
        outcome=outcome,
        reporter_role=reporter_role or UNKNOWN_ROLE,
        acts=acts,
        perpetrators=_codes(document.get("perpetrators"), taxonomy.PERPETRATORS),
        citizenships=_codes(people.get("citizenship"), taxonomy.CITIZENSHIPS),
        indicators=_codes(
            document.get("forced_labour_indicators"), taxonomy.FORCED_LABOUR_INDICATORS
        ),
        consented=consented,
    )


def anonymise_section(
    report_id: str, envelope: bytes, key: RecipientPrivateKey
) -> GeneralisedReport:
    """Open and generalise one report's statistical section."""
    return generalise(open_section(report_id, envelope, key))


def child_rows(
    record_id: str, report: GeneralisedReport
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for the acts, perpetrators, citizenships and indicators tables of one record."""
    acts = [
        {"record_id": record_id, "act_code": code, "act_group": taxonomy.act_group(code)}
        for code in report.acts
    ]
    perpetrators = [{"record_id": record_id, "perpetrator": code} for code in report.perpetrators]
    citizenships = [
        {
            "record_id": record_id,
            "citizenship": code,
            "origin_region": taxonomy.citizenship_origin(code),
        }
        for code in report.citizenships
    ]
    indicators = [{"record_id": record_id, "indicator": code} for code in report.indicators]
    return acts, perpetrators, citizenships, indicators


def describe_failure(errors: Sequence[SectionUnusable]) -> str:
    """A one-line, content-free summary of section failures for a log line or an exception."""
    counts: dict[str, int] = {}
    for error in errors:
        counts[error.reason] = counts.get(error.reason, 0) + 1
    return "; ".join(f"{count} × {reason}" for reason, count in sorted(counts.items()))
