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
import functools
import json
from collections.abc import Container, Mapping, Sequence
from typing import Any, NamedTuple

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


class GeneralisedReport(NamedTuple):
    """One report at the granularity statistics keep. Field names follow `StatisticalRecord`;
    the first twenty are its columns in `RECORD_COLUMNS` order.

    A named tuple rather than a frozen dataclass: as immutable, and built in a fraction of the
    time (a frozen dataclass sets each of its 25 fields through `object.__setattr__`, which
    was a tenth of the anonymiser's work beside the open; docs/benchmarks.md, issue 14).
    """

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
        return self[:_RECORD_WIDTH]

    def record_values(self) -> dict[str, Any]:
        """Column values of the `statistical_records` row (without id and tag)."""
        return dict(zip(RECORD_COLUMNS, self[:_RECORD_WIDTH], strict=True))


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
_RECORD_WIDTH = len(RECORD_COLUMNS)
assert GeneralisedReport._fields[:_RECORD_WIDTH] == RECORD_COLUMNS


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
        document = _parse(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SectionInvalid() from exc
    if not isinstance(document, dict):
        raise SectionInvalid()
    return document


_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _parse(text: str) -> Any:
    """`json.loads(text)`, without its two whitespace searches for the sections intake writes
    (compact JSON, nothing around it); anything else is left to `json.loads` itself, so what
    parses and what is refused does not change."""
    try:
        document, end = _scan(text, 0)
    except StopIteration:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return document


# --------------------------------------------------------------------------------------------
# Generalising


# The vocabularies as plain sets and their hierarchies as dicts, built once: `code in
# vocabulary` and `taxonomy.region_district(code)` are method calls, and a section has some
# twenty codes to check and four to look up (docs/benchmarks.md, issue 14).


def _parents(vocabulary: taxonomy.Vocabulary) -> dict[str, str]:
    parents: dict[str, str] = {}
    for term in vocabulary:
        assert term.parent is not None, f"{vocabulary.name}: {term.code} has no parent"
        parents[term.code] = term.parent
    return parents


def _codes_of(vocabulary: taxonomy.Vocabulary) -> frozenset[str]:
    return frozenset(vocabulary.codes())


ACT_GROUP = _parents(taxonomy.ACTS)
REGION_DISTRICT = _parents(taxonomy.REGIONS)
AIRPORT_REGION = _parents(taxonomy.AIRPORTS)
CITIZENSHIP_ORIGIN = _parents(taxonomy.CITIZENSHIPS)
_COUNTRIES = _codes_of(taxonomy.COUNTRIES)
_LOCATION_TYPES = _codes_of(taxonomy.LOCATION_TYPES)
_SEXES = _codes_of(taxonomy.SEXES)
_AGE_BANDS = _codes_of(taxonomy.AGE_BANDS)
_LEGAL_STATUSES = _codes_of(taxonomy.LEGAL_STATUSES)
_PERPETRATORS = _codes_of(taxonomy.PERPETRATORS)
_INDICATORS = _codes_of(taxonomy.FORCED_LABOUR_INDICATORS)
_REPORTER_ROLES = _codes_of(taxonomy.REPORTER_ROLES)
_OUTCOMES = _codes_of(taxonomy.OUTCOMES)
_DATE_PRECISIONS = _codes_of(taxonomy.DATE_PRECISIONS)


def _code(value: Any, codes: Container[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in codes:
        raise SectionInvalid()
    return value


def _codes(value: Any, codes: Container[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SectionInvalid()
    for item in value:
        if not isinstance(item, str) or item not in codes:
            raise SectionInvalid()
    return tuple(sorted(set(value)))


def _flag(group: Mapping[str, Any], name: str) -> bool:
    value = group.get(name, False)
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


def _group(value: Any) -> Mapping[str, Any]:
    """`people` or `coercion`: an object, or nothing."""
    value = value or {}
    if type(value) is not dict and not isinstance(value, Mapping):
        raise SectionInvalid()
    return value


def _month(document: Mapping[str, Any]) -> str:
    raw = document.get("incident_date")
    precision = document.get("date_precision", "day")
    if not isinstance(raw, str) or precision not in _DATE_PRECISIONS:
        raise SectionInvalid()
    return _month_of(raw, precision)


@functools.lru_cache(maxsize=4096)
def _month_of(raw: str, precision: str) -> str:
    """A valid date and precision as kept in a record (a few thousand distinct days recur)."""
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise SectionInvalid() from exc
    if precision == "year":
        # A year-only date is stored as 1 January; calling that January would invent a month.
        return f"{day.year:04d}"
    return taxonomy.month_of(day)


def generalise(document: Mapping[str, Any]) -> GeneralisedReport:
    """Turn an opened statistical section into its generalised form (pure; no I/O).

    Every code is checked against its vocabulary, in the order of the fields below; the
    output for a seeded set of sections is pinned by `tests/test_anonymise_golden.py`.
    A value of the wrong JSON type where a code belongs (a list is unhashable, so looking it
    up raises TypeError) makes the section invalid like any other bad value: one refused
    report, never an exception that would stop every flush after it.
    """
    try:
        return _generalise(document)
    except TypeError as exc:
        raise SectionInvalid() from exc


def _generalise(document: Mapping[str, Any]) -> GeneralisedReport:
    get = document.get
    if get("v") not in SUPPORTED_SECTION_VERSIONS:
        raise SectionInvalid()
    acts = _codes(get("acts"), ACT_GROUP)
    if not acts:
        raise SectionInvalid()
    country = _code(get("country"), _COUNTRIES)
    if country is None:
        raise SectionInvalid()
    region = _code(get("region"), REGION_DISTRICT)
    airport = _code(get("airport"), AIRPORT_REGION)
    if airport is not None and region is None:
        region = AIRPORT_REGION[airport]
    if (region is not None or airport is not None) and country != "RU":
        raise SectionInvalid()
    people = _group(get("people"))
    coercion = _group(get("coercion"))
    group_size = _number(people.get("group_size"))
    if group_size is not None and not group_size.is_integer():
        raise SectionInvalid()
    size = int(group_size) if group_size is not None else None
    payment = _number(coercion.get("payment_offered_rub"))
    reporter_role = _code(get("reporter_role"), _REPORTER_ROLES)
    outcome = _code(get("outcome"), _OUTCOMES) or "UNK"
    consented = get("consent_statistics", True)
    if not isinstance(consented, bool):
        raise SectionInvalid()
    return GeneralisedReport(
        _month(document),
        country,
        REGION_DISTRICT[region] if region is not None else None,
        region,
        airport,
        _code(get("location_type"), _LOCATION_TYPES),
        _code(people.get("sex"), _SEXES),
        _code(people.get("age_band"), _AGE_BANDS),
        _code(people.get("legal_status"), _LEGAL_STATUSES),
        taxonomy.group_size_band(size),
        taxonomy.persons_affected(size),
        taxonomy.duration_band(_number(get("duration_hours"))),
        _flag(people, "women_involved"),
        _flag(people, "children_involved"),
        _flag(coercion, "contract_offered"),
        _flag(coercion, "contract_signed"),
        _flag(coercion, "citizenship_promised"),
        payment is not None and payment > 0,
        outcome,
        reporter_role or UNKNOWN_ROLE,
        acts,
        _codes(get("perpetrators"), _PERPETRATORS),
        _codes(people.get("citizenship"), CITIZENSHIP_ORIGIN),
        _codes(get("forced_labour_indicators"), _INDICATORS),
        consented,
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
        {"record_id": record_id, "act_code": code, "act_group": ACT_GROUP[code]}
        for code in report.acts
    ]
    perpetrators = [{"record_id": record_id, "perpetrator": code} for code in report.perpetrators]
    citizenships = [
        {
            "record_id": record_id,
            "citizenship": code,
            "origin_region": CITIZENSHIP_ORIGIN[code],
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
