"""Differencing between releases of nested periods: a quarter minus its published months.

Within one release, `disclosure.protect` proves that no suppressed cell can be recomputed.
Across releases the same cell is published for nested periods (a month, its quarter, its
year), and subtracting them exposes the remainder: "Q4 minus October minus November" is
December. This guard looks, cell by cell, at every published release whose period contains or
lies inside the new one, and finds figures of the new release that would let a reader
compute a remainder between 1 and threshold - 1; those cells are then suppressed in the new
release (and protected within it like any other). It reasons only from published figures,
as a reader would, including figures that have since changed because late reports arrived or
records were withdrawn.

Month, quarter and year periods are nested or disjoint, so the published periods inside any
container are a forest: the largest ones are disjoint, and "container minus those" is the
only remainder that matters (any other difference is that remainder plus published figures,
each zero or at least the threshold). Where the parts cover the container entirely, the
difference is what changed since they were published, and it must not be small either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from incident_service.releases.periods import ReleasePeriod


@dataclass(frozen=True)
class PublishedFigures:
    """What readers already hold from one published release."""

    label: str
    months: frozenset[str]
    values: Mapping[str, int]  # "<table>/<row>" → published value (suppressed cells absent)
    # Cells the release shows as hidden (in tables it publishes): readers know they are hidden
    hidden: frozenset[str] = frozenset()

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> PublishedFigures:
        period = content["period"]
        months = set(period["months"])
        if period["kind"] == "year":
            months.add(f"{period['year']:04d}")
        return cls(
            period["label"],
            frozenset(months),
            published_values(content),
            frozenset(hidden_keys(content)),
        )


TOTAL_KEY = "summary/reports"
# Persons affected: a sum of group sizes, not a count of reports. It is a cell of the
# group-size component (audited with it) and is differenced like the total.
PERSONS_KEY = "summary/persons_affected"


class TotalWouldDisclose(Exception):
    """The number of reports of this period, next to published releases of periods inside or
    around it, would let readers work out a small number of reports for the rest."""

    def __init__(self, label: str, others: Sequence[str]) -> None:
        super().__init__(
            f"the total of {label}, with the published totals of {', '.join(others)}, would "
            "reveal a small number of reports for the remaining months; this release cannot be "
            "made while those are published"
        )


CASE_RECEIVED_KEY = "case/received"
CASE_PREFIX = "case/"


def _exact(content: Mapping[str, Any]) -> bool:
    """Whether a release's record figures are exact (threshold rule). A differentially private
    release's are noisy and not differenced; its case handling is exact in both methods."""
    return bool(content.get("method", "suppression") == "suppression")


def _all_tables(content: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Record tables by id (exact releases only), and case-handling tables as "case/<id>"."""
    tables: dict[str, Mapping[str, Any]] = {}
    if _exact(content):
        tables.update(content.get("tables", {}))
    for table_id, table in ((content.get("case_handling") or {}).get("tables") or {}).items():
        tables[f"{CASE_PREFIX}{table_id}"] = table
    return tables


def published_values(content: Mapping[str, Any]) -> dict[str, int]:
    values: dict[str, int] = {}
    if _exact(content) and content.get("reports"):
        # The total is a figure like any other (every table adds up to it).
        values[TOTAL_KEY] = int(content["reports"])
        if content.get("persons_affected") is not None:
            values[PERSONS_KEY] = int(content["persons_affected"])
    received = (content.get("case_handling") or {}).get("received")
    if received:
        values[CASE_RECEIVED_KEY] = int(received)
    for table_id, table in _all_tables(content).items():
        for row in table["rows"]:
            if row["value"] is not None:
                values[f"{table_id}/{row['key']}"] = int(row["value"])
    return values


def hidden_keys(content: Mapping[str, Any]) -> set[str]:
    """Figures a release shows as hidden (`x`), in tables it does not withhold as a whole."""
    hidden: set[str] = set()
    shown_persons = content.get("persons_affected") is not None
    if _exact(content) and content.get("status") == "ok" and not shown_persons:
        hidden.add(PERSONS_KEY)
    for table_id, table in _all_tables(content).items():
        if table.get("withheld"):
            continue
        hidden |= {f"{table_id}/{row['key']}" for row in table["rows"] if row["value"] is None}
    return hidden


def period_months(period: ReleasePeriod) -> frozenset[str]:
    months = set(period.months)
    if period.includes_year_only_records:
        months.add(f"{period.year:04d}")
    return frozenset(months)


def derivable(
    period: ReleasePeriod, keys: Iterable[str], others: Sequence[PublishedFigures]
) -> dict[str, int]:
    """Figures of a new release that readers can already compute from published releases of
    nested periods: a container minus the other parts, or the sum of parts that cover it.

    These are as good as published, so the new release cannot hide them to protect another
    figure; its audit counts them as known."""
    return _derivable(period_months(period), keys, others)


def _derivable(
    months: frozenset[str], keys: Iterable[str], others: Sequence[PublishedFigures]
) -> dict[str, int]:
    found: dict[str, int] = {}
    for key in keys:
        holders = [o for o in others if key in o.values and o.months != months]
        for container in holders:
            if not months < container.months:
                continue
            parts = [o for o in holders if o.months < container.months and not o.months & months]
            parts = [p for p in parts if not any(p.months < q.months for q in parts)]
            if frozenset().union(*(p.months for p in parts)) | months == container.months:
                found[key] = container.values[key] - sum(p.values[key] for p in parts)
                break
        else:
            parts = [o for o in holders if o.months < months]
            parts = [p for p in parts if not any(p.months < q.months for q in parts)]
            if parts and frozenset().union(*(p.months for p in parts)) == months:
                found[key] = sum(p.values[key] for p in parts)
    return found


def _maximal_inside(
    container: PublishedFigures, pool: Sequence[PublishedFigures]
) -> list[PublishedFigures]:
    inside = [p for p in pool if p.months < container.months]
    return [p for p in inside if not any(p.months < q.months for q in inside)]


def _report_remainder(container: PublishedFigures, parts: Sequence[PublishedFigures]) -> int:
    """How many reports the container has beyond its parts, as a reader can tell (0 when the
    reports are not published for all of them: then nothing smaller can be told apart)."""
    if any(TOTAL_KEY not in p.values for p in (container, *parts)):
        return 0
    return abs(container.values[TOTAL_KEY] - sum(p.values[TOTAL_KEY] for p in parts))


def differencing_risks(
    *,
    period: ReleasePeriod,
    tables: Mapping[str, Mapping[str, Any]],
    total: int | None,
    others: Sequence[PublishedFigures],
    threshold: int,
    persons: int | None = None,
    cases: Mapping[str, Any] | None = None,
) -> set[str]:
    """Cells of the new release that, with `others`, would expose a small remainder, or that
    a release of a nested period hides (publishing them could let readers subtract it out)."""
    new = PublishedFigures(
        period.label,
        period_months(period),
        published_values(
            {
                "tables": tables,
                "reports": total,
                "persons_affected": persons,
                "case_handling": cases or {},
            }
        ),
    )
    related = [o for o in others if o.months <= new.months or new.months <= o.months]
    if not related:
        return set()
    everyone = [new, *[o for o in others if o.months != new.months]]
    risky: set[str] = set()
    for same in (o for o in others if o.months == new.months):
        # Another release of the same period (the other method, or a draft made again): the
        # difference is what changed in between. (Two of the same method are never both
        # published, so the total, which only threshold-rule releases publish, is left to that.)
        for key in (new.values.keys() & same.values.keys()) - {TOTAL_KEY}:
            change = new.values[key] - same.values[key]
            if key == PERSONS_KEY:
                if change and _report_remainder(same, [new]) < threshold:
                    risky.add(key)
            elif 0 < abs(change) < threshold:
                risky.add(key)
    for hider in others:
        # A figure another release hides (a sibling month, say) that this release would let
        # readers compute: the quarter minus the other months, with this one among them.
        pool = [o for o in others if o is not hider]
        for key in hider.hidden & new.values.keys():
            if key in _derivable(hider.months, [key], [*pool, new]):
                risky.add(key)
    for key in new.values:
        if key != TOTAL_KEY and any(key in o.hidden for o in related):
            # Suppressed consistently across nested periods: a figure a month hides is not
            # published for its quarter or year (nor the other way round), so no subtraction
            # of a container and its other parts can give it.
            risky.add(key)
            continue
        holders = [p for p in everyone if key in p.values]
        for container in holders:
            parts = _maximal_inside(container, holders)
            if not parts:
                continue
            involved = [container, *parts]
            if new not in involved:
                continue  # a risk among older releases only; nothing this release can change
            remainder = container.values[key] - sum(p.values[key] for p in parts)
            if key == PERSONS_KEY:
                # Persons are not reports: the persons of the remaining reports are as
                # disclosive as those reports are few (or, with none remaining, as the reports
                # that arrived late or were withdrawn are few).
                if remainder != 0 and _report_remainder(container, parts) < threshold:
                    risky.add(key)
                continue
            # Even when the parts cover the container, a non-zero difference tells how many
            # reports arrived late or were withdrawn; a negative one tells the same.
            if 0 < abs(remainder) < threshold:
                risky.add(key)
    return risky
