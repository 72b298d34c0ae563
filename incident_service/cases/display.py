"""How a case's coded values read to staff: a date at the precision the reporter gave it, in the
staff language, on the case page, the queue and the export alike."""

from __future__ import annotations

import datetime as dt

from flask_babel import format_date


def incident_date(value: object, precision: object = "day") -> str:
    """The date as precisely as the reporter gave it: "2026" for a year-only date, "январь 2026"
    or "January 2026" for a month-only one, the day itself otherwise.

    Intake stores a year-only date as 1 January and a month-only one as its first day; showing
    that day (or calling it January) would invent a date the reporter never gave.
    """
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if precision == "year":
        return f"{day.year:04d}"
    if precision == "month":
        # "LLLL" is the stand-alone month name: "январь 2026", not the genitive "января 2026".
        return str(format_date(day, "LLLL y"))
    return day.isoformat()
