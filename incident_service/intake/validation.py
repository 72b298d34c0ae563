"""Validation of a report body: `parse_report` turns JSON-shaped answers into a ReportSubmission.

The web form, the JSON API and the seed loader all call it, so what one accepts the others
accept. Every problem is collected, one message per field path in the reporter's language, and
raised together as `InvalidReport`, so a reporter can fix every answer in one go.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from incident_service import taxonomy
from incident_service.i18n import LANGUAGES
from incident_service.intake.natural_numbers import Quantity, read_quantity
from incident_service.intake.submission import (
    MAX_CONTACT,
    MAX_NARRATIVE,
    MAX_PAYMENT_RUB,
    MAX_PLACE_TEXT,
    Coercion,
    Consent,
    Contact,
    InvalidReport,
    People,
    ReportSubmission,
)
from incident_service.models import today

FUTURE_GRACE = dt.timedelta(days=1)


class _Collector:
    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def add(self, path: str, message: Any) -> None:
        self.errors.setdefault(path, message)


def _text(value: Any, path: str, errors: _Collector, *, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(path, _l("This must be text."))
        return ""
    if len(value) > limit:
        # The count typed is said beside the limit: a browser no longer cuts the text silently
        # (no `maxlength`), so the reporter learns here by how much to shorten it.
        errors.add(
            path,
            _l(
                "This is %(count)s characters long; at most %(limit)s fit.",
                count=format_decimal(len(value)),
                limit=format_decimal(limit),
            ),
        )
        return ""
    if "\x00" in value or not _encodable(value):
        errors.add(path, _l("This contains characters that cannot be stored."))
        return ""
    return value


def _encodable(value: str) -> bool:
    """JSON can carry lone surrogates (``"\\ud800"``); UTF-8 cannot store them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _code(
    value: Any,
    path: str,
    vocabulary: taxonomy.Vocabulary,
    errors: _Collector,
    *,
    required: bool = False,
) -> str | None:
    if value is None or value == "":
        if required:
            errors.add(path, _l("Please choose an answer."))
        return None
    if not isinstance(value, str) or value not in vocabulary:
        errors.add(path, _l("This is not one of the choices offered."))
        return None
    return value


def _codes(
    value: Any,
    path: str,
    vocabulary: taxonomy.Vocabulary,
    errors: _Collector,
    *,
    required: bool = False,
) -> list[str]:
    if value is None:
        value = []
    if not isinstance(value, list | tuple):
        errors.add(path, _l("This must be a list of choices."))
        return []
    if len(value) > len(vocabulary):
        errors.add(path, _l("Too many choices."))
        return []
    result: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in vocabulary:
            errors.add(path, _l("This is not one of the choices offered."))
            return []
        if item not in result:
            result.append(item)
    if required and not result:
        errors.add(path, _l("Please choose at least one."))
    return result


def _bool(value: Any, path: str, errors: _Collector, *, required: bool = False) -> bool:
    if value is None:
        if required:
            errors.add(path, _l("Please answer yes or no."))
        return False
    if isinstance(value, bool):
        return value
    errors.add(path, _l("Please answer yes or no."))
    return False


def _number(
    value: Any,
    path: str,
    errors: _Collector,
    *,
    minimum: float,
    maximum: float,
    integer: bool,
    quantity: Quantity,
    as_typed: dict[str, str],
) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        # Typed by a person: "12", "1,5", "около 40", "2 млн". Words are kept, sealed with the
        # private section, beside the number they were read as.
        value = _typed_number(value, path, errors, quantity=quantity, as_typed=as_typed)
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(path, _l("This must be a number."))
        return None
    if isinstance(value, float) and not math.isfinite(value):
        errors.add(path, _l("This must be a number."))
        return None
    if integer and isinstance(value, float) and not value.is_integer():
        errors.add(path, _l("This must be a whole number."))
        return None
    if value < minimum or value > maximum:
        errors.add(
            path,
            _l("This must be between %(low)s and %(high)s.", low=int(minimum), high=int(maximum)),
        )
        return None
    return float(value)


_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,6})?")


def _typed_number(
    text: str, path: str, errors: _Collector, *, quantity: Quantity, as_typed: dict[str, str]
) -> float | None:
    plain = text.strip().replace(",", ".").replace(" ", "").replace("\u00a0", "")
    if _PLAIN_NUMBER.fullmatch(plain):  # ASCII digits only: see `incident_service.numbers`
        return float(plain) if "." in plain else int(plain)
    reading = read_quantity(text, quantity)
    if reading is None or not _encodable(text):
        errors.add(path, _l("This must be a number."))
        return None
    as_typed[path] = text.strip()
    return reading.value


def _mapping(value: Any, path: str, errors: _Collector) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.add(path, _l("This must be a group of answers."))
        return {}
    return value


def _incident_date(
    value: Any, precision: str | None, errors: _Collector, *, today_: dt.date
) -> dt.date | None:
    if value is None or value == "":
        errors.add("incident_date", _l("Please say roughly when it happened."))
        return None
    if not isinstance(value, str):
        errors.add("incident_date", _l("This is not a valid date."))
        return None
    try:
        if precision == "year":
            parsed = dt.date(int(value[:4]), 1, 1) if len(value) in (4, 7, 10) else None
        elif precision == "month":
            parsed = (
                dt.date(int(value[:4]), int(value[5:7]), 1)
                if len(value) in (7, 10) and value[4] == "-"
                else None
            )
        else:
            parsed = dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        parsed = None
    if parsed is None:
        errors.add("incident_date", _l("This is not a valid date."))
        return None
    if parsed.year < taxonomy.EARLIEST_INCIDENT_YEAR:
        errors.add(
            "incident_date",
            _l("Reports about events before %(year)s cannot be accepted.", year=2000),
        )
        return None
    # "Today" is judged in UTC, but a reporter in Vladivostok is up to 12 hours ahead of it:
    # a day of grace keeps a same-day report from being refused as "in the future".
    if parsed > today_ + FUTURE_GRACE:
        errors.add("incident_date", _l("This date is in the future."))
        return None
    return parsed


class _Place(NamedTuple):
    """Where it happened and for how long, as `parse_report` passes it on."""

    location_type: str | None
    country: str | None
    region: str | None
    airport: str | None
    place_text: str
    duration_hours: float | None


def parse_report(data: Any, *, today_: dt.date | None = None) -> ReportSubmission:
    """Validate a report body (API names) and return it typed, or raise `InvalidReport`."""
    errors = _Collector()
    if not isinstance(data, Mapping):
        raise InvalidReport({"": _l("The report must be a group of answers.")})
    now = today_ or today()

    # Read in the order of the questions: the first error recorded for a field wins, so this
    # order decides which message the reporter sees.
    as_typed: dict[str, str] = {}
    language = _language(data, errors)
    precision = _code(
        data.get("date_precision") or "day", "date_precision", taxonomy.DATE_PRECISIONS, errors
    )
    incident_date = _incident_date(data.get("incident_date"), precision, errors, today_=now)
    acts = _codes(data.get("acts"), "acts", taxonomy.ACTS, errors, required=True)
    perpetrators = _codes(data.get("perpetrators"), "perpetrators", taxonomy.PERPETRATORS, errors)
    place = _place(data, errors, as_typed)
    people = _people(data, errors, as_typed)
    indicators = _codes(
        data.get("forced_labour_indicators"),
        "forced_labour_indicators",
        taxonomy.FORCED_LABOUR_INDICATORS,
        errors,
    )
    coercion = _coercion(data, errors, as_typed)
    outcome = _code(data.get("outcome"), "outcome", taxonomy.OUTCOMES, errors) or "UNK"
    narrative = _text(data.get("narrative"), "narrative", errors, limit=MAX_NARRATIVE)
    reporter_role = _code(
        data.get("reporter_role"), "reporter_role", taxonomy.REPORTER_ROLES, errors
    )
    contact = _contact(data, errors)
    consent = _consent(data, errors)
    _refuse_unknown_fields(data, errors)

    if errors.errors:
        raise InvalidReport(errors.errors)
    assert incident_date is not None and precision is not None and place.country is not None
    return ReportSubmission(
        language=language,
        incident_date=incident_date,
        date_precision=precision,
        acts=acts,
        perpetrators=perpetrators,
        location_type=place.location_type,
        country=place.country,
        region=place.region,
        airport=place.airport,
        place_text=place.place_text,
        duration_hours=place.duration_hours,
        people=people,
        forced_labour_indicators=indicators,
        coercion=coercion,
        outcome=outcome,
        narrative=narrative,
        reporter_role=reporter_role,
        contact=contact,
        consent=consent,
        as_typed=as_typed,
    )


def _language(data: Mapping[str, Any], errors: _Collector) -> str:
    language = data.get("language") or "ru"
    if not isinstance(language, str) or language not in LANGUAGES:
        errors.add("language", _l("This is not one of the choices offered."))
        language = "ru"
    return language


def _place(data: Mapping[str, Any], errors: _Collector, as_typed: dict[str, str]) -> _Place:
    location_type = _code(
        data.get("location_type"), "location_type", taxonomy.LOCATION_TYPES, errors
    )
    country = _code(data.get("country"), "country", taxonomy.COUNTRIES, errors, required=True)
    region = _code(data.get("region"), "region", taxonomy.REGIONS, errors)
    airport = _code(data.get("airport"), "airport", taxonomy.AIRPORTS, errors)
    if region is not None and country not in (None, "RU"):
        errors.add("region", _l("Regions can only be chosen for Russia."))
    if airport is not None and country not in (None, "RU"):
        errors.add("airport", _l("Airports can only be chosen for Russia."))
    if airport is not None and region is None:
        region = taxonomy.airport_region(airport)
    place_text = _text(data.get("place_text"), "place_text", errors, limit=MAX_PLACE_TEXT)

    duration = _number(
        data.get("duration_hours"),
        "duration_hours",
        errors,
        minimum=0,
        maximum=taxonomy.MAX_DURATION_HOURS,
        integer=False,
        quantity=Quantity.HOURS,
        as_typed=as_typed,
    )
    return _Place(location_type, country, region, airport, place_text, duration)


def _people(data: Mapping[str, Any], errors: _Collector, as_typed: dict[str, str]) -> People:
    people_data = _mapping(data.get("people"), "people", errors)
    group_size = _number(
        people_data.get("group_size"),
        "people.group_size",
        errors,
        minimum=1,
        maximum=taxonomy.MAX_GROUP_SIZE,
        integer=True,
        quantity=Quantity.PEOPLE,
        as_typed=as_typed,
    )
    return People(
        citizenship=_codes(
            people_data.get("citizenship"), "people.citizenship", taxonomy.CITIZENSHIPS, errors
        ),
        sex=_code(people_data.get("sex"), "people.sex", taxonomy.SEXES, errors),
        age_band=_code(people_data.get("age_band"), "people.age_band", taxonomy.AGE_BANDS, errors),
        legal_status=_code(
            people_data.get("legal_status"),
            "people.legal_status",
            taxonomy.LEGAL_STATUSES,
            errors,
        ),
        group_size=int(group_size) if group_size is not None else 1,
        women_involved=_bool(people_data.get("women_involved"), "people.women_involved", errors),
        children_involved=_bool(
            people_data.get("children_involved"), "people.children_involved", errors
        ),
    )


def _coercion(data: Mapping[str, Any], errors: _Collector, as_typed: dict[str, str]) -> Coercion:
    coercion_data = _mapping(data.get("coercion"), "coercion", errors)
    payment = _number(
        coercion_data.get("payment_offered_rub"),
        "coercion.payment_offered_rub",
        errors,
        minimum=0,
        maximum=MAX_PAYMENT_RUB,
        integer=True,
        quantity=Quantity.ROUBLES,
        as_typed=as_typed,
    )
    return Coercion(
        contract_offered=_bool(
            coercion_data.get("contract_offered"), "coercion.contract_offered", errors
        ),
        contract_signed=_bool(
            coercion_data.get("contract_signed"), "coercion.contract_signed", errors
        ),
        citizenship_promised=_bool(
            coercion_data.get("citizenship_promised"), "coercion.citizenship_promised", errors
        ),
        payment_offered_rub=int(payment) if payment is not None else None,
    )


def _contact(data: Mapping[str, Any], errors: _Collector) -> Contact:
    contact_data = _mapping(data.get("contact"), "contact", errors)
    contact = Contact(
        channel=_code(
            contact_data.get("channel"), "contact.channel", taxonomy.CONTACT_CHANNELS, errors
        ),
        value=_text(contact_data.get("value"), "contact.value", errors, limit=MAX_CONTACT),
    )
    if contact.value.strip() and contact.channel is None:
        errors.add("contact.channel", _l("Please say how we can reach you."))
    return contact


def _consent(data: Mapping[str, Any], errors: _Collector) -> Consent:
    consent_data = _mapping(data.get("consent"), "consent", errors)
    return Consent(
        statistics=_bool(
            consent_data.get("statistics"), "consent.statistics", errors, required=True
        ),
        follow_up=_bool(consent_data.get("follow_up"), "consent.follow_up", errors),
        share_with_ombudsman=_bool(
            consent_data.get("share_with_ombudsman"), "consent.share_with_ombudsman", errors
        ),
    )


def _refuse_unknown_fields(data: Mapping[str, Any], errors: _Collector) -> None:
    unknown = set(data) - _TOP_LEVEL_FIELDS
    for name in sorted(unknown)[:10]:
        errors.add(str(name), _l("This field is not part of the report."))


_TOP_LEVEL_FIELDS = frozenset(
    {
        "language",
        "incident_date",
        "date_precision",
        "acts",
        "perpetrators",
        "location_type",
        "country",
        "region",
        "airport",
        "place_text",
        "duration_hours",
        "people",
        "forced_labour_indicators",
        "coercion",
        "outcome",
        "narrative",
        "reporter_role",
        "contact",
        "consent",
    }
)
