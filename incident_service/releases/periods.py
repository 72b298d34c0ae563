"""Release periods: a month ("2024-11"), a quarter ("2024-Q4") or a year ("2024"), finished.

A release always covers a whole, finished period so that two releases of the same period can
only differ by their method and parameters, never by where a running month happened to stop.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from incident_service import taxonomy


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class PeriodError(Exception):
    """A period a release cannot be made for; the message says why and what would work."""


class UnknownPeriod(PeriodError):
    def __init__(self, text: str) -> None:
        super().__init__(
            f"{text!r} is not a period; write a month (2024-11), a quarter (2024-Q4) or a year "
            f"(2024), from {taxonomy.EARLIEST_INCIDENT_YEAR} on"
        )
        self.text = text


class PeriodNotFinished(PeriodError):
    def __init__(self, label: str, end: dt.date) -> None:
        super().__init__(
            f"{label} ends on {end.isoformat()} and has not finished yet; releases cover "
            "finished periods only"
        )
        self.label = label
        self.end = end


_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_YEAR = re.compile(r"(\d{4})")


def _month_end(year: int, month: int) -> dt.date:
    if month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class ReleasePeriod:
    kind: PeriodKind
    year: int
    number: int  # month 1-12, quarter 1-4, or 1 for a year

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.year:04d}-{self.number:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year:04d}-Q{self.number}"
        return f"{self.year:04d}"

    @property
    def month_numbers(self) -> list[int]:
        if self.kind is PeriodKind.MONTH:
            return [self.number]
        if self.kind is PeriodKind.QUARTER:
            first = 3 * self.number - 2
            return [first, first + 1, first + 2]
        return list(range(1, 13))

    @property
    def months(self) -> list[str]:
        """The "YYYY-MM" labels a statistical record of this period can carry."""
        return [f"{self.year:04d}-{month:02d}" for month in self.month_numbers]

    @property
    def includes_year_only_records(self) -> bool:
        """Records whose reporter knew only the year ("YYYY") belong to year releases only:
        placing them in a month or quarter would invent a date."""
        return self.kind is PeriodKind.YEAR

    @property
    def record_months(self) -> list[str]:
        """Every value of `StatisticalRecord.month` that falls in this period."""
        extra = [f"{self.year:04d}"] if self.includes_year_only_records else []
        return self.months + extra

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.month_numbers[0], 1)

    @property
    def end(self) -> dt.date:
        return _month_end(self.year, self.month_numbers[-1])

    def previous(self) -> ReleasePeriod:
        """The period of the same kind just before this one (for change figures)."""
        if self.kind is PeriodKind.YEAR:
            return ReleasePeriod(self.kind, self.year - 1, 1)
        last = 12 if self.kind is PeriodKind.MONTH else 4
        if self.number == 1:
            return ReleasePeriod(self.kind, self.year - 1, last)
        return ReleasePeriod(self.kind, self.year, self.number - 1)

    def contains(self, other: ReleasePeriod) -> bool:
        return set(other.record_months) <= set(self.record_months)

    def overlaps(self, other: ReleasePeriod) -> bool:
        return bool(set(other.record_months) & set(self.record_months))

    def is_finished(self, today: dt.date) -> bool:
        return self.end < today

    @classmethod
    def from_label(cls, label: str) -> ReleasePeriod:
        """The period a stored label names ("2024-11", "2024-Q4", "2024"), as release content
        and comparisons keep it. Unlike `parse_period` it does not ask whether the period has
        finished or is recent enough: a label already stored was checked when it was made."""
        period = _read_label(label.strip())
        if period is None:
            raise UnknownPeriod(label)
        return period


def _read_label(text: str) -> ReleasePeriod | None:
    """The period `text` names, or None if it names none."""
    if match := _MONTH.fullmatch(text):
        month = int(match.group(2))
        if 1 <= month <= 12:
            return ReleasePeriod(PeriodKind.MONTH, int(match.group(1)), month)
        return None
    if match := _QUARTER.fullmatch(text):
        return ReleasePeriod(PeriodKind.QUARTER, int(match.group(1)), int(match.group(2)))
    if match := _YEAR.fullmatch(text):
        return ReleasePeriod(PeriodKind.YEAR, int(match.group(1)), 1)
    return None


def parse_period(text: str, *, today: dt.date | None = None) -> ReleasePeriod:
    """Parse "2024-11", "2024-Q4" or "2024"; refuse malformed, too early or unfinished periods."""
    cleaned = (text or "").strip()
    period = _read_label(cleaned)
    if period is None or period.year < taxonomy.EARLIEST_INCIDENT_YEAR:
        raise UnknownPeriod(cleaned)
    now = today or dt.datetime.now(dt.UTC).date()
    if not period.is_finished(now):
        raise PeriodNotFinished(period.label, period.end)
    return period


def last_finished_month(today: dt.date) -> ReleasePeriod:
    """The month before `today`'s: what the beat schedule drafts a release for."""
    first_of_month = today.replace(day=1)
    previous_day = first_of_month - dt.timedelta(days=1)
    return ReleasePeriod(PeriodKind.MONTH, previous_day.year, previous_day.month)
