"""Saying back, in the reporter's language, how a number typed in words was understood.

"около 40" on the form comes back as "Understood as: about 40 people." on the next page — the
receipt, or the form again — so that a reporter can see that "2 суток" was counted as 48 hours.
What is carried between pages is the reading (codes and numbers), never the words typed; the
sentence is made when the page is shown, in the language chosen then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flask_babel import format_decimal, gettext, ngettext
from flask_babel import lazy_gettext as _l

from incident_service.intake.natural_numbers import (
    BASE_UNIT,
    Qualifier,
    Quantity,
    Reading,
    Unit,
    is_plain_number,
    read_quantity,
)

# The form's number fields, what each counts, and its question (for the receipt page).
NUMBER_FIELDS: dict[str, Quantity] = {
    "duration_hours": Quantity.HOURS,
    "group_size": Quantity.PEOPLE,
    "payment_offered_rub": Quantity.ROUBLES,
}
QUESTIONS: dict[str, Any] = {
    "duration_hours": _l("How many hours were people held?"),
    "group_size": _l("How many people were affected?"),
    "payment_offered_rub": _l("Money they promised, in roubles"),
}


def readings_of(answers: Mapping[str, str | None]) -> dict[str, Reading]:
    """The number fields answered in words (not as a plain number), as they were read."""
    found: dict[str, Reading] = {}
    for name, quantity in NUMBER_FIELDS.items():
        text = (answers.get(name) or "").strip()
        if not text or is_plain_number(text):
            continue
        reading = read_quantity(text, quantity)
        if reading is not None:
            found[name] = reading
    return found


def to_record(readings: Mapping[str, Reading]) -> list[list[object]]:
    """Readings as a handoff record holds them: codes and numbers only."""
    return [
        [name, r.qualifier.value, r.low, r.high, r.unit.value, r.value]
        for name, r in readings.items()
    ]


def from_record(record: object) -> dict[str, Reading]:
    """`to_record`'s output read back; anything malformed is left out."""
    readings: dict[str, Reading] = {}
    for item in record if isinstance(record, list) else []:
        if not isinstance(item, list) or len(item) != 6 or item[0] not in NUMBER_FIELDS:
            continue
        name, qualifier, low, high, unit, value = item
        numbers = (low, high, value)
        if not all(isinstance(n, int | float) and math.isfinite(n) for n in numbers):
            continue
        if qualifier not in Qualifier.__members__.values() or unit not in Unit.__members__.values():
            continue
        readings[name] = Reading(Qualifier(qualifier), float(low), float(high), Unit(unit), value)
    return readings


def sentence(name: str, reading: Reading) -> str:
    """ "Understood as: about 40 people." — and what is counted, when that is another number
    ("more than 20 people, counted as 21 people") or another unit ("2 days, counted as 48
    hours")."""
    answer = _answer(reading)
    base = BASE_UNIT[NUMBER_FIELDS[name]]
    if reading.unit is base and reading.qualifier in _COUNTED_AS_TYPED:
        return str(gettext("Understood as: %(answer)s.", answer=answer))
    counted = _amount(reading.value, base)
    return str(
        gettext("Understood as: %(answer)s, counted as %(value)s.", answer=answer, value=counted)
    )


_COUNTED_AS_TYPED = frozenset(
    {Qualifier.EXACT, Qualifier.ABOUT, Qualifier.AT_LEAST, Qualifier.AT_MOST}
)


def _answer(reading: Reading) -> str:
    qualifier = reading.qualifier
    if qualifier is Qualifier.SEVERAL:
        return str(gettext("several"))
    if qualifier is Qualifier.RANGE:
        return f"{_number(reading.low)}–{_amount(reading.high, reading.unit)}"
    amount = _amount(reading.low, reading.unit)
    if qualifier is Qualifier.ABOUT:
        return str(gettext("about %(quantity)s", quantity=amount))
    if qualifier is Qualifier.MORE:
        return str(gettext("more than %(quantity)s", quantity=amount))
    if qualifier is Qualifier.AT_LEAST:
        return str(gettext("at least %(quantity)s", quantity=amount))
    if qualifier is Qualifier.LESS:
        return str(gettext("less than %(quantity)s", quantity=amount))
    if qualifier is Qualifier.AT_MOST:
        return str(gettext("at most %(quantity)s", quantity=amount))
    return amount


def _number(value: float) -> str:
    return str(format_decimal(round(value, 2)))


def _amount(value: float, unit: Unit) -> str:
    """ "40 people", "2 days", "2 000 000 roubles", with the plural the number needs."""
    # Fractions take the form of 2 in Russian ("1,5 суток", "1,5 дня"); whole numbers their own.
    count = int(value) if float(value).is_integer() else 2
    num = _number(value)
    if unit is Unit.PERSON:
        return str(ngettext("%(number)s person", "%(number)s people", count, number=num))
    if unit is Unit.MINUTE:
        return str(ngettext("%(number)s minute", "%(number)s minutes", count, number=num))
    if unit is Unit.HOUR:
        return str(ngettext("%(number)s hour", "%(number)s hours", count, number=num))
    if unit is Unit.DAY:
        return str(ngettext("%(number)s day", "%(number)s days", count, number=num))
    if unit is Unit.WEEK:
        return str(ngettext("%(number)s week", "%(number)s weeks", count, number=num))
    if unit is Unit.MONTH:
        return str(ngettext("%(number)s month", "%(number)s months", count, number=num))
    return str(ngettext("%(number)s rouble", "%(number)s roubles", count, number=num))
