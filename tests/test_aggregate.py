"""Aggregate cubes: every cell and margin equals a brute-force recount, on both databases."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest
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
    random_id,
)
from incident_service.releases.aggregate import (
    ALL,
    Dimension,
    Measure,
    categories,
    cube,
)
from incident_service.releases.periods import ReleasePeriod
from tests.factories import submit

MONTHS = ["2024-01", "2024-02", "2024-05", "2024-12", "2025-03", "2024", "2023"]
REGIONS = ["RU-MOW", "RU-SPE", "RU-TA", None]


def _run(first: str, last: str) -> list[str]:
    """The "YYYY-MM" months from `first` to `last`, both included."""
    year, month = int(first[:4]), int(first[5:])
    months = [first]
    while months[-1] != last:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        months.append(f"{year:04d}-{month:02d}")
    return months


def _record_months(label: str) -> list[str]:
    return ReleasePeriod.from_label(label).record_months


# The record months a cube is asked for: release periods, runs of months that take the
# year-only values of the years they cover whole, and lists with gaps.
PERIODS = [
    _record_months("2024"),
    _record_months("2024-Q1"),
    [*_run("2024-01", "2025-12"), "2024", "2025"],
    _record_months("2024-05"),
    [*_run("2023-06", "2024-12"), "2024"],
    ["2024-01", "2024-05", "2025-03", "2023"],
    ["2024-02", "2024"],
]
FLAG_COLUMNS = {
    Dimension.WOMEN_INVOLVED: "women_involved",
    Dimension.CHILDREN_INVOLVED: "children_involved",
    Dimension.CONTRACT_OFFERED: "contract_offered",
    Dimension.CONTRACT_SIGNED: "contract_signed",
    Dimension.CITIZENSHIP_PROMISED: "citizenship_promised",
    Dimension.PAYMENT_OFFERED: "payment_offered",
}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    region = draw(st.sampled_from(REGIONS))
    return {
        "month": draw(st.sampled_from(MONTHS)),
        "country": "RU" if region else draw(st.sampled_from(["RU", "KZ"])),
        "federal_district": taxonomy.region_district(region) if region else None,
        "region": region,
        "airport": "LED" if region == "RU-SPE" and draw(st.booleans()) else None,
        "location_type": draw(st.sampled_from(["AIR", "WRK", None])),
        "sex": draw(st.sampled_from(["F", "M", None])),
        "age_band": draw(st.sampled_from(["18-24", "25-34", None])),
        "legal_status": draw(st.sampled_from(["PAT", "IRR", None])),
        "group_size_band": draw(st.sampled_from(["1", "2-5", "31+"])),
        "persons_affected": draw(st.integers(1, 50)),
        "duration_band": draw(st.sampled_from(["<3h", "UNK"])),
        "women_involved": draw(st.booleans()),
        "children_involved": draw(st.booleans()),
        "contract_offered": draw(st.booleans()),
        "contract_signed": False,
        "citizenship_promised": draw(st.booleans()),
        "payment_offered": draw(st.booleans()),
        "outcome": draw(st.sampled_from(["REL", "DEP"])),
        "reporter_role": draw(st.sampled_from(["SELF", "UNK"])),
        "acts": draw(
            st.lists(
                st.sampled_from(["DET.01", "DET.03", "BRD.02", "MIL.01"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        ),
        "perpetrators": draw(
            st.lists(st.sampled_from(["POL", "BRD", "VIG"]), max_size=2, unique=True)
        ),
        "citizenships": draw(
            st.lists(st.sampled_from(["TJK", "UZB", "RUS"]), max_size=2, unique=True)
        ),
        "indicators": draw(st.lists(st.sampled_from(["FL01", "FL06"]), max_size=2, unique=True)),
    }


def _store(rows: list[dict[str, Any]]) -> None:
    for model in (
        StatisticalAct,
        StatisticalPerpetrator,
        StatisticalCitizenship,
        StatisticalIndicator,
        StatisticalRecord,
    ):
        db.session.execute(sa.delete(model))
    for row in rows:
        record_id = random_id()
        values = {
            k: v
            for k, v in row.items()
            if k not in ("acts", "perpetrators", "citizenships", "indicators")
        }
        db.session.execute(
            sa.insert(StatisticalRecord.__table__),
            [{"id": record_id, "withdrawal_tag": random_id().encode()[:32], **values}],
        )
        for code in row["acts"]:
            db.session.add(StatisticalAct(record_id=record_id, act_code=code, act_group=code[:3]))
        for code in row["perpetrators"]:
            db.session.add(StatisticalPerpetrator(record_id=record_id, perpetrator=code))
        for code in row["citizenships"]:
            db.session.add(
                StatisticalCitizenship(
                    record_id=record_id,
                    citizenship=code,
                    origin_region=taxonomy.citizenship_origin(code),
                )
            )
        for code in row["indicators"]:
            db.session.add(StatisticalIndicator(record_id=record_id, indicator=code))
    db.session.commit()


def _single_value(row: dict[str, Any], dimension: Dimension) -> str | None:
    month = row["month"]
    if dimension is Dimension.MONTH:
        return month
    if dimension is Dimension.YEAR:
        return month[:4]
    if dimension is Dimension.QUARTER:
        return f"{month[:4]}-Q{(int(month[5:]) + 2) // 3}" if len(month) == 7 else None
    if dimension in FLAG_COLUMNS:
        return "yes" if row[FLAG_COLUMNS[dimension]] else "no"
    return row[dimension.value]


# Dimensions read from the same child row vary together: a report of a Tajik and a Russian
# citizen is in (TJK, Central Asia) and (RUS, Russia), never in (RUS, Central Asia).
CHILD_ROWS = {
    "acts": ({Dimension.ACT: 0, Dimension.ACT_GROUP: 1}, lambda r: [(a, a[:3]) for a in r["acts"]]),
    "perpetrators": ({Dimension.PERPETRATOR: 0}, lambda r: [(p,) for p in r["perpetrators"]]),
    "citizenships": (
        {Dimension.CITIZENSHIP: 0, Dimension.CITIZENSHIP_GROUP: 1},
        lambda r: [(c, taxonomy.citizenship_origin(c)) for c in r["citizenships"]],
    ),
    "indicators": ({Dimension.INDICATOR: 0}, lambda r: [(i,) for i in r["indicators"]]),
}


def _factors(
    row: dict[str, Any], dims: list[Dimension], act: str | None
) -> list[tuple[list[int], list[tuple]]]:
    """(positions, possible value tuples) per independent source of one counted unit."""
    factors: list[tuple[list[int], list[tuple]]] = []
    for index, dimension in enumerate(dims):
        if not dimension.multi_valued:
            factors.append(([index], [(_single_value(row, dimension),)]))
    for table, (members, read) in CHILD_ROWS.items():
        positions = [i for i, d in enumerate(dims) if d in members]
        if not positions:
            continue
        children = read(row)
        if table == "acts" and act is not None:
            children = [(act, act[:3])]  # counting acts: the unit is this one act
        offsets = [members[dims[i]] for i in positions]
        values = [tuple(child[o] for o in offsets) for child in children]
        factors.append((positions, values or [tuple(None for _ in positions)]))
    return factors


def _recount(
    rows: list[dict[str, Any]], months: list[str], dims: list[Dimension], measure: Measure
) -> dict[tuple, int]:
    cells: Counter[tuple] = Counter()
    for row in rows:
        if row["month"] not in months:
            continue
        units = row["acts"] if measure is Measure.ACTS else [None]
        weight = row["persons_affected"] if measure is Measure.PERSONS else 1
        for act in units:
            factors = _factors(row, dims, act)
            for kept in itertools.product([True, False], repeat=len(dims)):
                # Each source's distinct projections onto the kept dimensions.
                choices = []
                for positions, values in factors:
                    keep = [k for k, p in enumerate(positions) if kept[p]]
                    choices.append(
                        [(positions, v) for v in {tuple(t[k] for k in keep) for t in values}]
                    )
                for combination in itertools.product(*choices):
                    key: list[Any] = [ALL] * len(dims)
                    for positions, projected in combination:
                        for position, value in zip(
                            [p for p in positions if kept[p]], projected, strict=True
                        ):
                            key[position] = value
                    cells[tuple(key)] += weight
    return dict(cells)


DIMENSIONS = list(Dimension)


@given(
    rows=st.lists(records(), max_size=25),
    dims=st.lists(st.sampled_from(DIMENSIONS), min_size=0, max_size=3, unique=True),
    measure=st.sampled_from(list(Measure)),
    months=st.sampled_from(PERIODS),
)
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_does_every_cell_and_margin_equal_a_brute_force_recount(app, rows, dims, measure, months):
    with app.app_context():
        _store(rows)
        result = cube(months=months, dimensions=dims, measure=measure)
        assert dict(result.cells) == _recount(rows, months, dims, measure)
        finest = cube(months=months, dimensions=dims, measure=measure, margins=False)
        assert dict(finest.cells) == result.finest()


def test_is_a_margin_over_act_groups_the_number_of_reports_not_of_pairs(app):
    """A report of a raid and a detention centre stay is one report in the DET row, and one
    in the total, whatever the number of its acts."""
    with app.app_context():
        submit(acts=["DET.01", "DET.03", "BRD.02"])
        submit(acts=["DET.01"])
        result = cube(months=_record_months("2024"), dimensions=[Dimension.ACT_GROUP])
        assert result.count(act_group="DET") == 2
        assert result.count(act_group="BRD") == 1
        assert result.total == 2
        acts = cube(
            months=_record_months("2024"), dimensions=[Dimension.ACT_GROUP], measure=Measure.ACTS
        )
        assert acts.count(act_group="DET") == 3 and acts.total == 4


def test_does_a_year_only_report_count_only_in_periods_covering_its_year(app):
    with app.app_context():
        submit(incident_date="2024", date_precision="year")
        submit(incident_date="2024-05-14")
        assert cube(months=_record_months("2024"), dimensions=[]).total == 2
        assert cube(months=_record_months("2024-05"), dimensions=[]).total == 1
        assert cube(months=_run("2024-01", "2024-11"), dimensions=[]).total == 1
        by_quarter = cube(months=_record_months("2024"), dimensions=[Dimension.QUARTER])
        assert by_quarter.margin(Dimension.QUARTER) == {("2024-Q2",): 1, (None,): 1}


def test_do_filters_select_the_records_a_table_is_about(app):
    with app.app_context():
        submit(acts=["DET.01"], region="RU-MOW", airport=None, location_type="WRK")
        submit(acts=["BRD.06"], region="RU-SPE", airport="LED")
        submit(acts=["BRD.02", "DET.02"], region=None, airport=None, perpetrators=[])
        months = _record_months("2024")
        detentions = cube(
            months=months,
            dimensions=[Dimension.REGION],
            filters={Dimension.ACT_GROUP: ["DET"]},
        )
        assert detentions.margin(Dimension.REGION) == {("RU-MOW",): 1, (None,): 1}
        no_perpetrator = cube(months=months, dimensions=[], filters={Dimension.PERPETRATOR: [None]})
        assert no_perpetrator.total == 1
        detention_acts = cube(
            months=months,
            dimensions=[Dimension.ACT],
            measure=Measure.ACTS,
            filters={Dimension.ACT_GROUP: ["DET"]},
        )
        assert detention_acts.finest() == {("DET.01",): 1, ("DET.02",): 1}


def test_does_a_withdrawn_record_leave_the_next_cube(app):
    """Cubes are computed from the current records: nothing stale survives a withdrawal."""
    from incident_service.models import Report
    from incident_service.pipeline.withdrawal import withdraw_statistics

    with app.app_context():
        report_id = submit().report_id
        submit()
        months = _record_months("2024")
        assert cube(months=months, dimensions=[Dimension.REGION]).count(region="RU-SPE") == 2
        db.session.get(Report, report_id).status = "spam"
        db.session.commit()
        withdraw_statistics(report_id)
        assert cube(months=months, dimensions=[Dimension.REGION]).count(region="RU-SPE") == 1


@pytest.mark.parametrize("month", ["2024-13", "2024-00", "24", "2024-Q1", "spring", "2024-5"])
def test_is_a_malformed_month_refused(app, month):
    with app.app_context(), pytest.raises(ValueError):
        cube(months=["2024-01", month], dimensions=[])


def test_do_categories_list_every_code_including_zero_rows():
    quarter = _record_months("2024-Q4")
    assert categories(Dimension.MONTH, quarter) == ["2024-10", "2024-11", "2024-12"]
    assert categories(Dimension.MONTH, _record_months("2024"))[-1] == "2024"
    assert categories(Dimension.QUARTER, quarter) == ["2024-Q4"]
    assert categories(Dimension.ACT_GROUP) == taxonomy.ACT_GROUPS.codes()
    assert categories(Dimension.WOMEN_INVOLVED) == ["yes", "no"]
    assert "UNK" in categories(Dimension.REPORTER_ROLE)


def test_is_a_repeated_dimension_refused(app):
    with app.app_context(), pytest.raises(ValueError):
        cube(months=_record_months("2024"), dimensions=[Dimension.REGION, Dimension.REGION])
