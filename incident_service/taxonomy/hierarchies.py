"""Generalisation hierarchies (design §5): from a code or a day to the coarser level above it.

An act to its group, a region to its federal district, an airport to its region, a citizenship
to its origin region, a day to its month, a month to its quarter and year.
"""

from __future__ import annotations

import datetime as dt

from incident_service.taxonomy.acts import ACTS
from incident_service.taxonomy.people import CITIZENSHIPS
from incident_service.taxonomy.places import AIRPORTS, REGIONS


def act_group(act_code: str) -> str:
    """DET.03 → DET."""
    parent = ACTS.parent(act_code)
    assert parent is not None
    return parent


def region_district(region_code: str) -> str:
    """RU-SPE → NWE."""
    parent = REGIONS.parent(region_code)
    assert parent is not None
    return parent


def airport_region(airport_code: str) -> str:
    """LED → RU-SPE."""
    parent = AIRPORTS.parent(airport_code)
    assert parent is not None
    return parent


def citizenship_origin(citizenship_code: str) -> str:
    """TJK → CAS."""
    parent = CITIZENSHIPS.parent(citizenship_code)
    assert parent is not None
    return parent


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def quarter_of(month: str) -> str:
    year, month_number = month.split("-")
    return f"{year}-Q{(int(month_number) - 1) // 3 + 1}"


def year_of(month: str) -> str:
    return month.split("-")[0]
