"""Differentially private releases with OpenDP: noisy counts over the public list of codes.

Every table of a DP release is one OpenDP measurement: the records' values (or, for questions
with several answers, up to a fixed number of them per report, chosen at random) are counted
over the categories of the taxonomy — a list anyone can read, so which categories appear says
nothing — and discrete Laplace noise calibrated to the release's share of ε is added. Subtotals
that are sums of published cells cost nothing more. The ε each table spends, as OpenDP itself
computes it, is recorded in the release's audit; the release's total goes to the privacy
ledger in the same transaction as the noisy figures, so that a retried task finds the stored
figures and never draws again (a redraw would let the noise be averaged away).

The privacy unit is one report. Disjoint periods hold disjoint reports, so the ledger is kept
per month: a month's budget is spent by every DP release whose period contains it.

Noise is drawn once per set of figures, not once per document. The figures depend only on the
period, the data, ε and the contributions per report (with the public weights and tables of
this format); the document languages, the comparison base and the case-handling threshold do
not change a single noisy figure. A draft whose figures would be the same as a stored draw's
(`noise_key`) reuses that draw's figures unchanged and is charged nothing, so nine drafts of
one month in nine sets of languages show the same noisy figures and averaging them gains
nothing. New data in the period (a late report, a withdrawal) is a new measurement: it draws
fresh noise and is charged like any other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import opendp.prelude as dp
import sqlalchemy as sa

from incident_service import locks, taxonomy
from incident_service.constants import ReleaseMethod
from incident_service.models import (
    PrivacyLedgerEntry,
    Release,
    StatisticalAct,
    StatisticalCitizenship,
    StatisticalIndicator,
    StatisticalPerpetrator,
    StatisticalRecord,
    db,
)
from incident_service.releases import tables as release_tables
from incident_service.releases.content import (
    CONTENT_FORMAT,
    ContentResult,
    ReleaseStatusCode,
    differenced_case_handling,
    period_dict,
)
from incident_service.releases.counts import CaseCounts, RecordCounts
from incident_service.releases.differencing import PublishedFigures
from incident_service.releases.disclosure import DisclosureRules
from incident_service.releases.periods import PeriodKind, ReleasePeriod
from incident_service.releases.record_values import (
    capped_lists,
    column_values,
    flag_lists,
    period_records,
)
from incident_service.releases.table_specs import NOT_STATED, TableSpec

dp.enable_features("contrib")

NULL = "\x00none"  # a category no code can take: OpenDP's "not in the list" bucket
MISSING = NOT_STATED
CONFIDENCE = 0.95

# Relative share of ε per query; the weights are public and part of the parameters' meaning.
WEIGHTS: dict[str, float] = {
    "reports": 3.0,
    "persons_affected": 1.0,
    "by_month": 1.0,
    "by_act:groups": 2.0,
    "by_act:codes": 2.0,
    "by_region:countries": 0.5,
    "by_region:districts": 1.0,
    "by_region:regions": 1.0,
    "by_airport": 1.0,
    "by_location_type": 0.5,
    "by_perpetrator": 1.0,
    "coercion": 1.0,
    "vulnerable": 1.0,
    "by_citizenship:groups": 0.5,
    "by_citizenship:codes": 0.5,
    "by_indicator": 0.5,
    **{table: 0.5 for table, _column, _vocabulary in release_tables.SINGLE_TABLES},
}


class PrivacyBudgetExhausted(Exception):
    """A DP release would spend more ε on some month than the lifetime budget allows."""

    def __init__(self, month: str, spent: float, requested: float, lifetime: float) -> None:
        super().__init__(
            f"the privacy budget for {month} is exhausted: {spent:g} of {lifetime:g} already "
            f"spent, this release asks for {requested:g} more"
        )
        self.month = month
        self.spent = spent
        self.requested = requested
        self.lifetime = lifetime


# --------------------------------------------------------------------------------------------
# Ledger


def spent_by_month(months: Sequence[str]) -> dict[str, float]:
    """ε already spent on each month by DP releases (drafts included: their noise was drawn)."""
    spent = dict.fromkeys(months, 0.0)
    rows = db.session.execute(
        sa.select(Release.content, PrivacyLedgerEntry.epsilon)
        .join(PrivacyLedgerEntry, PrivacyLedgerEntry.release_id == Release.id)
        .where(Release.method == ReleaseMethod.DIFFERENTIAL_PRIVACY.value)
    )
    for content_text, epsilon in rows:
        covered = set(json.loads(content_text)["period"]["record_months"])
        for month in months:
            if month in covered:
                spent[month] += float(epsilon)
    return spent


def check_budget(period: ReleasePeriod, epsilon: float, *, lifetime: float) -> None:
    """Refuse a release that would take any month of its period over the lifetime budget."""
    for month, spent in spent_by_month(period.record_months).items():
        if spent + epsilon > lifetime + 1e-9:
            raise PrivacyBudgetExhausted(month, spent, epsilon, lifetime)


def months_after(period: ReleasePeriod, charged: float) -> dict[str, float]:
    """ε spent on each month of the period once this release's charge is added."""
    return {month: spent + charged for month, spent in spent_by_month(period.record_months).items()}


def lock_ledger() -> None:
    """Serialise budget checks with ledger writes, so two releases cannot both fit."""
    locks.hold_until_commit(locks.PRIVACY_LEDGER)


# --------------------------------------------------------------------------------------------
# One draw per set of figures

NOISE_FORMAT = 1  # bump when the queries, their weights or their order change


def _data_fingerprint(period: ReleasePeriod) -> str:
    """Which records the period holds. Records are only ever added (flush) or deleted
    (withdrawal), never changed, so their ids name the data a draw measured."""
    ids = db.session.scalars(
        sa.select(StatisticalRecord.id).where(period_records(period)).order_by(StatisticalRecord.id)
    )
    digest = hashlib.sha256()
    for record_id in ids:
        digest.update(record_id.encode("ascii") + b"\n")
    return digest.hexdigest()


def noise_key(period: ReleasePeriod, parameters: Mapping[str, Any]) -> str:
    """What the noisy figures depend on and nothing else: the period, the data, ε, the
    contributions per report and the public weights. Kept in the database only (it names the
    data), never in a published file."""
    figures = {
        "format": NOISE_FORMAT,
        "period": period.label,
        "method": ReleaseMethod.DIFFERENTIAL_PRIVACY.value,
        "epsilon": float(parameters["epsilon"]),
        "contributions": dict(sorted(parameters["contributions"].items())),
        "weights": WEIGHTS,
        "data": _data_fingerprint(period),
    }
    text = json.dumps(figures, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored_draw(period: ReleasePeriod, key: str) -> Release | None:
    """The release whose noise these figures would be: the first one drawn with this key."""
    return db.session.scalar(
        sa.select(Release)
        .where(
            Release.period == period.label,
            Release.method == ReleaseMethod.DIFFERENTIAL_PRIVACY.value,
            Release.noise_key == key,
        )
        .order_by(Release.id)
        .limit(1)
    )


# Content fields that carry noise: copied as they are from the draw that made them.
NOISY_FIELDS = (
    "reports",
    "reports_margin",
    "persons_affected",
    "persons_affected_margin",
    "tables",
)


# --------------------------------------------------------------------------------------------
# Measurements


@dataclass(frozen=True)
class Measured:
    query: str
    values: list[int]  # noisy, in category order, before clamping
    epsilon: float  # as OpenDP maps it for one report's contribution
    scale: float
    contributions: int
    margin: float  # 95 % of draws are within ± this


def _count_by_categories(
    query: str, data: list[str], categories: list[str], *, contributions: int, epsilon: float
) -> Measured:
    space = (dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance())
    scale = contributions / epsilon
    measurement = dp.t.make_count_by_categories(
        *space, categories=categories, null_category=True
    ) >> dp.m.then_laplace(scale=scale)
    spent = float(measurement.map(d_in=contributions))
    assert spent <= epsilon * (1 + 1e-9), "OpenDP maps more ε than allotted"
    noisy = [int(v) for v in measurement(data)][: len(categories)]
    return Measured(query, noisy, spent, scale, contributions, _margin(scale))


def _count(query: str, n: int, *, epsilon: float) -> Measured:
    space = (dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance())
    scale = 1.0 / epsilon
    measurement = dp.t.make_count(*space) >> dp.m.then_laplace(scale=scale)
    spent = float(measurement.map(d_in=1))
    noisy = int(measurement(["r"] * n))
    return Measured(query, [noisy], spent, scale, 1, _margin(scale))


def _sum(query: str, values: list[int], *, epsilon: float) -> Measured:
    upper = taxonomy.PERSONS_AFFECTED_TOP_CODE
    space = (dp.vector_domain(dp.atom_domain(T=int)), dp.symmetric_distance())
    scale = upper / epsilon
    measurement = (
        dp.t.make_clamp(*space, bounds=(1, upper))
        >> dp.t.then_sum()  # type: ignore[no-untyped-call]
        >> dp.m.then_laplace(scale=scale)
    )
    spent = float(measurement.map(d_in=1))
    noisy = int(measurement(values))
    return Measured(query, [noisy], spent, scale, 1, _margin(scale))


def _margin(scale: float) -> float:
    return float(dp.discrete_laplacian_scale_to_accuracy(scale, 1 - CONFIDENCE))


# --------------------------------------------------------------------------------------------
# Content


def _group_key(group: str) -> str:
    """Group rows are keyed "group:<code>" (a group and a code may share a code, like RUS)."""
    return f"group:{group}"


def _row_keys(spec: TableSpec, *, level: int | None = None) -> list[str]:
    return [r.key for r in spec.rows if level is None or r.level == level]


def _table_specs(period: ReleasePeriod) -> dict[str, TableSpec]:
    """Row lists of every table, from the taxonomy alone (the public key set)."""
    empty = RecordCounts()
    specs: dict[str, TableSpec] = {}
    for built in release_tables.record_components(empty, period, zero_sensitive_tables=()):
        for table in built.tables:
            specs[table.id] = table
    return specs


class _Draws:
    """The noisy counts of one DP release, in the order they are drawn (the audit lists them
    so), each query spending its share of ε."""

    def __init__(self, share: Mapping[str, float]) -> None:
        self.share = share
        self.measured: dict[str, Measured] = {}

    def by_categories(
        self, query: str, data: list[str], categories: list[str], contributions: int
    ) -> None:
        self.measured[query] = _count_by_categories(
            query, data, categories, contributions=contributions, epsilon=self.share[query]
        )


def _epsilon_shares(period: ReleasePeriod, epsilon: float) -> dict[str, float]:
    """Each query's share of ε, by the public weights; a month release has no month table."""
    queries = [
        name for name in WEIGHTS if not (name == "by_month" and period.kind is PeriodKind.MONTH)
    ]
    weight_total = sum(WEIGHTS[q] for q in queries)
    return {q: epsilon * WEIGHTS[q] / weight_total for q in queries}


def _draw_totals(draws: _Draws, period: ReleasePeriod, specs: Mapping[str, TableSpec]) -> None:
    """The number of reports, the persons affected, and reports by month."""
    share = draws.share
    total = db.session.scalar(sa.select(sa.func.count()).where(period_records(period))) or 0
    draws.measured["reports"] = _count("reports", int(total), epsilon=share["reports"])
    persons = list(
        db.session.scalars(
            sa.select(StatisticalRecord.persons_affected).where(period_records(period))
        )
    )
    draws.measured["persons_affected"] = _sum(
        "persons_affected", [int(p) for p in persons], epsilon=share["persons_affected"]
    )
    if "by_month" in share:
        draws.by_categories(
            "by_month", column_values(period, "month"), _row_keys(specs["by_month"]), 1
        )


def _draw_acts(
    draws: _Draws,
    period: ReleasePeriod,
    specs: Mapping[str, TableSpec],
    caps: Mapping[str, int],
) -> None:
    acts = specs["by_act"]
    draws.by_categories(
        "by_act:groups",
        capped_lists(
            period,
            StatisticalAct.__table__,
            "act_group",
            cap=caps["act_groups"],
            none_value=None,
            transform=_group_key,
        ),
        _query_keys(acts, "by_act:groups"),
        caps["act_groups"],
    )
    draws.by_categories(
        "by_act:codes",
        capped_lists(
            period, StatisticalAct.__table__, "act_code", cap=caps["acts"], none_value=None
        ),
        _row_keys(acts, level=1),
        caps["acts"],
    )


def _draw_places(draws: _Draws, period: ReleasePeriod, specs: Mapping[str, TableSpec]) -> None:
    """Countries, federal districts and regions (one table), airports and types of place."""
    regions = specs["by_region"]
    countries = column_values(period, "country")
    draws.by_categories(
        "by_region:countries",
        ["country:" + c for c in countries],
        _row_keys(regions, level=0),
        1,
    )
    place_rows = db.session.execute(
        sa.select(
            StatisticalRecord.country,
            StatisticalRecord.federal_district,
            StatisticalRecord.region,
        ).where(period_records(period))
    ).all()
    draws.by_categories(
        "by_region:districts",
        [
            f"district:{district or MISSING}" if country == "RU" else NULL
            for country, district, _region in place_rows
        ],
        _row_keys(regions, level=1),
        1,
    )
    draws.by_categories(
        "by_region:regions",
        [
            (f"region:{region}" if region else f"region:{district}:{MISSING}")
            if country == "RU" and district
            else NULL
            for country, district, region in place_rows
        ],
        _row_keys(regions, level=2),
        1,
    )
    airports = specs["by_airport"]
    draws.by_categories(
        "by_airport",
        column_values(period, "airport"),
        _row_keys(airports, level=1),
        1,
    )
    draws.by_categories(
        "by_location_type",
        column_values(period, "location_type", taxonomy.LOCATION_TYPES),
        _row_keys(specs["by_location_type"]),
        1,
    )


def _draw_perpetrators_and_flags(
    draws: _Draws,
    period: ReleasePeriod,
    specs: Mapping[str, TableSpec],
    caps: Mapping[str, int],
) -> None:
    draws.by_categories(
        "by_perpetrator",
        capped_lists(
            period,
            StatisticalPerpetrator.__table__,
            "perpetrator",
            cap=caps["perpetrators"],
            none_value=MISSING,
        ),
        _row_keys(specs["by_perpetrator"]),
        caps["perpetrators"],
    )
    draws.by_categories(
        "coercion",
        flag_lists(period, release_tables.COERCION_FLAGS),
        list(release_tables.COERCION_FLAGS),
        len(release_tables.COERCION_FLAGS),
    )
    draws.by_categories(
        "vulnerable",
        flag_lists(period, release_tables.VULNERABLE_FLAGS),
        list(release_tables.VULNERABLE_FLAGS),
        len(release_tables.VULNERABLE_FLAGS),
    )


def _draw_citizenships_and_indicators(
    draws: _Draws,
    period: ReleasePeriod,
    specs: Mapping[str, TableSpec],
    caps: Mapping[str, int],
) -> None:
    citizenship = specs["by_citizenship"]
    draws.by_categories(
        "by_citizenship:groups",
        capped_lists(
            period,
            StatisticalCitizenship.__table__,
            "origin_region",
            cap=1,
            none_value=None,
            transform=_group_key,
        ),
        _query_keys(citizenship, "by_citizenship:groups"),
        1,
    )
    draws.by_categories(
        "by_citizenship:codes",
        capped_lists(
            period,
            StatisticalCitizenship.__table__,
            "citizenship",
            cap=caps["citizenships"],
            none_value=MISSING,
        ),
        [*_row_keys(citizenship, level=1), MISSING],
        caps["citizenships"],
    )
    draws.by_categories(
        "by_indicator",
        capped_lists(
            period,
            StatisticalIndicator.__table__,
            "indicator",
            cap=caps["indicators"],
            none_value=MISSING,
        ),
        _row_keys(specs["by_indicator"]),
        caps["indicators"],
    )


def _draw_single_tables(
    draws: _Draws, period: ReleasePeriod, specs: Mapping[str, TableSpec]
) -> None:
    for table_id, column, vocabulary in release_tables.SINGLE_TABLES:
        draws.by_categories(
            table_id,
            column_values(period, column, taxonomy.VOCABULARIES[vocabulary]),
            _row_keys(specs[table_id]),
            1,
        )


def _dp_audit(
    epsilon: float,
    queries: list[dict[str, Any]],
    case_audits: list[dict[str, Any]],
    case_differencing: dict[str, Any],
) -> dict[str, Any]:
    """What each query spent, as OpenDP maps it, and the audit of the exact case handling."""
    spent = sum(float(q["epsilon"]) for q in queries)
    return {
        "method": ReleaseMethod.DIFFERENTIAL_PRIVACY.value,
        "epsilon": epsilon,
        "epsilon_spent": spent,
        "privacy_unit": "one report",
        "noise": "discrete Laplace (OpenDP 0.16, make_count_by_categories / make_sum)",
        "confidence_of_margins": CONFIDENCE,
        "queries": queries,
        "components": case_audits,
        "differencing": case_differencing,
        "passed": spent <= epsilon * (1 + 1e-9) and all(c["passed"] for c in case_audits),
    }


def dp_content(
    *,
    period: ReleasePeriod,
    parameters: Mapping[str, Any],
    cases: CaseCounts,
    generated_on: dt.date,
    published_overlapping: Sequence[PublishedFigures] = (),
    lifetime: float,
    reuse: Release | None = None,
) -> ContentResult:
    """The noisy tables of a DP release: drawn now (the caller stores them with the ledger
    entry), or, given `reuse`, the stored draw's figures unchanged and nothing charged. Its
    case handling is exact (threshold rule) and checked against published releases of nested
    periods like a threshold-rule release's."""
    epsilon = float(parameters["epsilon"])
    if reuse is None:
        noisy, queries = _draw(period, parameters)
        drawn_on = generated_on.isoformat()
    else:
        source = json.loads(reuse.content)
        noisy = {field: source[field] for field in NOISY_FIELDS}
        queries = json.loads(reuse.disclosure_audit)["queries"]
        drawn_on = source.get("privacy_budget", {}).get("figures_drawn_on", source["generated_on"])
    charged = epsilon if reuse is None else 0.0
    rules = DisclosureRules(
        threshold=int(parameters["case_threshold"]),
        protection_width=int(parameters["case_threshold"]),
    )
    cases_section, case_audits, case_differencing = differenced_case_handling(
        period=period, cases=cases, rules=rules, others=published_overlapping
    )
    content: dict[str, Any] = {
        "format": CONTENT_FORMAT,
        "period": period_dict(period),
        "method": ReleaseMethod.DIFFERENTIAL_PRIVACY.value,
        "parameters": dict(parameters),
        "generated_on": generated_on.isoformat(),
        "unit": "reports",
        "status": ReleaseStatusCode.OK,
        **noisy,
        "case_handling": cases_section,
        "privacy_budget": {
            "lifetime_epsilon": lifetime,
            "epsilon_of_figures": epsilon,
            "epsilon_charged": charged,
            "figures_drawn_on": drawn_on,
            "most_spent_on_a_month": max(months_after(period, charged).values(), default=charged),
        },
    }
    audit = _dp_audit(epsilon, queries, case_audits, case_differencing)
    audit["noise"] = {
        "drawn_now": reuse is None,
        "reused_from_release": reuse.id if reuse is not None else None,
        "epsilon_charged": charged,
        "lifetime_epsilon": lifetime,
    }
    return ContentResult(content=content, audit=audit)


def _draw(
    period: ReleasePeriod, parameters: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Draw every query's noise once: the noisy fields of the content and the audit's list of
    queries."""
    caps: Mapping[str, int] = parameters["contributions"]
    specs = _table_specs(period)
    draws = _Draws(_epsilon_shares(period, float(parameters["epsilon"])))
    _draw_totals(draws, period, specs)
    _draw_acts(draws, period, specs, caps)
    _draw_places(draws, period, specs)
    _draw_perpetrators_and_flags(draws, period, specs, caps)
    _draw_citizenships_and_indicators(draws, period, specs, caps)
    _draw_single_tables(draws, period, specs)
    measured = draws.measured
    noisy = {
        "reports": max(0, measured["reports"].values[0]),
        "reports_margin": round(measured["reports"].margin, 1),
        "persons_affected": max(0, measured["persons_affected"].values[0]),
        "persons_affected_margin": round(measured["persons_affected"].margin, 1),
        "tables": _assemble(specs, measured),
    }
    queries = [
        {
            "query": m.query,
            "epsilon": m.epsilon,
            "scale": m.scale,
            "contributions_per_report": m.contributions,
            "margin_95": round(m.margin, 2),
        }
        for m in measured.values()
    ]
    return noisy, queries


def _assemble(
    specs: Mapping[str, TableSpec], measured: Mapping[str, Measured]
) -> dict[str, dict[str, Any]]:
    """Noisy values into the rows of each table; negative draws shown as 0 (post-processing,
    which costs no privacy), subtotals that are sums of noisy cells summed here."""
    sources: dict[str, list[str]] = {
        "by_act": ["by_act:groups", "by_act:codes"],
        "by_region": ["by_region:countries", "by_region:districts", "by_region:regions"],
        "by_citizenship": ["by_citizenship:groups", "by_citizenship:codes"],
    }
    tables: dict[str, dict[str, Any]] = {}
    for table_id, spec in specs.items():
        queries = sources.get(table_id, [table_id])
        values: dict[str, tuple[int, float]] = {}
        for query in queries:
            result = measured[query]
            keys = _query_keys(spec, query)
            for key, value in zip(keys, result.values, strict=True):
                values[key] = (max(0, value), result.margin)
        rows = []
        for row in spec.rows:
            entry = row.as_dict()
            if row.key in values:
                entry["value"], margin = values[row.key]
                entry["margin"] = round(margin, 1)
            elif spec.total_key is not None and row.key == spec.total_key:
                parts = [v for k, (v, _m) in values.items()]
                entry["value"] = sum(parts)
                entry["margin"] = None  # a sum of noisy cells: see each cell's margin
            else:
                entry["value"] = None
                entry["margin"] = None
            rows.append(entry)
        tables[table_id] = {
            "id": table_id,
            "dimension": spec.dimension,
            "unit": spec.unit,
            "multi": spec.multi,
            "total_key": spec.total_key,
            "withheld": False,
            "base": None,
            "rows": rows,
        }
    return tables


def _query_keys(spec: TableSpec, query: str) -> list[str]:
    if query in ("by_act:groups", "by_citizenship:groups", "by_region:countries"):
        return [key for key in _row_keys(spec, level=0) if key != MISSING]
    if query == "by_act:codes" or query == "by_region:districts":
        return _row_keys(spec, level=1)
    if query == "by_citizenship:codes":
        return [*_row_keys(spec, level=1), MISSING]
    if query == "by_region:regions":
        return _row_keys(spec, level=2)
    if query == "by_airport":
        return _row_keys(spec, level=1)
    return _row_keys(spec)
