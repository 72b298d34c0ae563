"""Numbers: the limits input accepts, and the bands that generalise exact sizes and durations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from incident_service.taxonomy.terms import concept, vocabulary

GROUP_SIZE_BANDS = vocabulary(
    "group_size_bands",
    concept("1", _l("One person")),
    concept("2-5", _l("2 to 5 people")),
    concept("6-10", _l("6 to 10 people")),
    concept("11-30", _l("11 to 30 people")),
    concept("31+", _l("More than 30 people")),
)

DURATION_BANDS = vocabulary(
    "duration_bands",
    concept("<3h", _l("Less than 3 hours")),
    concept("3-12h", _l("3 to 12 hours")),
    concept("12-48h", _l("12 to 48 hours")),
    concept("2-7d", _l("2 to 7 days")),
    concept("7-30d", _l("1 to 4 weeks")),
    concept(">30d", _l("More than a month")),
    concept("UNK", _l("Not given")),
)

# Limits that input validation and generalisation share.
EARLIEST_INCIDENT_YEAR = 2000
MAX_GROUP_SIZE = 1000
MAX_DURATION_HOURS = 24 * 366  # a year in detention is possible; longer is a typo
PERSONS_AFFECTED_TOP_CODE = 50  # group sizes above this count as 50 in statistics


def group_size_band(size: int | None) -> str:
    if size is None or size <= 1:
        return "1"
    if size <= 5:
        return "2-5"
    if size <= 10:
        return "6-10"
    if size <= 30:
        return "11-30"
    return "31+"


def duration_band(hours: float | None) -> str:
    if hours is None:
        return "UNK"
    if hours < 3:
        return "<3h"
    if hours < 12:
        return "3-12h"
    if hours < 48:
        return "12-48h"
    if hours < 24 * 7:
        return "2-7d"
    if hours <= 24 * 30:
        return "7-30d"
    return ">30d"


def persons_affected(size: int | None) -> int:
    """Group size as counted in statistics: at least one, top-coded."""
    if size is None or size < 1:
        return 1
    return min(size, PERSONS_AFFECTED_TOP_CODE)
