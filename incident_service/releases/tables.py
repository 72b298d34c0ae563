"""The tables of a release, built from counts and protected by the threshold rule.

Each table is a list of rows (`table_specs`); each row is one cell of a disclosure-control
`Component` (`disclosure`), keyed "<table>/<row key>". This module knows which tables a release
has, which rows they show, and which arithmetic ties them together (subtotals, several answers
per report, yes/no implications); it hands the arithmetic to `suppression.protect` and keeps
only what may be published. A suppressed cell is stored as `None`: its true value never
leaves this module.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from incident_service import taxonomy
from incident_service.releases.counts import (
    FLAG_COLUMNS,
    CaseCounts,
    MultiCounts,
    RecordCounts,
)
from incident_service.releases.differencing import PERSONS_KEY
from incident_service.releases.disclosure import (
    Component,
    DisclosureRules,
    add_flags,
    add_multi_response,
    add_partition,
)
from incident_service.releases.periods import PeriodKind, ReleasePeriod
from incident_service.releases.places import places_component
from incident_service.releases.suppression import ComponentProtection, protect
from incident_service.releases.table_specs import (
    NOT_STATED,
    BuiltComponent,
    RowSpec,
    TableSpec,
    row_for,
    single_leaves,
)

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
            row = row_for(
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
    leaves = single_leaves(observed, vocabulary)
    table = TableSpec(id=table_id, dimension=column)
    for key in leaves:
        table.rows.append(
            RowSpec(key=key, vocabulary=None, code=None, dims=((column, None),))
            if key == NOT_STATED
            else row_for(vocabulary, key, dimension=column)
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
    leaves = single_leaves(dict(counts.single.get("group_size_band", {})), "group_size_bands")
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


# One release's protections by component and inputs (`protect_components`). A memo belongs to
# one set of counts: components are told apart by name, so it must not outlive them.
ProtectionMemo = dict[tuple[Any, ...], ComponentProtection]


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
    publish_ranges: bool = False,
    not_ranged: Iterable[str] = (),
    memo: ProtectionMemo | None = None,
) -> ProtectedTables:
    """Protect each component. `also_suppress` and `known` name cells as differencing does
    (case-handling cells with `prefix` "case/"); see `disclosure.protect`. With
    `publish_ranges`, small figures are published as "fewer than threshold" where the audit
    allows, except the cells in `not_ranged`.

    `memo` keeps each component's protection for one release's counts: the rounds of the
    differencing and joint checks ask again for components whose inputs did not change."""
    forced = {key.removeprefix(prefix) for key in also_suppress if key.startswith(prefix)}
    already = {key.removeprefix(prefix) for key in known if key.startswith(prefix)}
    refused = {key.removeprefix(prefix) for key in not_ranged if key.startswith(prefix)}
    tables: dict[str, dict[str, Any]] = {}
    audits: list[dict[str, Any]] = []
    figures: dict[str, int | None] = {}
    passed = True
    for item in built:
        keys = item.component.by_key().keys()
        memo_key = (
            prefix,
            item.component.name,
            rules,
            frozenset(forced & keys),
            frozenset(already & keys),
            frozenset(refused & keys) if publish_ranges else frozenset(),
            publish_ranges,
        )
        protection = memo.get(memo_key) if memo is not None else None
        if protection is None:
            protection = protect(
                item.component,
                rules,
                also_suppress=forced,
                known=already,
                publish_ranges=publish_ranges,
                not_ranged=refused,
            )
            if memo is not None:
                memo[memo_key] = protection
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
        key = table.cell(row)
        entry["value"] = protection.published.get(key)
        stated = protection.published_ranges.get(key)
        if stated is not None:
            # Hidden by its own small count, and published as the range it lies in.
            entry["range"] = {"lower": stated[0], "upper": stated[1]}
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
