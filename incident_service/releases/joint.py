"""Protection across published releases: one integer program for a release and every published
release of its year.

`suppression.protect` proves one release safe on its own. Officials receive releases of nested
periods — a quarter, then its months, then the year — and solve them together: the quarter's
hidden figure is bounded by its months' figures, a month known to be empty (0 in the quarter's
month table) makes "the quarter minus December" November, and an unpublished month is the
quarter minus the others. This module writes what such a reader knows as one `Component` per
group of linked tables and hands it to the same linear and integer programs the single-release
audit uses:

- every month of the releases involved (and the year-only records of a year) is a copy of the
  component's variables with its own, unknown, number of reports; the relations every reader
  knows hold in each copy (they are the same relations the single-release audit uses, with the
  month's number of reports in place of the release's);
- every figure a release publishes is an equation over the copies of its months, including its
  number of reports and its month table (a 0 there is a month known to be empty); figures it
  hides are unknowns;
- the figures that must stay protected are every figure any of the releases hides, and every
  small figure (or small complement, or zero where zeros tell) of a period readers can isolate
  without it being published: a container minus the published periods inside it (July, when
  the quarter, August and September are published).

Figures a release publishes as a range ("fewer than 10") are two inequalities over the copies
of its months, lower <= sum <= upper, and stay figures to protect: each must still be able to
take both ends of its range. Each other such figure must range at least the protection width
over whole numbers. Where the new
release makes one narrower, its cheapest set of published figures to hide is found by the same
linear program the single-release secondary suppression uses, with the published releases'
figures fixed (they cannot be taken back). A figure already narrow without the new release is
not the new release's doing and is not held against it.

The new release's own ranges are decided last (`refused_ranges`): its hidden figures are
settled without them, then every range it would publish is added, and while any figure of any
release is narrower than promised, one of the new release's ranges is shown as "x" again.

Published releases whose figures no longer match the data (late reports, withdrawals) cannot
be written as the same months: the change between them is itself a small, disclosive
"release". A new release that would be compared with such a release (it contains it, lies in
it, or shares a published container with it) is refused, naming the release and why.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from incident_service.releases.differencing import PERSONS_KEY, TOTAL_KEY
from incident_service.releases.disclosure import (
    AuditFailed,
    Cell,
    Component,
    DisclosureRules,
    Terms,
    is_sensitive,
)
from incident_service.releases.suppression import (
    _TOLERANCE,
    CellRange,
    StatedRange,
    _Problem,
    _protect_cell,
    keeps_promise,
)

MONTH_TABLE = "by_month"
SEPARATOR = " :: "


class JointAuditRefused(Exception):
    """The new release cannot be published next to the published releases, for the reason
    given (it holds no figure, only release labels and figure names)."""


@dataclass(frozen=True)
class JointRelease:
    """A release as readers hold it: its months and its figures (None where hidden)."""

    label: str
    atoms: frozenset[str]
    # "<table>/<row>" → published value, or None where the release shows it hidden. Figures of
    # withheld tables (or of a release with too few reports) are absent: nothing is said.
    values: Mapping[str, int | None]
    total: int | None
    new: bool = False
    # "<table>/<row>" → (lower, upper) for hidden figures published as a range.
    ranges: Mapping[str, StatedRange] = field(default_factory=dict)

    @classmethod
    def from_content(cls, content: Mapping[str, Any], *, new: bool = False) -> JointRelease:
        period = content["period"]
        atoms = frozenset(period.get("record_months") or period["months"])
        values: dict[str, int | None] = {}
        ranges: dict[str, StatedRange] = {}
        ok = content.get("status") == "ok"
        if ok:
            values[PERSONS_KEY] = content.get("persons_affected")
            for table_id, table in content.get("tables", {}).items():
                if table.get("withheld"):
                    continue
                for row in table["rows"]:
                    values[f"{table_id}/{row['key']}"] = row["value"]
                    stated = row.get("range")
                    if row["value"] is None and stated:
                        ranges[f"{table_id}/{row['key']}"] = (
                            int(stated["lower"]),
                            int(stated["upper"]),
                        )
        total = content.get("reports") if ok else None
        return cls(period["label"], atoms, values, total, new, ranges)

    def without_ranges(self) -> JointRelease:
        """The release with its ranges shown as "x" (how its hidden figures are settled)."""
        return dataclasses.replace(self, ranges={})


@dataclass
class JointResult:
    """What the joint audit found for the new release."""

    compared_with: list[str]
    # Figures of the new release to hide (without the table prefix removed: "<table>/<row>").
    to_hide: set[str] = field(default_factory=set)
    # Figures that stay narrow whatever the new release hides: it must be refused.
    unprotectable: list[str] = field(default_factory=list)
    # Figures the new release hides that the published releases already give exactly (a
    # month's figure its quarter shows as 0): hiding them protects nothing, so they are shown.
    known: set[str] = field(default_factory=set)

    @property
    def passed(self) -> bool:
        return not self.to_hide and not self.unprotectable


def _shift(terms: Terms, offset: int) -> Terms:
    return tuple((index + offset, coefficient) for index, coefficient in terms)


def _remainders(releases: Sequence[JointRelease]) -> list[tuple[str, frozenset[str]]]:
    """Periods readers can isolate without their being published: each release minus the
    largest releases inside it."""
    found: list[tuple[str, frozenset[str]]] = []
    seen: set[frozenset[str]] = {r.atoms for r in releases}
    for container in releases:
        inside = [r for r in releases if r.atoms < container.atoms]
        largest = [r for r in inside if not any(r.atoms < q.atoms for q in inside)]
        if not largest:
            continue
        rest = container.atoms - frozenset().union(*(r.atoms for r in largest))
        if rest and rest not in seen:
            seen.add(rest)
            parts = ", ".join(sorted(r.label for r in largest))
            found.append((f"{container.label} without {parts}", rest))
    return found


@dataclass
class _System:
    component: Component
    published: set[str]  # keys of published figures (all releases)
    fixed: frozenset[str]  # published figures of already published releases
    new_keys: dict[str, str]  # joint key → the new release's own key, for its published cells
    targets: list[str]
    new_hidden: set[str]  # joint keys of the new release's hidden figures
    # Published ranges (joint key → (lower, upper)), and which of them are the new release's
    # (joint key → its own key).
    ranges: dict[str, StatedRange] = field(default_factory=dict)
    new_ranged: dict[str, str] = field(default_factory=dict)

    def problem(self, hidden: set[str], *, new_ranges: bool = True) -> _Problem:
        ranges = (
            self.ranges
            if new_ranges
            else {k: v for k, v in self.ranges.items() if k not in self.new_ranged}
        )
        return _Problem(self.component, hidden, ranges)


def _system(
    name: str,
    structure: Component,
    per_atom: Mapping[str, Component],
    releases: Sequence[JointRelease],
    rules: DisclosureRules,
) -> _System:
    joint = Component(name=f"joint {name}", total=structure.total)
    union = structure.total
    offsets: dict[str, int] = {}
    totals: dict[str, int] = {}
    atoms = sorted(frozenset().union(*(r.atoms for r in releases)))
    for atom in atoms:
        part = per_atom[atom]
        if part.variable_names != structure.variable_names:
            raise AuditFailed(f"{name}: the tables of {atom} are not built like the others")
        offsets[atom] = joint.size
        for variable, value in zip(part.variable_names, part.values, strict=True):
            joint.variable(f"{atom}:{variable}", value)
        totals[atom] = joint.variable(f"{atom}:reports", part.total)
        # The relations every reader knows, with this month's reports as the total.
        for relations, add in (
            (structure.equalities, joint.equal),
            (structure.inequalities, joint.at_most),
        ):
            for terms, rhs in relations:
                share = rhs / union
                extra: Terms = ((totals[atom], -share),) if share else ()
                add((*_shift(terms, offsets[atom]), *extra), 0.0)
    truth = joint.values

    def value_of(terms: Terms) -> int:
        return round(sum(truth[i] * c for i, c in terms))

    published: set[str] = set()
    fixed: set[str] = set()
    new_keys: dict[str, str] = {}
    targets: list[str] = []
    new_hidden: set[str] = set()
    ranges: dict[str, StatedRange] = {}
    new_ranged: dict[str, str] = {}
    structure_cells = structure.cells

    def ranged(release: JointRelease, key: str, own: str) -> None:
        ranges[key] = release.ranges[own]
        targets.append(key)
        if release.new:
            new_ranged[key] = own

    def add_cell(key: str, terms: Terms, shown: int | None, template: Cell | None) -> int:
        true = value_of(terms)
        joint.cell(
            key,
            terms,
            true if shown is None else shown,
            zero_sensitive=template.zero_sensitive if template else False,
        )
        return true

    def sensitive(template: Cell, value: int, total: int) -> bool:
        complement = (
            total - value
            if (template.complement is not None or template.key.endswith("/-"))
            else None
        )
        return is_sensitive(
            Cell(template.key, (), value, complement, template.zero_sensitive), rules
        )

    for release in releases:
        member = sorted(release.atoms)
        total_terms: Terms = tuple((totals[a], 1.0) for a in member)
        total_true = value_of(total_terms)
        if release.total is not None:
            key = f"{release.label}{SEPARATOR}{TOTAL_KEY}"
            add_cell(key, total_terms, release.total, None)
            published.add(key)
            if not release.new:
                fixed.add(key)
        for atom in member:
            own = f"{MONTH_TABLE}/{atom}"
            shown = release.values.get(own)
            key = f"{release.label}{SEPARATOR}{own}"
            if shown is not None:
                add_cell(key, ((totals[atom], 1.0),), shown, None)
                published.add(key)
                if not release.new:
                    fixed.add(key)
            elif own in release.ranges:
                add_cell(key, ((totals[atom], 1.0),), None, None)
                ranged(release, key, own)
        for template in structure_cells:
            terms = tuple(t for a in member for t in _shift(template.terms, offsets[a]))
            key = f"{release.label}{SEPARATOR}{template.key}"
            shown = release.values.get(template.key)
            true = add_cell(key, terms, shown, template)
            if shown is not None:
                published.add(key)
                if release.new:
                    new_keys[key] = template.key
                else:
                    fixed.add(key)
            elif template.key in release.ranges:
                ranged(release, key, template.key)
                if release.new:
                    new_hidden.add(key)
            elif template.key in release.values or sensitive(template, true, total_true):
                targets.append(key)
                if release.new:
                    new_hidden.add(key)
    for label, rest in _remainders(releases):
        member = sorted(rest)
        total_true = sum(round(truth[totals[a]]) for a in member)
        for template in structure_cells:
            terms = tuple(t for a in member for t in _shift(template.terms, offsets[a]))
            key = f"{label}{SEPARATOR}{template.key}"
            true = add_cell(key, terms, None, template)
            if sensitive(template, true, total_true):
                targets.append(key)
    return _System(
        joint, published, frozenset(fixed), new_keys, targets, new_hidden, ranges, new_ranged
    )


def find_stale(
    structure: Mapping[str, Component],
    per_atom: Mapping[str, Mapping[str, Component]],
    published: Sequence[JointRelease],
) -> dict[str, str]:
    """Published releases whose figures differ from what today's data gives for their months:
    release label → the first figure found changed."""
    stale: dict[str, str] = {}
    for release in published:
        atoms = sorted(release.atoms)
        if release.total is not None:
            now = sum(per_atom[a][next(iter(structure))].total for a in atoms) if structure else 0
            if structure and now != release.total:
                stale[release.label] = "the number of reports"
                continue
        first = next(iter(structure.values()), None)
        for atom in atoms:
            shown = release.values.get(f"{MONTH_TABLE}/{atom}")
            stated = release.ranges.get(f"{MONTH_TABLE}/{atom}")
            now_total = per_atom[atom][next(iter(structure))].total if first is not None else 0
            if first is not None and (
                (shown is not None and shown != now_total)
                or (stated is not None and not stated[0] <= now_total <= stated[1])
            ):
                stale[release.label] = f"{MONTH_TABLE}/{atom}"
        if release.label in stale or first is None:
            continue
        for name, template in structure.items():
            for cell in template.cells:
                shown = release.values.get(cell.key)
                stated = release.ranges.get(cell.key)
                if shown is None and stated is None:
                    continue
                now = sum(
                    round(sum(per_atom[a][name].values[i] * c for i, c in cell.terms))
                    for a in atoms
                )
                changed = (
                    now != shown
                    if shown is not None
                    else stated is not None and not stated[0] <= now <= stated[1]
                )
                if changed:
                    stale[release.label] = cell.key
                    break
            if release.label in stale:
                break
    return stale


def _related(a: JointRelease, b: JointRelease, pool: Sequence[JointRelease]) -> bool:
    """Whether readers can compare `a` and `b`: they overlap, or lie in one published period."""
    if a.atoms & b.atoms:
        return True
    return any(a.atoms <= c.atoms and b.atoms <= c.atoms for c in pool if c is not a and c is not b)


def joint_audit(
    *,
    new: JointRelease,
    published: Sequence[JointRelease],
    structure: Mapping[str, Component],
    per_atom: Mapping[str, Mapping[str, Component]],
    rules: DisclosureRules,
    wide: set[str] | None = None,
) -> JointResult:
    """Audit `new` with `published` (releases of the same year, threshold rule): which of its
    figures to hide so that no figure of any of them is narrower than the protection width,
    or the figures no choice can protect.

    `structure` is each component built from the counts of every month involved (its relations
    are those of every month), `per_atom` the same components built from each month's counts
    (their values are the truth the cheapest-cover search moves away from). `wide`, kept
    between calls that only hide more of the new release's figures, holds the figures already
    found wide: hiding more only removes equations, so they stay wide."""
    # A published release of the same period: the new one is a draft that cannot be
    # published beside it (one published release per period and method), so not compared.
    published = [r for r in published if r.atoms != new.atoms]
    stale = find_stale(structure, per_atom, published)
    for label, figure in sorted(stale.items()):
        old = next(r for r in published if r.label == label)
        if _related(old, new, published):
            raise JointAuditRefused(
                f"{label} was published with figures that have changed since ({figure}: late "
                f"reports or withdrawals); {new.label} would let readers work out that change, "
                "so it cannot be published next to it"
            )
    current = [r for r in published if r.label not in stale]
    result = JointResult(compared_with=sorted(r.label for r in current))
    if not current or not any(_related(r, new, current) for r in current):
        return result
    releases = [*current, new]
    width = rules.protection_width
    for name, template in structure.items():
        if template.total == 0:
            continue
        system = _system(name, template, {a: per_atom[a][name] for a in per_atom}, releases, rules)
        cells = system.component.by_key()
        hidden = {c.key for c in system.component.cells} - system.published
        problem = system.problem(hidden)
        without_new: _Problem | None = None
        for key in system.targets:
            cell = cells[key]
            if wide is not None and key in wide:
                continue
            stated = system.ranges.get(key)
            if stated is None and (
                problem.lp_range(cell).width >= width - _TOLERANCE
                and problem.integer_range(cell).width >= width - _TOLERANCE
            ):
                if wide is not None:
                    wide.add(key)
                continue
            if stated is not None and keeps_promise(problem.integer_range(cell), stated, width):
                continue
            # What the published releases alone leave open: a figure they already narrow (a
            # month's hidden figure its published quarter shows as 0, or bounds by a small
            # difference) cannot be widened by anything the new release hides, but the new
            # release must not narrow it further.
            if without_new is None:
                without_new = system.problem(hidden | set(system.new_keys), new_ranges=False)
            accept, required = _requirement(without_new.integer_range(cell), stated, width)
            if required < 1 - _TOLERANCE and stated is None:
                if key in system.new_hidden:
                    result.known.add(key.split(SEPARATOR, 1)[1])
                continue
            if accept(problem.integer_range(cell)):
                continue
            chosen = _widen(system, hidden | _joint(result.to_hide, system), cell, accept, required)
            if chosen is None:
                result.unprotectable.append(key)
            else:
                result.to_hide |= {system.new_keys[k] for k in chosen}
    return result


def _requirement(
    before: CellRange, stated: StatedRange | None, width: int
) -> tuple[Callable[[CellRange], bool], float]:
    """What a figure must still range over, given what it ranged over without the new release
    (`before`): an "x" figure the protection width (or all of `before` if that is narrower), a
    ranged figure both ends of its range (or of the part of it `before` still reaches). The
    test, and the width it asks for."""
    if stated is None:
        required = min(float(width), before.width)
        return (lambda r: r.width >= required - _TOLERANCE), required
    low = max(float(stated[0]), before.low)
    high = min(float(stated[1]), before.high)
    return (lambda r: r.low <= low + _TOLERANCE and r.high >= high - _TOLERANCE), max(
        high - low, 0.0
    )


def refused_ranges(
    *,
    new: JointRelease,
    published: Sequence[JointRelease],
    structure: Mapping[str, Component],
    per_atom: Mapping[str, Mapping[str, Component]],
    rules: DisclosureRules,
) -> set[str]:
    """The new release's ranges ("<table>/<row>") to show as "x" again, so that with the rest
    of its ranges no figure of it or of the published releases is narrower than promised.

    Its hidden figures were settled by `joint_audit` without its ranges, so with none of them
    every figure keeps its promise. All of them are tried together; while a figure is narrower
    than promised, every one of the new release's ranges of the same rows in the months of a
    figure found too narrow (its own range included) is shown as "x", or, where none is, all of
    them in that group of tables. Each round drops at least one range, and a joint system
    is large, so ranges are dropped in groups rather than one by one as in a single release."""
    published = [r for r in published if r.atoms != new.atoms]
    stale = find_stale(structure, per_atom, published)
    current = [r for r in published if r.label not in stale]
    if not new.ranges or not current or not any(_related(r, new, current) for r in current):
        return set()
    releases = [*current, new]
    width = rules.protection_width
    refused: set[str] = set()
    for name, template in structure.items():
        if template.total == 0:
            continue
        system = _system(name, template, {a: per_atom[a][name] for a in per_atom}, releases, rules)
        if not system.new_ranged:
            continue
        refused |= _refuse_in(system, width)
    return refused


def _refuse_in(system: _System, width: int) -> set[str]:
    """`refused_ranges` for one group of linked tables."""
    cells = system.component.by_key()
    hidden = {c.key for c in system.component.cells} - system.published
    without_new = system.problem(hidden | set(system.new_keys), new_ranges=False)
    before: dict[str, CellRange] = {}  # solved only for figures narrower than promised
    every = dict(system.ranges)
    kept = dict(system.new_ranged)
    refused: set[str] = set()
    while kept:
        system.ranges = {k: v for k, v in every.items() if k not in system.new_ranged or k in kept}
        problem = system.problem(hidden)
        failing = []
        for key in system.targets:
            stated = system.ranges.get(key)
            found = problem.integer_range(cells[key])
            if keeps_promise(found, stated, width):
                continue
            if key not in before:
                before[key] = without_new.integer_range(cells[key])
            accept, _required = _requirement(before[key], stated, width)
            if not accept(found):
                failing.append(key)
        if not failing:
            break
        variables = {index for key in failing for index, _ in cells[key].terms}
        related = [
            key
            for key in kept
            if key in failing or {index for index, _ in cells[key].terms} & variables
        ]
        for key in related or list(kept):
            refused.add(kept.pop(key))
    system.ranges = every
    return refused


def _widen(
    system: _System,
    hidden: set[str],
    cell: Cell,
    accept: Callable[[CellRange], bool],
    required: float,
) -> set[str] | None:
    """Published figures of the new release to hide so that `cell` ranges as `accept` asks:
    the cheapest cover the single-release protection would choose, else the new release's own
    figure of the same row (the usual culprit: September's figure, with the quarter's and
    August's, pins July's), else the smallest published figure of the new release."""
    component = system.component
    chosen = _protect_cell(component, hidden, cell, max(math.ceil(required), 1), system.fixed)
    own = cell.key.split(SEPARATOR, 1)[1]
    candidates: list[set[str]] = []
    if chosen:
        candidates.append({k for k in chosen if k in system.new_keys})
    candidates.append({k for k, key in system.new_keys.items() if key == own} - hidden)
    cells = component.by_key()
    smallest = sorted((k for k in system.new_keys if k not in hidden), key=lambda k: cells[k].value)
    if smallest:
        candidates.append({smallest[0]})
    for candidate in candidates:
        if not candidate:
            continue
        problem = system.problem(hidden | candidate)
        if accept(problem.integer_range(cell)):
            return candidate
    # No single step is enough: hide the first candidate and let the next round look again
    # (each round hides at least one more figure of the new release, or refuses).
    return next((c for c in candidates if c), None)


def _joint(keys: set[str], system: _System) -> set[str]:
    return {k for k, own in system.new_keys.items() if own in keys}
