"""Aggregation of statistical records into count cubes, computed in the database.

The one entry point is `cube()`: counts of reports (or persons affected, or acts) for a list
of record months, broken down by any of the `Dimension`s, with every margin (subtotal) when
asked. It always reads the current records, so a withdrawal or a new batch is reflected in the
next call.

Releases count through it: `counts.count_records` takes a release's total, persons
figures, one-way counts, places and flag patterns from cubes of the release period (only the
multi-valued questions still use their own per-report query there), so the aggregation
benchmarked in `bench/pipeline.py` is the one production runs. It stores nothing: every cube is
computed from the current records when a release is made, so there is no aggregate table that
could go stale.

How a cube is computed, in one SQL statement:

1. The finest cells are counted once with a plain `GROUP BY` over the records (joined to the
   child tables only for the multi-valued dimensions asked for).
2. The margins over single-valued dimensions are summed from those finest cells (a materialised
   CTE, a few thousand rows at most), not recounted from the records.
3. Multi-valued dimensions (act, act group, perpetrator, citizenship, citizenship group,
   indicator) cannot be summed away: a report with two acts would be counted twice. So for each
   subset of the multi-valued dimensions there is its own finest-cell count, and margins over
   a multi-valued dimension come from the count that leaves it out. A margin over ACT_GROUP is
   therefore the number of reports, not the number of (report, act group) pairs.

Cell keys are tuples in the order of `dimensions`. A value is a code from the taxonomy, `None`
for "not given" (a report without a region; for multi-valued dimensions, a report with none of
them), "yes"/"no" for flags, or `ALL` where the cell is a margin over that dimension. Cells with
a count of zero are absent; `categories()` lists every code a dimension can take, for callers
that must show or treat zeros.

Months: a record's `month` is "YYYY-MM", or "YYYY" when the reporter knew only the year. A
cube counts the records whose `month` is one of the values it is given, so whether year-only
records count is the caller's choice: a release passes `ReleasePeriod.record_months`, which
lists the year-only value for a year release only. A year-only record's QUARTER is `None`.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from incident_service import taxonomy
from incident_service.models import (
    StatisticalAct,
    StatisticalCitizenship,
    StatisticalIndicator,
    StatisticalPerpetrator,
    StatisticalRecord,
    db,
)

ALL: Final = "*"  # the key value of a dimension a margin cell is summed over
YES: Final = "yes"
NO: Final = "no"
UNKNOWN_ROLE: Final = "UNK"
# 2**8 grouping sets is already far more than any published table needs.
MAX_DIMENSIONS_WITH_MARGINS = 8

CellKey = tuple[str | None, ...]


class Dimension(enum.StrEnum):
    """What a cube can be broken down by. Values are stable names (used in release parameters)."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    COUNTRY = "country"
    FEDERAL_DISTRICT = "federal_district"
    REGION = "region"
    AIRPORT = "airport"
    LOCATION_TYPE = "location_type"
    SEX = "sex"
    AGE_BAND = "age_band"
    LEGAL_STATUS = "legal_status"
    GROUP_SIZE_BAND = "group_size_band"
    DURATION_BAND = "duration_band"
    WOMEN_INVOLVED = "women_involved"
    CHILDREN_INVOLVED = "children_involved"
    CONTRACT_OFFERED = "contract_offered"
    CONTRACT_SIGNED = "contract_signed"
    CITIZENSHIP_PROMISED = "citizenship_promised"
    PAYMENT_OFFERED = "payment_offered"
    OUTCOME = "outcome"
    REPORTER_ROLE = "reporter_role"
    ACT_GROUP = "act_group"
    ACT = "act"
    PERPETRATOR = "perpetrator"
    CITIZENSHIP = "citizenship"
    CITIZENSHIP_GROUP = "citizenship_group"
    INDICATOR = "indicator"

    @property
    def multi_valued(self) -> bool:
        """True where one report can fall in several categories at once."""
        return self in _MULTI

    @property
    def vocabulary(self) -> taxonomy.Vocabulary | None:
        """The taxonomy vocabulary whose labels name this dimension's codes, if any."""
        return _VOCABULARIES.get(self)


class Measure(enum.StrEnum):
    """What a cell counts (design §4 counting units)."""

    REPORTS = "reports"  # statistical records: one per consenting, counted report
    PERSONS = "persons"  # persons affected (group size, top-coded at 50)
    ACTS = "acts"  # acts: a report with three acts counts three


_FLAGS = {
    Dimension.WOMEN_INVOLVED: "women_involved",
    Dimension.CHILDREN_INVOLVED: "children_involved",
    Dimension.CONTRACT_OFFERED: "contract_offered",
    Dimension.CONTRACT_SIGNED: "contract_signed",
    Dimension.CITIZENSHIP_PROMISED: "citizenship_promised",
    Dimension.PAYMENT_OFFERED: "payment_offered",
}
_PLAIN = {
    Dimension.MONTH: "month",
    Dimension.COUNTRY: "country",
    Dimension.FEDERAL_DISTRICT: "federal_district",
    Dimension.REGION: "region",
    Dimension.AIRPORT: "airport",
    Dimension.LOCATION_TYPE: "location_type",
    Dimension.SEX: "sex",
    Dimension.AGE_BAND: "age_band",
    Dimension.LEGAL_STATUS: "legal_status",
    Dimension.GROUP_SIZE_BAND: "group_size_band",
    Dimension.DURATION_BAND: "duration_band",
    Dimension.OUTCOME: "outcome",
    Dimension.REPORTER_ROLE: "reporter_role",
}
_ACTS_TABLE = StatisticalAct.__table__
_PERPETRATORS_TABLE = StatisticalPerpetrator.__table__
_CITIZENSHIPS_TABLE = StatisticalCitizenship.__table__
_INDICATORS_TABLE = StatisticalIndicator.__table__
# Multi-valued dimension → (child table, column, whether a report can repeat the value).
_MULTI: dict[Dimension, tuple[sa.Table, str, bool]] = {
    Dimension.ACT: (_ACTS_TABLE, "act_code", False),
    Dimension.ACT_GROUP: (_ACTS_TABLE, "act_group", True),
    Dimension.PERPETRATOR: (_PERPETRATORS_TABLE, "perpetrator", False),
    Dimension.CITIZENSHIP: (_CITIZENSHIPS_TABLE, "citizenship", False),
    Dimension.CITIZENSHIP_GROUP: (_CITIZENSHIPS_TABLE, "origin_region", True),
    Dimension.INDICATOR: (_INDICATORS_TABLE, "indicator", False),
}
_VOCABULARIES: dict[Dimension, taxonomy.Vocabulary] = {
    Dimension.COUNTRY: taxonomy.COUNTRIES,
    Dimension.FEDERAL_DISTRICT: taxonomy.FEDERAL_DISTRICTS,
    Dimension.REGION: taxonomy.REGIONS,
    Dimension.AIRPORT: taxonomy.AIRPORTS,
    Dimension.LOCATION_TYPE: taxonomy.LOCATION_TYPES,
    Dimension.SEX: taxonomy.SEXES,
    Dimension.AGE_BAND: taxonomy.AGE_BANDS,
    Dimension.LEGAL_STATUS: taxonomy.LEGAL_STATUSES,
    Dimension.GROUP_SIZE_BAND: taxonomy.GROUP_SIZE_BANDS,
    Dimension.DURATION_BAND: taxonomy.DURATION_BANDS,
    Dimension.OUTCOME: taxonomy.OUTCOMES,
    Dimension.REPORTER_ROLE: taxonomy.REPORTER_ROLES,
    Dimension.ACT_GROUP: taxonomy.ACT_GROUPS,
    Dimension.ACT: taxonomy.ACTS,
    Dimension.PERPETRATOR: taxonomy.PERPETRATORS,
    Dimension.CITIZENSHIP: taxonomy.CITIZENSHIPS,
    Dimension.CITIZENSHIP_GROUP: taxonomy.ORIGIN_REGIONS,
    Dimension.INDICATOR: taxonomy.FORCED_LABOUR_INDICATORS,
}


# A value of a record's `month`: "YYYY-MM", or "YYYY" for a record that gives only its year.
_RECORD_MONTH = re.compile(r"\d{4}(-(0[1-9]|1[0-2]))?")


@dataclass(frozen=True)
class Cube:
    """Counts by `dimensions` of the records of `months`. See the module docstring for key
    conventions."""

    months: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    measure: Measure
    cells: Mapping[CellKey, int]
    with_margins: bool

    def key(self, **coordinates: str | None) -> CellKey:
        """The cell key for named coordinates; unnamed dimensions are `ALL`."""
        unknown = set(coordinates) - {dimension.value for dimension in self.dimensions}
        if unknown:
            raise KeyError(f"not a dimension of this cube: {', '.join(sorted(unknown))}")
        return tuple(coordinates.get(dimension.value, ALL) for dimension in self.dimensions)

    def count(self, **coordinates: str | None) -> int:
        """`cube.count(month="2024-05", region="RU-SPE")`; 0 where no record falls."""
        return self.cells.get(self.key(**coordinates), 0)

    @property
    def total(self) -> int:
        """The grand total (needs margins, or a cube without dimensions)."""
        if not self.with_margins and self.dimensions:
            raise ValueError("this cube was computed without margins")
        return self.cells.get(tuple(ALL for _ in self.dimensions), 0)

    def finest(self) -> dict[CellKey, int]:
        """The cells broken down by every dimension (no margins)."""
        return {key: n for key, n in self.cells.items() if ALL not in key}

    def margin(self, *keep: Dimension) -> dict[CellKey, int]:
        """Cells broken down by `keep` only, keyed by tuples in the order of `keep`."""
        positions = [self.dimensions.index(dimension) for dimension in keep]
        result: dict[CellKey, int] = {}
        for key, n in self.cells.items():
            if all((key[i] != ALL) == (i in positions) for i in range(len(key))):
                result[tuple(key[i] for i in positions)] = n
        return result


# --------------------------------------------------------------------------------------------
# SQL building


def _record_expression(dimension: Dimension, record: Any) -> ColumnElement[Any]:
    if dimension in _PLAIN:
        column: ColumnElement[Any] = record.c[_PLAIN[dimension]]
        return column
    if dimension in _FLAGS:
        return sa.case((record.c[_FLAGS[dimension]].is_(True), YES), else_=NO)
    month = record.c.month
    year = sa.type_coerce(sa.func.substr(month, 1, 4), sa.String)
    if dimension is Dimension.YEAR:
        return year
    if dimension is Dimension.QUARTER:
        number = (sa.cast(sa.func.substr(month, 6, 2), sa.Integer) + 2) // 3
        return sa.case(
            (sa.func.length(month) == 7, year + "-Q" + sa.cast(number, sa.String)),
            else_=sa.null(),
        )
    raise ValueError(f"{dimension} is not a column of statistical records")


def _record_months(months: Sequence[str]) -> tuple[str, ...]:
    """The distinct values of `months`, in order, each checked to be a record's month."""
    values = tuple(dict.fromkeys(months))
    for value in values:
        if not _RECORD_MONTH.fullmatch(value):
            raise ValueError(f"not a record month (YYYY-MM or YYYY): {value!r}")
    return values


def _values_between(lower: str, upper: str) -> list[str]:
    """Every value a record's `month` can take from `lower` to `upper`, both included."""
    values: list[str] = []
    for year in range(int(lower[:4]), int(upper[:4]) + 1):
        for value in (f"{year:04d}", *(f"{year:04d}-{month:02d}" for month in range(1, 13))):
            if lower <= value <= upper:
                values.append(value)
    return values


def _months_condition(months: tuple[str, ...], record: Any) -> ColumnElement[bool]:
    """`month IN (months)`, written as one range on `month` minus the values inside it that
    are not asked for.

    A year "2024" sorts just before "2024-01", so the record months of a release period (a
    year's twelve months with its year-only value, say) are one unbroken range with nothing to
    leave out. A plain range lets the planner estimate the rows; an OR of functions made
    PostgreSQL expect a few thousand rows out of a million and sort them on disk.
    """
    if not months:
        return sa.false()
    month = record.c.month
    lower, upper = min(months), max(months)
    wanted = set(months)
    gaps = [value for value in _values_between(lower, upper) if value not in wanted]
    condition = sa.and_(month >= lower, month <= upper)
    if gaps:
        condition = sa.and_(condition, month.not_in(gaps))
    return condition


def _multi_filter(
    dimension: Dimension, values: Collection[str | None], record: Any
) -> ColumnElement[bool]:
    table, column, _ = _MULTI[dimension]
    codes = [value for value in values if value is not None]
    conditions: list[ColumnElement[bool]] = []
    if codes:
        conditions.append(
            sa.exists().where(table.c.record_id == record.c.id, table.c[column].in_(codes))
        )
    if None in values:
        conditions.append(~sa.exists().where(table.c.record_id == record.c.id))
    return sa.or_(*conditions) if conditions else sa.false()


def _single_filter(
    expression: ColumnElement[Any], values: Collection[str | None]
) -> ColumnElement[bool]:
    codes = [value for value in values if value is not None]
    conditions: list[ColumnElement[bool]] = []
    if codes:
        conditions.append(expression.in_(codes))
    if None in values:
        conditions.append(expression.is_(None))
    return sa.or_(*conditions) if conditions else sa.false()


@dataclass(frozen=True)
class _Plan:
    dimensions: tuple[Dimension, ...]
    measure: Measure
    row_level: frozenset[Dimension]  # columns of the counted row itself
    multi: tuple[Dimension, ...]  # joined per report; margins need separate counts


def _plan(dimensions: tuple[Dimension, ...], measure: Measure) -> _Plan:
    row_level: set[Dimension] = set()
    multi: list[Dimension] = []
    for dimension in dimensions:
        if not dimension.multi_valued:
            row_level.add(dimension)
        elif measure is Measure.ACTS and dimension in (Dimension.ACT, Dimension.ACT_GROUP):
            row_level.add(dimension)  # counting acts: each act row is its own unit
        else:
            multi.append(dimension)
    return _Plan(dimensions, measure, frozenset(row_level), tuple(multi))


def _finest_select(
    plan: _Plan,
    included_multi: frozenset[Dimension],
    months: tuple[str, ...],
    filters: Mapping[Dimension, Collection[str | None]],
) -> sa.Select[Any]:
    """Counts grouped by the row-level dimensions and `included_multi`, as d0..dn and n."""
    record = StatisticalRecord.__table__.alias("r")
    source: Any = record
    acts_row = None
    if plan.measure is Measure.ACTS:
        acts_row = _ACTS_TABLE.alias("act_row")
        source = acts_row.join(record, acts_row.c.record_id == record.c.id)

    # One join per child table; distinct rows when a report can repeat the value (two acts of
    # one group), so that COUNT(*) counts each report once per category.
    joined: dict[str, Any] = {}
    by_table: dict[str, list[Dimension]] = {}
    for dimension in plan.multi:
        if dimension in included_multi:
            by_table.setdefault(_MULTI[dimension][0].name, []).append(dimension)
    for table_name, members in by_table.items():
        table = _MULTI[members[0]][0]
        child_columns = [table.c[_MULTI[member][1]] for member in members]
        repeats = all(_MULTI[member][2] for member in members)
        child: Any
        if repeats:
            child = (
                sa.select(table.c.record_id, *child_columns).distinct().subquery(f"{table_name}_d")
            )
        else:
            child = table.alias(f"{table_name}_j")
        source = source.outerjoin(child, child.c.record_id == record.c.id)
        joined[table_name] = child

    columns: list[ColumnElement[Any]] = []
    for index, dimension in enumerate(plan.dimensions):
        expression: ColumnElement[Any] | None = None
        if dimension in plan.row_level:
            if acts_row is not None and dimension is Dimension.ACT:
                expression = acts_row.c.act_code
            elif acts_row is not None and dimension is Dimension.ACT_GROUP:
                expression = acts_row.c.act_group
            else:
                expression = _record_expression(dimension, record)
        elif dimension in included_multi:
            table, column, _ = _MULTI[dimension]
            expression = joined[table.name].c[column]
        if expression is not None:
            columns.append(expression.label(f"d{index}"))

    if plan.measure is Measure.PERSONS:
        measure: ColumnElement[Any] = sa.func.sum(record.c.persons_affected)
    else:
        measure = sa.func.count()

    conditions = [_months_condition(months, record)]
    for dimension, values in filters.items():
        if acts_row is not None and dimension in (Dimension.ACT, Dimension.ACT_GROUP):
            column_name = "act_code" if dimension is Dimension.ACT else "act_group"
            conditions.append(_single_filter(acts_row.c[column_name], values))
        elif dimension.multi_valued:
            conditions.append(_multi_filter(dimension, values, record))
        else:
            conditions.append(_single_filter(_record_expression(dimension, record), values))

    statement = sa.select(*columns, measure.label("n")).select_from(source).where(*conditions)
    if columns:
        # By output name: PostgreSQL would not match repeated expressions with bind parameters.
        statement = statement.group_by(*[sa.literal_column(column.name) for column in columns])
    return statement


_ALL_LITERAL: ColumnElement[str] = sa.literal_column(f"'{ALL}'", sa.String)


def _total(cells: Any) -> ColumnElement[Any]:
    # A sum of counts is NUMERIC in PostgreSQL; the driver would hand back Decimals.
    return sa.cast(sa.func.sum(cells.c.n), sa.BigInteger).label("n")


def _rollup_selects(
    cells: Any, plan: _Plan, grouped_multi: frozenset[Dimension]
) -> list[sa.Select[Any]]:
    """Margins over the row-level dimensions, summed from one finest-cell CTE, as rows of
    (d0..dn, n) with `ALL` in the summed-over positions (any dialect)."""
    row_positions = [i for i, d in enumerate(plan.dimensions) if d in plan.row_level]
    multi_positions = [i for i, d in enumerate(plan.dimensions) if d in grouped_multi]
    selects: list[sa.Select[Any]] = []
    for size in range(len(row_positions), -1, -1):
        for kept in itertools.combinations(row_positions, size):
            grouped = sorted([*kept, *multi_positions])
            outputs: list[ColumnElement[Any]] = [
                cells.c[f"d{index}"] if index in grouped else _ALL_LITERAL.label(f"d{index}")
                for index in range(len(plan.dimensions))
            ]
            statement = sa.select(*outputs, _total(cells))
            if grouped:
                statement = statement.group_by(*[cells.c[f"d{index}"] for index in grouped])
            selects.append(statement)
    return selects


def _cube_select(cells: Any, plan: _Plan, grouped_multi: frozenset[Dimension]) -> sa.Select[Any]:
    """PostgreSQL: the same rows as `_rollup_selects`, in one `GROUP BY ..., CUBE(...)` over
    the finest cells."""
    row_positions = [i for i, d in enumerate(plan.dimensions) if d in plan.row_level]
    multi_positions = [i for i, d in enumerate(plan.dimensions) if d in grouped_multi]
    outputs: list[ColumnElement[Any]] = []
    for index in range(len(plan.dimensions)):
        column = cells.c[f"d{index}"] if index in row_positions + multi_positions else None
        if column is None:
            outputs.append(_ALL_LITERAL.label(f"d{index}"))
        elif index in row_positions:
            # GROUPING() is 1 where the row is a margin over that column.
            outputs.append(
                sa.case((sa.func.grouping(column) == 1, _ALL_LITERAL), else_=column).label(
                    f"d{index}"
                )
            )
        else:
            outputs.append(column)
    statement = sa.select(*outputs, _total(cells))
    keys: list[Any] = [cells.c[f"d{index}"] for index in multi_positions]
    if row_positions:
        keys.append(sa.func.cube(*[cells.c[f"d{index}"] for index in row_positions]))
    if keys:
        statement = statement.group_by(*keys)
    return statement


def cube(
    *,
    months: Sequence[str],
    dimensions: Sequence[Dimension],
    measure: Measure = Measure.REPORTS,
    margins: bool = True,
    filters: Mapping[Dimension, Collection[str | None]] | None = None,
    connection: sa.Connection | Any | None = None,
) -> Cube:
    """Count the statistical records of `months` by `dimensions`, in one SQL statement.

    - `months`: the values of a record's `month` to count, "YYYY-MM" or "YYYY" for records
      that give only their year (a release passes its period's `record_months`).
    - `measure`: REPORTS (records), PERSONS (sum of persons affected) or ACTS (act rows).
    - `margins`: also return every subtotal (all 2**k combinations of kept and summed-over
      dimensions, at most `MAX_DIMENSIONS_WITH_MARGINS` dimensions); otherwise only the
      finest cells.
    - `filters`: restrict to records whose value for a dimension is among the given codes
      (`None` selects "not given"); for a multi-valued dimension, records having any of them.
      With `Measure.ACTS`, filters on ACT or ACT_GROUP select the acts counted.
    - `connection`: where to run the statement (a connection or session); by default the
      app's session. `counts.count_records` passes connections that share its snapshot.

    Raises ValueError for repeated or too many dimensions, or a malformed month.
    """
    dims = tuple(Dimension(dimension) for dimension in dimensions)
    if len(set(dims)) != len(dims):
        raise ValueError("a dimension is repeated")
    if margins and len(dims) > MAX_DIMENSIONS_WITH_MARGINS:
        raise ValueError(f"at most {MAX_DIMENSIONS_WITH_MARGINS} dimensions with margins")
    plan = _plan(dims, Measure(measure))
    values = _record_months(months)
    active_filters = {Dimension(d): v for d, v in (filters or {}).items()}

    if not margins:
        statement: Any = _finest_select(plan, frozenset(plan.multi), values, active_filters)
    else:
        bind = connection if isinstance(connection, sa.Connection) else db.session.get_bind()
        grouping_sets = bind.dialect.name == "postgresql"
        selects: list[sa.Select[Any]] = []
        for size in range(len(plan.multi), -1, -1):
            for number, included in enumerate(itertools.combinations(plan.multi, size)):
                grouped_multi = frozenset(included)
                finest = _finest_select(plan, grouped_multi, values, active_filters)
                if grouping_sets:
                    cells = finest.subquery(f"cells_{size}_{number}")
                    selects.append(_cube_select(cells, plan, grouped_multi))
                else:
                    cte = finest.cte(f"cells_{size}_{number}").prefix_with("MATERIALIZED")
                    selects.extend(_rollup_selects(cte, plan, grouped_multi))
        statement = sa.union_all(*selects) if len(selects) > 1 else selects[0]
    # Rows are (d0..dn, n) with ALL already in place: the only Python work is the dict.
    width = len(dims)
    cells_by_key: dict[CellKey, int] = {
        row[:width]: int(row[width])
        for row in (db.session if connection is None else connection).execute(statement)
        if row[width]
    }
    return Cube(
        months=values,
        dimensions=dims,
        measure=plan.measure,
        cells=cells_by_key,
        with_margins=margins,
    )


def categories(dimension: Dimension, months: Sequence[str] | None = None) -> list[str]:
    """Every code `dimension` can take (the public key set for tables and noisy counts).

    "Not given" (`None`) is not listed. MONTH, QUARTER and YEAR need the record months counted
    (as `cube` takes them); MONTH lists the "YYYY-MM" months followed by the year-only values.
    """
    dimension = Dimension(dimension)
    if dimension in (Dimension.MONTH, Dimension.QUARTER, Dimension.YEAR):
        if months is None:
            raise ValueError(f"{dimension} categories depend on the months counted")
        values = _record_months(months)
        dated = sorted(value for value in values if len(value) == 7)
        if dimension is Dimension.MONTH:
            return dated + sorted(value for value in values if len(value) == 4)
        if dimension is Dimension.QUARTER:
            return list(dict.fromkeys(taxonomy.quarter_of(month) for month in dated))
        return list(dict.fromkeys(taxonomy.year_of(month) for month in dated))
    if dimension in _FLAGS:
        return [YES, NO]
    vocabulary = dimension.vocabulary
    assert vocabulary is not None
    codes = vocabulary.codes()
    if dimension is Dimension.REPORTER_ROLE:
        codes.append(UNKNOWN_ROLE)
    return codes
