"""The tables of a release, built from counts and protected by the threshold rule.

Each table is a list of rows; each row is one cell of a disclosure-control `Component`
(`services/disclosure.py`), keyed "<table>/<row key>". This module knows which tables a release
has, which rows they show, and which arithmetic ties them together (subtotals, several answers
per report, yes/no implications); it hands the arithmetic to `protect` and keeps only what may
be published. A suppressed cell is stored as `None`: its true value never leaves this module.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from incident_service import taxonomy
from incident_service.releases.counts import (
    FLAG_COLUMNS,
    CaseCounts,
    Code,
    MultiCounts,
    RecordCounts,
)
from incident_service.releases.differencing import PERSONS_KEY
from incident_service.releases.disclosure import (
    Component,
    ComponentProtection,
    DisclosureRules,
    add_flags,
    add_multi_response,
    add_partition,
    protect,
)
from incident_service.releases.periods import PeriodKind, ReleasePeriod

NOT_STATED = "-"
ANY = "*"

# One-way demographic and context tables: (table id, record column, vocabulary name).
SINGLE_TABLES = (
    ("by_sex", "sex", "sexes"),
    ("by_age_band", "age_band", "age_bands"),
    ("by_legal_status", "legal_status", "legal_statuses"),
    ("by_group_size", "group_size_band", "group_size_bands"),
    ("by_reporter_role", "reporter_role", "reporter_roles"),
    ("by_duration", "duration_band", "duration_bands"),
    ("by_outcome", "outcome", "outcomes"),
)
VULNERABLE_FLAGS = ("women_involved", "children_involved")
COERCION_FLAGS = ("contract_offered", "contract_signed", "citizenship_promised", "payment_offered")
CASE_FLAGS = ("triaged", "referred", "closed")


@dataclass(frozen=True)
class RowSpec:
    """A row of a table: its key, what names it, and its codes for the long CSV."""

    key: str
    vocabulary: str | None
    code: str | None
    level: int = 0
    dims: tuple[tuple[str, str | None], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "vocabulary": self.vocabulary,
            "code": self.code,
            "level": self.level,
            "dims": dict(self.dims),
        }


@dataclass
class TableSpec:
    id: str
    dimension: str  # what the rows are (month, act, region, ...): names the CSV column
    unit: str = "reports"
    multi: bool = False  # a report can be in several rows
    rows: list[RowSpec] = field(default_factory=list)
    total_key: str | None = None  # a row that is the table's own total, if any

    def cell(self, row: RowSpec) -> str:
        return f"{self.id}/{row.key}"


@dataclass
class BuiltComponent:
    component: Component
    tables: list[TableSpec]
    # Cells published outside any table (persons affected): key → published value or None.
    extra: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Row helpers


def _vocabulary_codes(name: str) -> list[str]:
    return taxonomy.VOCABULARIES[name].codes()


def _single_leaves(observed: Mapping[Code, int], vocabulary: str) -> dict[str, int]:
    """Every code of the vocabulary (zeros too: a reader knows the list) and "not stated",
    which also takes values outside the vocabulary (the anonymiser's "UNK" reporter role)."""
    codes = _vocabulary_codes(vocabulary)
    leaves = dict.fromkeys(codes, 0)
    leaves[NOT_STATED] = 0
    for code, count in observed.items():
        key = code if code in leaves and code != NOT_STATED else NOT_STATED
        leaves[key] += count
    return leaves


def _row_for(vocabulary: str, key: str, *, level: int = 0, dimension: str) -> RowSpec:
    known = key in taxonomy.VOCABULARIES[vocabulary]
    code = key if known else None
    return RowSpec(
        key=key,
        vocabulary=vocabulary if known else None,
        code=code,
        level=level,
        dims=((dimension, code),),
    )


# --------------------------------------------------------------------------------------------
# Components, one per group of arithmetically linked tables


def month_component(counts: RecordCounts, period: ReleasePeriod) -> BuiltComponent | None:
    if period.kind is PeriodKind.MONTH:
        return None  # one month: its only cell would be the total
    observed = counts.single.get("month", {})
    leaves = {month: int(observed.get(month, 0)) for month in period.record_months}
    table = TableSpec(id="by_month", dimension="month")
    for month in period.record_months:
        year_only = month == f"{period.year:04d}"
        table.rows.append(
            RowSpec(
                key=month,
                vocabulary=None,
                code=None if year_only else month,
                dims=(("month", None if year_only else month),),
            )
        )
    component = Component(name="by_month", total=counts.total)
    add_partition(component, leaves=leaves, cells={table.cell(r): [r.key] for r in table.rows})
    return BuiltComponent(component, [table])


def _multi_component(
    *,
    name: str,
    total: int,
    counts: MultiCounts,
    groups: Mapping[str, Sequence[str]],
    group_vocabulary: str | None,
    code_vocabulary: str,
    dimension: str,
    group_dimension: str | None,
    at_least_one: bool,
    none_row: bool,
    zero_sensitive: bool = False,
) -> BuiltComponent:
    """A several-answers question; rows are groups (if any) with their codes beneath.

    Only codes of the taxonomy can be counted: the anonymiser refuses any other. (If one ever
    got through, the counts would be inconsistent, no protection could be found, and the table
    would be withheld rather than published.)
    """
    table = TableSpec(id=name, dimension=dimension, multi=True)
    component = Component(name=name, total=total)
    publish_groups = group_vocabulary is not None
    for group, codes in groups.items():
        if publish_groups:
            table.rows.append(
                RowSpec(
                    key=f"group:{group}",
                    vocabulary=group_vocabulary,
                    code=group,
                    dims=(((group_dimension or "group"), group),),
                )
            )
        for code in codes:
            row = _row_for(
                code_vocabulary, code, level=1 if publish_groups else 0, dimension=dimension
            )
            if publish_groups and group_dimension:
                row = RowSpec(
                    row.key,
                    row.vocabulary,
                    row.code,
                    row.level,
                    ((group_dimension, group), *row.dims),
                )
            table.rows.append(row)
    if none_row:
        table.rows.append(
            RowSpec(key=NOT_STATED, vocabulary=None, code=None, dims=((dimension, None),))
        )
    if publish_groups:
        group_counts = {group: counts.groups.get(group, 0) for group in groups}
    else:
        # One unpublished group holding every code: the reports with any answer.
        group_counts = {group: total - counts.none for group in groups}
    add_multi_response(
        component,
        prefix=name,
        groups=groups,
        code_counts=counts.codes,
        group_counts=group_counts,
        none_count=counts.none,
        publish_groups=publish_groups,
        none_key=f"{name}/{NOT_STATED}" if none_row else None,
        at_least_one=at_least_one,
        zero_sensitive=zero_sensitive,
    )
    return BuiltComponent(component, [table])


def _codes_by_group(
    groups: taxonomy.Vocabulary, codes: taxonomy.Vocabulary
) -> dict[str, list[str]]:
    """Each group of `groups` with its codes in `codes` beneath it, in taxonomy order."""
    return {group.code: [term.code for term in codes.children(group.code)] for group in groups}


def _ungrouped_multi_component(
    *, name: str, total: int, counts: MultiCounts, vocabulary: taxonomy.Vocabulary, dimension: str
) -> BuiltComponent:
    """A several-answers question without groups, and a row for reports that gave no answer."""
    return _multi_component(
        name=name,
        total=total,
        counts=counts,
        groups={"all": vocabulary.codes()},
        group_vocabulary=None,
        code_vocabulary=vocabulary.name,
        dimension=dimension,
        group_dimension=None,
        at_least_one=False,
        none_row=True,
    )


def acts_component(counts: RecordCounts) -> BuiltComponent:
    return _multi_component(
        name="by_act",
        total=counts.total,
        counts=counts.acts,
        groups=_codes_by_group(taxonomy.ACT_GROUPS, taxonomy.ACTS),
        group_vocabulary="act_groups",
        code_vocabulary="acts",
        dimension="act",
        group_dimension="act_group",
        # The anonymiser refuses a report without an act, and readers may know that.
        at_least_one=True,
        none_row=False,
    )


def perpetrators_component(counts: RecordCounts) -> BuiltComponent:
    return _ungrouped_multi_component(
        name="by_perpetrator",
        total=counts.total,
        counts=counts.perpetrators,
        vocabulary=taxonomy.PERPETRATORS,
        dimension="perpetrator",
    )


def citizenships_component(counts: RecordCounts) -> BuiltComponent:
    return _multi_component(
        name="by_citizenship",
        total=counts.total,
        counts=counts.citizenships,
        groups=_codes_by_group(taxonomy.ORIGIN_REGIONS, taxonomy.CITIZENSHIPS),
        group_vocabulary="origin_regions",
        code_vocabulary="citizenships",
        dimension="citizenship",
        group_dimension="origin_region",
        at_least_one=False,
        none_row=True,
    )


def indicators_component(counts: RecordCounts) -> BuiltComponent:
    return _ungrouped_multi_component(
        name="by_indicator",
        total=counts.total,
        counts=counts.indicators,
        vocabulary=taxonomy.FORCED_LABOUR_INDICATORS,
        dimension="indicator",
    )


def single_component(
    counts: RecordCounts, table_id: str, column: str, vocabulary: str
) -> BuiltComponent:
    observed = dict(counts.single.get(column, {}))
    leaves = _single_leaves(observed, vocabulary)
    table = TableSpec(id=table_id, dimension=column)
    for key in leaves:
        table.rows.append(
            RowSpec(key=key, vocabulary=None, code=None, dims=((column, None),))
            if key == NOT_STATED
            else _row_for(vocabulary, key, dimension=column)
        )
    component = Component(name=table_id, total=counts.total)
    add_partition(component, leaves=leaves, cells={table.cell(r): [r.key] for r in table.rows})
    return BuiltComponent(component, [table])


# The persons a report of each group-size band can add (persons are top-coded): readers know
# these from the taxonomy, so the persons figure bounds the reports in each band.
PERSONS_PER_REPORT: dict[str, tuple[int, int]] = {
    "1": (1, 1),
    "2-5": (2, 5),
    "6-10": (6, 10),
    "11-30": (11, 30),
    "31+": (31, taxonomy.PERSONS_AFFECTED_TOP_CODE),
}


def group_size_component(counts: RecordCounts) -> BuiltComponent:
    """Reports by group size, and the persons affected (the sum of group sizes) in the same
    component: a band's reports add between its smallest and largest size to the persons
    figure, so publishing that figure can narrow a hidden band (one report of 30 among eleven
    of one person shows as 41). Audited like any cell, it is hidden when it would."""
    built = single_component(counts, "by_group_size", "group_size_band", "group_size_bands")
    component = built.component
    leaves = _single_leaves(dict(counts.single.get("group_size_band", {})), "group_size_bands")
    persons = dict.fromkeys(leaves, 0)
    for code, n in counts.persons_by_band.items():
        key = code if code in persons and code != NOT_STATED else NOT_STATED
        persons[key] += n
    reports = {name: i for i, name in enumerate(component.variable_names)}
    terms = []
    for band, n in persons.items():
        low, high = PERSONS_PER_REPORT.get(band, (1, taxonomy.PERSONS_AFFECTED_TOP_CODE))
        v = component.variable(f"persons:{band}", n)
        component.at_most(((reports[band], float(low)), (v, -1.0)), 0)
        component.at_most(((v, 1.0), (reports[band], -float(high))), 0)
        terms.append((v, 1.0))
    component.cell(PERSONS_KEY, terms, counts.persons_affected)
    built.extra.append(PERSONS_KEY)
    return built


PlaceLeaf = tuple[Code, Code, Code, Code]  # country, federal district, region, airport


def _a_priori_places() -> list[PlaceLeaf]:
    """Every place a record could hold under the anonymiser's rules (a region implies Russia
    and its district; an airport implies its region), in the order tables list them."""
    leaves: list[PlaceLeaf] = [("RU", None, None, None)]
    for district in taxonomy.FEDERAL_DISTRICTS:
        leaves.append(("RU", district.code, None, None))
        for region in taxonomy.REGIONS.children(district.code):
            leaves.append(("RU", district.code, region.code, None))
            for airport in taxonomy.AIRPORTS.children(region.code):
                leaves.append(("RU", district.code, region.code, airport.code))
    leaves += [(c, None, None, None) for c in taxonomy.COUNTRIES.codes() if c != "RU"]
    return leaves


def _leaf_key(leaf: PlaceLeaf) -> str:
    return "|".join(part or "" for part in leaf)


@dataclass
class _PlaceCounts:
    """The places cells summed into geography leaves and types of place."""

    geo: dict[PlaceLeaf, int]
    locations: dict[str, int]
    # Reports that break a rule the data usually obeys (an airport is a place of type "AIR").
    airport_not_air: int = 0
    air_without_airport: int = 0


def _place_counts(counts: RecordCounts) -> _PlaceCounts:
    places = _PlaceCounts(
        geo=dict.fromkeys(_a_priori_places(), 0),
        locations=_single_leaves({}, "location_types"),
    )
    for (country, district, region, airport, location), n in counts.places.items():
        leaf = (country, district, region, airport)
        places.geo[leaf] = places.geo.get(leaf, 0) + n
        key = NOT_STATED if location is None else location
        places.locations[key] = places.locations.get(key, 0) + n
        if airport is not None and location != "AIR":
            places.airport_not_air += n
        if airport is None and location == "AIR":
            places.air_without_airport += n
    return places


@dataclass
class _Geography:
    """The geography leaves of the places component: cells are sums of them."""

    component: Component
    counts: dict[PlaceLeaf, int]
    index: dict[PlaceLeaf, int]  # leaf → variable

    # Callable[..., bool]: predicates bind their loop's codes as default arguments.
    def cell(self, key: str, predicate: Callable[..., bool]) -> None:
        members = [(i, 1.0) for leaf, i in self.index.items() if predicate(leaf)]
        value = sum(n for leaf, n in self.counts.items() if predicate(leaf))
        self.component.cell(key, members, value)


def _regions_table(geography: _Geography) -> TableSpec:
    """Countries; for Russia, its federal districts; for each district, its regions."""
    regions = TableSpec(id="by_region", dimension="region")
    for country in taxonomy.COUNTRIES.codes():
        row = RowSpec(
            key=f"country:{country}",
            vocabulary="countries",
            code=country,
            dims=(("country", country),),
        )
        regions.rows.append(row)
        geography.cell(regions.cell(row), lambda leaf, c=country: leaf[0] == c)
        if country != "RU":
            continue
        for district in [*taxonomy.FEDERAL_DISTRICTS.codes(), None]:
            row = RowSpec(
                key=f"district:{district or NOT_STATED}",
                vocabulary="federal_districts" if district else None,
                code=district,
                level=1,
                dims=(("country", "RU"), ("federal_district", district)),
            )
            regions.rows.append(row)
            geography.cell(
                regions.cell(row), lambda leaf, d=district: leaf[0] == "RU" and leaf[1] == d
            )
            if district is None:
                continue
            for region in [*(t.code for t in taxonomy.REGIONS.children(district)), None]:
                row = RowSpec(
                    key=f"region:{region or district + ':' + NOT_STATED}",
                    vocabulary="regions" if region else None,
                    code=region,
                    level=2,
                    dims=(("country", "RU"), ("federal_district", district), ("region", region)),
                )
                regions.rows.append(row)
                geography.cell(
                    regions.cell(row),
                    lambda leaf, d=district, r=region: (
                        leaf[0] == "RU" and leaf[1] == d and leaf[2] == r
                    ),
                )
    # An observed place outside the a-priori list (a reporter's region that is not their
    # airport's) is counted in every row whose code it carries, like any other.
    return regions


def _airports_table(geography: _Geography) -> TableSpec:
    airports = TableSpec(id="by_airport", dimension="airport", total_key=ANY)
    total_row = RowSpec(key=ANY, vocabulary=None, code=None, dims=(("airport", None),))
    airports.rows.append(total_row)
    geography.cell(airports.cell(total_row), lambda leaf: leaf[3] is not None)
    for airport in taxonomy.AIRPORTS.codes():
        row = RowSpec(
            key=airport,
            vocabulary="airports",
            code=airport,
            level=1,
            dims=(("region", taxonomy.airport_region(airport)), ("airport", airport)),
        )
        airports.rows.append(row)
        geography.cell(airports.cell(row), lambda leaf, a=airport: leaf[3] == a)
    return airports


def _location_table(
    component: Component, locations: Mapping[str, int], location_index: Mapping[str, int]
) -> TableSpec:
    location_table = TableSpec(id="by_location_type", dimension="location_type")
    for key, n in locations.items():
        row = (
            RowSpec(key=key, vocabulary=None, code=None, dims=(("location_type", None),))
            if key == NOT_STATED
            else _row_for("location_types", key, dimension="location_type")
        )
        location_table.rows.append(row)
        component.cell(location_table.cell(row), ((location_index[key], 1.0),), n)
    return location_table


def places_component(counts: RecordCounts) -> BuiltComponent:
    """Countries, federal districts, regions, airports and location types: one component,
    because an airport lies in a region and (where the data shows it) implies "airport" as
    the type of place."""
    places = _place_counts(counts)
    component = Component(name="places", total=counts.total)
    geo_index = {leaf: component.variable(_leaf_key(leaf), n) for leaf, n in places.geo.items()}
    location_index = {
        key: component.variable(f"location:{key}", n) for key, n in places.locations.items()
    }
    component.equal(((i, 1.0) for i in geo_index.values()), counts.total)
    component.equal(((i, 1.0) for i in location_index.values()), counts.total)
    airport_leaves = [i for leaf, i in geo_index.items() if leaf[3] is not None]
    air = location_index["AIR"]
    # Rules the data obeys are assumed known to readers: assuming more can only make the
    # audit stricter.
    if places.airport_not_air == 0:
        component.at_most(((air, -1.0), *((i, 1.0) for i in airport_leaves)), 0)
    if places.air_without_airport == 0:
        component.at_most(((air, 1.0), *((i, -1.0) for i in airport_leaves)), 0)
    geography = _Geography(component, places.geo, geo_index)
    regions = _regions_table(geography)
    airports = _airports_table(geography)
    location_table = _location_table(component, places.locations, location_index)
    return BuiltComponent(component, [regions, airports, location_table])


def _implications(
    patterns: Mapping[tuple[bool, ...], int], names: Sequence[str], subset: Sequence[str]
) -> list[tuple[str, str]]:
    """Pairs (a, b) among `subset` where no report has a without b in this period."""
    position = {name: names.index(name) for name in subset}
    found = []
    for a, b in itertools.permutations(subset, 2):
        if not any(n for p, n in patterns.items() if p[position[a]] and not p[position[b]]):
            found.append((a, b))
    return found


def flags_component(
    *,
    name: str,
    total: int,
    patterns: Mapping[tuple[bool, ...], int],
    names: Sequence[str],
    subset: Sequence[str],
    zero_sensitive: bool,
) -> BuiltComponent:
    table = TableSpec(id=name, dimension="flag", multi=True)
    flags: dict[str, int] = {}
    for flag in subset:
        position = names.index(flag)
        row = RowSpec(key=flag, vocabulary=None, code=flag, dims=(("flag", flag),))
        table.rows.append(row)
        flags[table.cell(row)] = sum(n for p, n in patterns.items() if p[position])
    component = Component(name=name, total=total)
    add_flags(
        component,
        flags=flags,
        implications=[
            (f"{name}/{a}", f"{name}/{b}") for a, b in _implications(patterns, names, subset)
        ],
        zero_sensitive=zero_sensitive and total > 0,
    )
    return BuiltComponent(component, [table])


def record_components(
    counts: RecordCounts, period: ReleasePeriod, *, zero_sensitive_tables: Iterable[str]
) -> list[BuiltComponent]:
    zero_sensitive = set(zero_sensitive_tables)
    built: list[BuiltComponent] = []
    month = month_component(counts, period)
    if month is not None:
        built.append(month)
    built += [
        acts_component(counts),
        places_component(counts),
        perpetrators_component(counts),
        flags_component(
            name="coercion",
            total=counts.total,
            patterns=counts.flag_patterns,
            names=FLAG_COLUMNS,
            subset=COERCION_FLAGS,
            zero_sensitive="coercion" in zero_sensitive,
        ),
        flags_component(
            name="vulnerable",
            total=counts.total,
            patterns=counts.flag_patterns,
            names=FLAG_COLUMNS,
            subset=VULNERABLE_FLAGS,
            zero_sensitive="vulnerable" in zero_sensitive,
        ),
        citizenships_component(counts),
        indicators_component(counts),
    ]
    built += [
        group_size_component(counts)
        if t == "by_group_size"
        else single_component(counts, t, column, v)
        for t, column, v in SINGLE_TABLES
    ]
    return built


def cell_keys(built: Sequence[BuiltComponent], prefix: str = "") -> set[str]:
    return {prefix + cell.key for item in built for cell in item.component.cells}


def case_components(
    cases: CaseCounts, *, zero_sensitive_tables: Iterable[str]
) -> list[BuiltComponent]:
    zero_sensitive = set(zero_sensitive_tables)
    status = flags_component(
        name="case_status",
        total=cases.received,
        patterns={k: v for k, v in cases.status_patterns.items()},
        names=CASE_FLAGS,
        subset=CASE_FLAGS,
        zero_sensitive="case_status" in zero_sensitive,
    )
    interventions = _ungrouped_multi_component(
        name="interventions",
        total=cases.received,
        counts=cases.interventions,
        vocabulary=taxonomy.INTERVENTIONS,
        dimension="intervention",
    )
    return [status, interventions]


# --------------------------------------------------------------------------------------------
# Protection and the published form


@dataclass
class ProtectedTables:
    tables: dict[str, dict[str, Any]]
    audits: list[dict[str, Any]]
    passed: bool
    # Figures published outside tables (persons affected); None where suppressed.
    figures: dict[str, int | None] = field(default_factory=dict)


def protect_components(
    built: Sequence[BuiltComponent],
    rules: DisclosureRules,
    *,
    also_suppress: Iterable[str] = (),
    known: Iterable[str] = (),
    prefix: str = "",
) -> ProtectedTables:
    """Protect each component. `also_suppress` and `known` name cells as differencing does
    (case-handling cells with `prefix` "case/"); see `disclosure.protect`."""
    forced = {key.removeprefix(prefix) for key in also_suppress if key.startswith(prefix)}
    already = {key.removeprefix(prefix) for key in known if key.startswith(prefix)}
    tables: dict[str, dict[str, Any]] = {}
    audits: list[dict[str, Any]] = []
    figures: dict[str, int | None] = {}
    passed = True
    for item in built:
        protection = protect(item.component, rules, also_suppress=forced, known=already)
        audits.append(protection.audit_record())
        passed = passed and protection.passed
        for table in item.tables:
            tables[table.id] = published_table(table, protection, item.component.total)
        for key in item.extra:
            figures[key] = protection.published.get(key)
    return ProtectedTables(tables=tables, audits=audits, passed=passed, figures=figures)


def published_table(
    table: TableSpec, protection: ComponentProtection, total: int
) -> dict[str, Any]:
    rows = []
    for row in table.rows:
        entry = row.as_dict()
        entry["value"] = protection.published.get(table.cell(row))
        rows.append(entry)
    return {
        "id": table.id,
        "dimension": table.dimension,
        "unit": table.unit,
        "multi": table.multi,
        "total_key": table.total_key,
        "withheld": protection.withheld,
        # The reports this table is out of: the release total, or (case handling) the reports
        # received. Withheld with the table when there are too few.
        "base": None if protection.withheld else total,
        "rows": rows,
    }
