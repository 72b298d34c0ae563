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

Each such figure must range at least the protection width over whole numbers. Where the new
release makes one narrower, its cheapest set of published figures to hide is found by the same
linear program the single-release secondary suppression uses, with the published releases'
figures fixed (they cannot be taken back). A figure already narrow without the new release is
not the new release's doing and is not held against it.

Published releases whose figures no longer match the data (late reports, withdrawals) cannot
be written as the same months: the change between them is itself a small, disclosive
"release". A new release that would be compared with such a release (it contains it, lies in
it, or shares a published container with it) is refused, naming the release and why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
from incident_service.releases.suppression import _TOLERANCE, _Problem, _protect_cell

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

    @classmethod
    def from_content(cls, content: Mapping[str, Any], *, new: bool = False) -> JointRelease:
        period = content["period"]
        atoms = frozenset(period.get("record_months") or period["months"])
        values: dict[str, int | None] = {}
        ok = content.get("status") == "ok"
        if ok:
            values[PERSONS_KEY] = content.get("persons_affected")
            for table_id, table in content.get("tables", {}).items():
                if table.get("withheld"):
                    continue
                for row in table["rows"]:
                    values[f"{table_id}/{row['key']}"] = row["value"]
        total = content.get("reports") if ok else None
        return cls(period["label"], atoms, values, total, new)


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
    structure_cells = structure.cells

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
            shown = release.values.get(f"{MONTH_TABLE}/{atom}")
            if shown is not None:
                key = f"{release.label}{SEPARATOR}{MONTH_TABLE}/{atom}"
                add_cell(key, ((totals[atom], 1.0),), shown, None)
                published.add(key)
                if not release.new:
                    fixed.add(key)
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
    return _System(joint, published, frozenset(fixed), new_keys, targets, new_hidden)


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
            if (
                first is not None
                and shown is not None
                and shown != per_atom[atom][next(iter(structure))].total
            ):
                stale[release.label] = f"{MONTH_TABLE}/{atom}"
        if release.label in stale or first is None:
            continue
        for name, template in structure.items():
            for cell in template.cells:
                shown = release.values.get(cell.key)
                if shown is None:
                    continue
                now = sum(
                    round(sum(per_atom[a][name].values[i] * c for i, c in cell.terms))
                    for a in atoms
                )
                if now != shown:
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
        problem = _Problem(system.component, hidden)
        without_new: _Problem | None = None
        for key in system.targets:
            cell = cells[key]
            if wide is not None and key in wide:
                continue
            if problem.lp_range(cell).width >= width - _TOLERANCE and (
                problem.integer_range(cell).width >= width - _TOLERANCE
            ):
                if wide is not None:
                    wide.add(key)
                continue
            # What the published releases alone leave open: a figure they already narrow (a
            # month's hidden figure its published quarter shows as 0, or bounds by a small
            # difference) cannot be widened by anything the new release hides, but the new
            # release must not narrow it further.
            if without_new is None:
                without_new = _Problem(system.component, hidden | set(system.new_keys))
            required = min(float(width), without_new.integer_range(cell).width)
            if required < 1 - _TOLERANCE:
                if key in system.new_hidden:
                    result.known.add(key.split(SEPARATOR, 1)[1])
                continue
            if problem.integer_range(cell).width >= required - _TOLERANCE:
                continue
            chosen = _widen(system, hidden | _joint(result.to_hide, system), cell, required)
            if chosen is None:
                result.unprotectable.append(key)
            else:
                result.to_hide |= {system.new_keys[k] for k in chosen}
    return result


def _widen(system: _System, hidden: set[str], cell: Cell, required: float) -> set[str] | None:
    """Published figures of the new release to hide so that `cell` ranges `required` wide:
    the cheapest cover the single-release protection would choose, else the new release's own
    figure of the same row (the usual culprit: September's figure, with the quarter's and
    August's, pins July's), else the smallest published figure of the new release."""
    component = system.component
    chosen = _protect_cell(component, hidden, cell, math.ceil(required), system.fixed)
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
        problem = _Problem(component, hidden | candidate)
        if problem.integer_range(cell).width >= required - _TOLERANCE:
            return candidate
    # No single step is enough: hide the first candidate and let the next round look again
    # (each round hides at least one more figure of the new release, or refuses).
    return next((c for c in candidates if c), None)


def _joint(keys: set[str], system: _System) -> set[str]:
    return {k for k, own in system.new_keys.items() if own in keys}
