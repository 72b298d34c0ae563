"""The counts a release is built from, for one period's statistical records.

Kept deliberately small and separate from the release logic: every function takes the months
of a period and returns plain dictionaries (code → count, `None` for "not stated"), so that
disclosure control never sees where a count came from.

`count_records` counts through `aggregate.cube()`, the aggregation the pipeline benchmark
measures, so the cube is the production source of the release figures: the total and persons
affected (the grand-total margins of the group-size-band cubes), the persons per band, the
one-way counts, the places cells (whose location-type margin is summed here rather than
recounted) and the flag patterns. Cube keys are turned back into the shapes `RecordCounts` has
always had ("yes"/"no" into booleans, margins dropped), and a test keeps the plain GROUP BYs it
replaced as an oracle that both agree on SQLite and PostgreSQL.

The multi-valued questions (acts, perpetrators, citizenships, indicators) still come from
`_multi`, one query per child table over each report's set of codes. A cube could give the
reports per code and with none, but its group dimensions (ACT_GROUP, CITIZENSHIP_GROUP) read
the group stored with each child row, whereas the release groups each code by the taxonomy's
current parent ("?" for a code it no longer has); the two agree only while stored records
match the taxonomy, so that swap is left for when it can be proved equal.

Case-handling figures come from the coarse, plaintext columns of the reports table (status
dates) and from interventions, counted for the reports the statistics count (consenting, not
spam or duplicates, no deletion requested) by the date they were received.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from incident_service import taxonomy
from incident_service.models import (
    Intervention,
    Report,
    StatisticalAct,
    StatisticalCitizenship,
    StatisticalIndicator,
    StatisticalPerpetrator,
    StatisticalRecord,
    db,
)
from incident_service.pipeline.pool import counted_condition
from incident_service.releases.aggregate import YES, Cube, Dimension, Measure, cube

Code = str | None

# Single-valued columns published as one-way tables (demographics only ever as margins).
SINGLE_COLUMNS = (
    "month",
    "location_type",
    "sex",
    "age_band",
    "legal_status",
    "group_size_band",
    "duration_band",
    "outcome",
    "reporter_role",
)
FLAG_COLUMNS = (
    "women_involved",
    "children_involved",
    "contract_offered",
    "contract_signed",
    "citizenship_promised",
    "payment_offered",
)
PLACE_COLUMNS = ("country", "federal_district", "region", "airport", "location_type")


@dataclass
class MultiCounts:
    """A question with several answers: reports per code, per group, and with none."""

    codes: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    none: int = 0


@dataclass
class RecordCounts:
    total: int = 0
    persons_affected: int = 0
    # group size band → persons affected in reports of that band (the persons figure is tied
    # to the group-size table: each band bounds the persons its reports can add)
    persons_by_band: dict[Code, int] = field(default_factory=dict)
    single: dict[str, dict[Code, int]] = field(default_factory=dict)
    # (country, federal_district, region, airport, location_type) → reports
    places: dict[tuple[Code, ...], int] = field(default_factory=dict)
    # a tuple of six booleans in FLAG_COLUMNS order → reports
    flag_patterns: dict[tuple[bool, ...], int] = field(default_factory=dict)
    acts: MultiCounts = field(default_factory=MultiCounts)
    perpetrators: MultiCounts = field(default_factory=MultiCounts)
    citizenships: MultiCounts = field(default_factory=MultiCounts)
    indicators: MultiCounts = field(default_factory=MultiCounts)

    def flag_count(self, name: str) -> int:
        position = FLAG_COLUMNS.index(name)
        return sum(n for pattern, n in self.flag_patterns.items() if pattern[position])


@dataclass
class CaseCounts:
    received: int = 0
    # (triaged, referred, closed) → reports
    status_patterns: dict[tuple[bool, bool, bool], int] = field(default_factory=dict)
    interventions: MultiCounts = field(default_factory=MultiCounts)
    days_to_triage: list[int] = field(default_factory=list)


def count_records(months: Sequence[str]) -> RecordCounts:
    """Every count a release needs from the statistical records of `months` (the values of a
    record's `month` to count, as `aggregate.cube()` takes them: a period's `record_months`).

    The one-way counts, the persons figures, the places and the flag patterns come from
    `aggregate.cube()`, the same aggregation the pipeline benchmark measures; the answers of
    multi-valued questions from `_multi` (see there why).
    """
    counts = RecordCounts()

    def counted(
        *dimensions: Dimension, measure: Measure = Measure.REPORTS, margins: bool = False
    ) -> Cube:
        return cube(months=months, dimensions=dimensions, measure=measure, margins=margins)

    # Reports and persons per group-size band, each with its grand total as the margin.
    bands = counted(Dimension.GROUP_SIZE_BAND, margins=True)
    counts.total = bands.total
    if counts.total == 0:
        return counts
    persons = counted(Dimension.GROUP_SIZE_BAND, measure=Measure.PERSONS, margins=True)
    counts.persons_affected = persons.total
    reports_by_band = {band: n for (band,), n in bands.margin(Dimension.GROUP_SIZE_BAND).items()}
    # A cube leaves out cells of zero; a band with reports but no persons still has its 0.
    counts.persons_by_band = {band: persons.count(group_size_band=band) for band in reports_by_band}

    # Places: the finest (country, district, region, airport, location type) cells.
    places = counted(*(Dimension(name) for name in PLACE_COLUMNS))
    counts.places = {tuple(key): n for key, n in places.cells.items()}
    by_location: dict[Code, int] = {}
    for key, n in counts.places.items():
        by_location[key[-1]] = by_location.get(key[-1], 0) + n

    for name in SINGLE_COLUMNS:
        if name == "group_size_band":
            counts.single[name] = reports_by_band
        elif name == "location_type":
            counts.single[name] = by_location  # summed from the places cells, not recounted
        else:
            one_way = counted(Dimension(name))
            counts.single[name] = {code: n for (code,), n in one_way.cells.items()}

    flags = counted(*(Dimension(name) for name in FLAG_COLUMNS))
    counts.flag_patterns = {
        tuple(value == YES for value in key): n for key, n in flags.cells.items()
    }

    counts.acts = _multi(StatisticalAct.__table__, "act_code", _parent(taxonomy.ACTS), months)
    counts.perpetrators = _multi(StatisticalPerpetrator.__table__, "perpetrator", None, months)
    counts.citizenships = _multi(
        StatisticalCitizenship.__table__, "citizenship", _parent(taxonomy.CITIZENSHIPS), months
    )
    counts.indicators = _multi(StatisticalIndicator.__table__, "indicator", None, months)
    for multi in (counts.acts, counts.perpetrators, counts.citizenships, counts.indicators):
        multi.none = counts.total - multi.none  # `_multi` returned reports with any answer
    return counts


def _parent(vocabulary: taxonomy.Vocabulary) -> Callable[[str], str]:
    """The group of a code (its parent in the taxonomy); "?" for a code the taxonomy lacks."""

    def parent(code: str) -> str:
        return (vocabulary.parent(code) if code in vocabulary else None) or "?"

    return parent


def _multi(
    table: sa.Table, code: str, group_of: Callable[[str], str] | None, months: Sequence[str]
) -> MultiCounts:
    """Reports per code, per group and with any code, from one child table.

    One query: each report's set of codes, then how many reports share each set. Everything
    else is summed from those sets, which costs one pass over the child table instead of a
    `count(DISTINCT ...)` per figure (three times faster on a million records).
    """
    records = StatisticalRecord.__table__
    record_id = table.c.record_id
    per_record = (
        sa.select(record_id, sa.func.aggregate_strings(table.c[code], ",").label("codes"))
        .select_from(table.join(records, records.c.id == record_id))
        .where(records.c.month.in_(list(months)))
        .group_by(record_id)
        .subquery()
    )
    patterns: dict[frozenset[str], int] = {}
    for codes, n in db.session.execute(
        sa.select(per_record.c.codes, sa.func.count()).group_by(per_record.c.codes)
    ):
        # The order inside each string is the database's; the set is what counts.
        key = frozenset(str(codes).split(","))
        patterns[key] = patterns.get(key, 0) + int(n)
    result = MultiCounts()
    for pattern, n in patterns.items():
        for item in pattern:
            result.codes[item] = result.codes.get(item, 0) + n
        if group_of is not None:
            for group in {group_of(item) for item in pattern}:
                result.groups[group] = result.groups.get(group, 0) + n
        result.none += n
    return result


def _counted_reports(start: dt.date, end: dt.date) -> sa.ColumnElement[bool]:
    """Reports received in the period that the statistics count: their authors agreed, they
    were not found to be spam or duplicates, and no deletion was asked for."""
    # The pipeline's own definition: a reporter who asked for deletion has withdrawn the
    # report from the statistics (its record is gone), so case handling drops it too.
    return sa.and_(Report.received_on >= start, Report.received_on <= end, counted_condition())


def count_cases(start: dt.date, end: dt.date) -> CaseCounts:
    """Case handling of the reports received between `start` and `end` (both included)."""
    counts = CaseCounts()
    counted = _counted_reports(start, end)
    triaged = Report.triaged_on.is_not(None)
    referred = Report.referred_on.is_not(None)
    closed = Report.closed_on.is_not(None)
    flags = (
        sa.select(
            sa.case((triaged, 1), else_=0).label("triaged"),
            sa.case((referred, 1), else_=0).label("referred"),
            sa.case((closed, 1), else_=0).label("closed"),
        )
        .where(counted)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(flags.c.triaged, flags.c.referred, flags.c.closed, sa.func.count()).group_by(
            flags.c.triaged, flags.c.referred, flags.c.closed
        )
    )
    counts.status_patterns = {(bool(t), bool(r), bool(c)): int(n) for t, r, c, n in rows}
    counts.received = sum(counts.status_patterns.values())
    if counts.received == 0:
        return counts
    kinds = db.session.execute(
        sa.select(Intervention.kind, sa.func.count(sa.distinct(Intervention.report_id)))
        .join(Report, Report.id == Intervention.report_id)
        .where(counted)
        .group_by(Intervention.kind)
    )
    counts.interventions.codes = {str(kind): int(n) for kind, n in kinds}
    with_any = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Intervention.report_id)))
        .join(Report, Report.id == Intervention.report_id)
        .where(counted)
    )
    counts.interventions.none = counts.received - int(with_any or 0)
    counts.days_to_triage = sorted(
        (triaged_on - received_on).days
        for received_on, triaged_on in db.session.execute(
            sa.select(Report.received_on, Report.triaged_on).where(counted, triaged)
        )
        if triaged_on is not None
    )
    return counts
