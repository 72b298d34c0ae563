"""Release counts through the aggregate cubes equal the plain GROUP BYs they replaced.

`count_records` now takes its one-way counts, persons figures, places and flag patterns from
`aggregate.cube()`. The plain-query implementation it replaced is kept here, unchanged, as the
oracle: for random synthetic records (including year-only months) and for every kind of month
list a release passes (a month, a quarter, a year with its year-only records) and a few that
no release passes, both must return the same `RecordCounts`, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_service import taxonomy
from incident_service.models import (
    StatisticalAct,
    StatisticalCitizenship,
    StatisticalIndicator,
    StatisticalPerpetrator,
    StatisticalRecord,
    db,
)
from incident_service.releases.counts import (
    FLAG_COLUMNS,
    PLACE_COLUMNS,
    SINGLE_COLUMNS,
    RecordCounts,
    _multi,
    _parent,
    add_counts,
    count_records,
    count_records_by_month,
)
from incident_service.releases.periods import PeriodKind, ReleasePeriod
from tests.statistics_factory import insert_made, random_record

# Record months: three years of months, year-only values, and neighbours outside any period.
RECORD_MONTHS = ["2023-12", "2024-01", "2024-02", "2024-03", "2024-05", "2024-10", "2024-12"]
RECORD_MONTHS += ["2025-01", "2024", "2023", "2025"]


def plain_count_records(months: Sequence[str]) -> RecordCounts:
    """The release counts as plain GROUP BYs: `count_records` before it counted via cubes."""
    counts = RecordCounts()
    in_period = StatisticalRecord.month.in_(list(months))
    row = db.session.execute(
        sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(StatisticalRecord.persons_affected), 0)
        ).where(in_period)
    ).one()
    counts.total, counts.persons_affected = int(row[0]), int(row[1])
    if counts.total == 0:
        return counts
    for name in SINGLE_COLUMNS:
        column = getattr(StatisticalRecord, name)
        counts.single[name] = {
            code: int(n)
            for code, n in db.session.execute(
                sa.select(column, sa.func.count()).where(in_period).group_by(column)
            )
        }
    band = StatisticalRecord.group_size_band
    counts.persons_by_band = {
        code: int(n)
        for code, n in db.session.execute(
            sa.select(band, sa.func.sum(StatisticalRecord.persons_affected))
            .where(in_period)
            .group_by(band)
        )
    }
    place_columns = [getattr(StatisticalRecord, name) for name in PLACE_COLUMNS]
    counts.places = {
        tuple(row[:-1]): int(row[-1])
        for row in db.session.execute(
            sa.select(*place_columns, sa.func.count()).where(in_period).group_by(*place_columns)
        )
    }
    flag_columns = [getattr(StatisticalRecord, name) for name in FLAG_COLUMNS]
    counts.flag_patterns = {
        tuple(bool(v) for v in row[:-1]): int(row[-1])
        for row in db.session.execute(
            sa.select(*flag_columns, sa.func.count()).where(in_period).group_by(*flag_columns)
        )
    }
    counts.acts = _multi(StatisticalAct.__table__, "act_code", _parent(taxonomy.ACTS), months)
    counts.perpetrators = _multi(StatisticalPerpetrator.__table__, "perpetrator", None, months)
    counts.citizenships = _multi(
        StatisticalCitizenship.__table__, "citizenship", _parent(taxonomy.CITIZENSHIPS), months
    )
    counts.indicators = _multi(StatisticalIndicator.__table__, "indicator", None, months)
    for multi in (counts.acts, counts.perpetrators, counts.citizenships, counts.indicators):
        multi.none = counts.total - multi.none
    return counts


def _release_months() -> list[list[str]]:
    periods = [
        ReleasePeriod(PeriodKind.MONTH, 2024, 1),
        ReleasePeriod(PeriodKind.MONTH, 2024, 4),  # no records at all
        ReleasePeriod(PeriodKind.QUARTER, 2024, 1),
        ReleasePeriod(PeriodKind.QUARTER, 2024, 4),
        ReleasePeriod(PeriodKind.YEAR, 2024, 1),
        ReleasePeriod(PeriodKind.YEAR, 2023, 1),
    ]
    return [period.record_months for period in periods]


# Lists no release passes: a year without its year-only value, a gap, a lone year-only value.
ODD_MONTHS = [
    [f"2024-{m:02d}" for m in range(1, 13)],
    ["2024-01", "2024-03", "2025-01"],
    ["2024"],
    ["2023-12", "2024-01", "2024-02"],
    [],
]


def _clear() -> None:
    for model in (
        StatisticalAct,
        StatisticalPerpetrator,
        StatisticalCitizenship,
        StatisticalIndicator,
        StatisticalRecord,
    ):
        db.session.execute(sa.delete(model))
    db.session.commit()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(0, 60),
    odd=st.sampled_from(ODD_MONTHS),
)
def test_do_the_cube_counts_equal_the_plain_group_bys(app_ctx, seed, size, odd):
    """For random records, does `count_records` return exactly what the plain queries return,
    for every kind of release period and for month lists no release passes?"""
    _clear()
    rng = random.Random(seed)
    made = [random_record(rng, rng.choice(RECORD_MONTHS)) for _ in range(size)]
    for item in made:
        if rng.random() < 0.2:  # bands with few reports, persons at the band's edge
            item["values"]["persons_affected"] = rng.choice([1, 2, 50])
    insert_made(made)
    for months in [*_release_months(), odd]:
        assert count_records(months) == plain_count_records(months), months


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(0, 60))
def test_do_months_counted_in_one_pass_equal_each_month_counted_alone(app_ctx, seed, size):
    """The joint audit counts every month of a year's releases in one pass grouped by month
    and sums months into periods: does each month equal `count_records` of it alone, and does
    the sum of a period's months equal `count_records` of the period (the figures a release
    publishes), for every kind of period, an empty month and year-only records?"""
    _clear()
    rng = random.Random(seed)
    made = [random_record(rng, rng.choice(RECORD_MONTHS)) for _ in range(size)]
    insert_made(made)
    year = ReleasePeriod(PeriodKind.YEAR, 2024, 1).record_months
    by_month = count_records_by_month([*year, "2023-12"])
    for month, counts in by_month.items():
        assert counts == count_records([month]), month
    for months in _release_months():
        if set(months) <= set(by_month):
            assert add_counts([by_month[m] for m in months]) == count_records(months), months
    assert add_counts([]) == count_records([])


def test_does_a_year_release_count_its_year_only_records_and_a_quarter_not(app_ctx):
    """Year-only records ("2024") are in the 2024 release and in no quarter or month of it."""
    _clear()
    rng = random.Random(5)
    insert_made([random_record(rng, "2024") for _ in range(4)])
    insert_made([random_record(rng, "2024-11") for _ in range(3)])
    year = ReleasePeriod(PeriodKind.YEAR, 2024, 1).record_months
    quarter = ReleasePeriod(PeriodKind.QUARTER, 2024, 4).record_months
    assert count_records(year).total == 7
    assert count_records(year).single["month"] == {"2024": 4, "2024-11": 3}
    assert count_records(quarter).total == 3
    assert count_records([f"2024-{m:02d}" for m in range(1, 13)]).total == 3
