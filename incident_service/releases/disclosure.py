"""Disclosure control for count tables: components, what readers know of them, the threshold.

A release publishes counts of reports. Each group of counts that are tied together by arithmetic
(a table with its subtotals, a question where several answers may be ticked, a set of yes/no
flags with their implications) is a `Component`: unknown non-negative whole numbers (its
variables), the relations between them that anyone who reads the reporting form or this code
knows (`equal`, `at_most`), and the cells it publishes, each a sum of variables. A cell is
sensitive under the threshold rule (`is_sensitive`) when its count, or its complement, is
small; `suppression.protect` decides what to hide and proves it safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Terms = tuple[tuple[int, float], ...]


class AuditFailed(Exception):
    """A component could not be protected: the release must not be published."""


@dataclass(frozen=True)
class DisclosureRules:
    threshold: int
    protection_width: int

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.protection_width < 1:
            raise ValueError("threshold and protection width must be at least 1")


@dataclass(frozen=True)
class Cell:
    """One published figure: the sum of `terms` (variable index, coefficient)."""

    key: str
    terms: Terms
    value: int
    # The number of reports *without* this answer, when that is a figure readers can derive
    # (total minus this cell) and so must pass the threshold rule as well.
    complement: int | None = None
    zero_sensitive: bool = False


@dataclass
class Component:
    """Variables, the relations every reader knows, and the cells published from them."""

    name: str
    total: int
    variable_names: list[str] = field(default_factory=list)
    # The true value of each variable: never published, used only to search for the cheapest
    # set of extra cells to hide (a move away from the truth must stay a possible truth).
    values: list[float] = field(default_factory=list)
    equalities: list[tuple[Terms, float]] = field(default_factory=list)
    inequalities: list[tuple[Terms, float]] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    # Indexes of `inequalities` that hold because of the data ("every signed contract was
    # offered" this month), not because of the form or the method: the protection assumes
    # readers know them (stricter), but the published audit does not state them.
    derived: set[int] = field(default_factory=set)
    # The keys of `cells`, to refuse a duplicate without reading every cell (a joint audit's
    # component has thousands). Rebuilt whenever `cells` was changed other than by `cell`.
    _cell_keys: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def variable(self, name: str, value: float) -> int:
        self.variable_names.append(name)
        self.values.append(float(value))
        return len(self.variable_names) - 1

    def equal(self, terms: Iterable[tuple[int, float]], rhs: float) -> None:
        self.equalities.append((tuple(terms), float(rhs)))

    def at_most(
        self, terms: Iterable[tuple[int, float]], rhs: float, *, derived: bool = False
    ) -> None:
        if derived:
            self.derived.add(len(self.inequalities))
        self.inequalities.append((tuple(terms), float(rhs)))

    def public(self) -> Component:
        """The component as a reader of the published method knows it: without the relations
        that hold only because of the data."""
        return Component(
            name=self.name,
            total=self.total,
            variable_names=list(self.variable_names),
            values=list(self.values),
            equalities=list(self.equalities),
            inequalities=[r for i, r in enumerate(self.inequalities) if i not in self.derived],
            cells=list(self.cells),
        )

    def cell(
        self,
        key: str,
        terms: Iterable[tuple[int, float]],
        value: int,
        *,
        complement: int | None = None,
        zero_sensitive: bool = False,
    ) -> Cell:
        if len(self._cell_keys) != len(self.cells):
            self._cell_keys = {existing.key for existing in self.cells}
        if key in self._cell_keys:
            raise ValueError(f"duplicate cell {key} in component {self.name}")
        cell = Cell(key, tuple(terms), int(value), complement, zero_sensitive)
        self.cells.append(cell)
        self._cell_keys.add(key)
        return cell

    @property
    def size(self) -> int:
        return len(self.variable_names)

    def by_key(self) -> dict[str, Cell]:
        return {cell.key: cell for cell in self.cells}


# --------------------------------------------------------------------------------------------
# Building blocks for the shapes of table a release uses


def add_partition(
    component: Component,
    *,
    leaves: Mapping[str, int],
    cells: Mapping[str, Sequence[str]],
    zero_sensitive: bool = False,
) -> dict[str, int]:
    """A variable that takes exactly one value per report (with "not stated" as a leaf).

    `leaves` are the finest categories and their counts; they must add up to the total.
    `cells` maps each published cell key to the leaves it sums (a leaf, or a subtotal).
    Returns the variable index of each leaf.
    """
    index = {leaf: component.variable(leaf, count) for leaf, count in leaves.items()}
    component.equal(((i, 1.0) for i in index.values()), component.total)
    for key, members in cells.items():
        value = sum(leaves[leaf] for leaf in members)
        component.cell(
            key, ((index[leaf], 1.0) for leaf in members), value, zero_sensitive=zero_sensitive
        )
    return index


def add_multi_response(
    component: Component,
    *,
    prefix: str,
    groups: Mapping[str, Sequence[str]],
    code_counts: Mapping[str, int],
    group_counts: Mapping[str, int],
    none_count: int,
    publish_groups: bool,
    none_key: str | None,
    at_least_one: bool,
    zero_sensitive: bool = False,
) -> None:
    """A question where several answers may be ticked, answers grouped (acts into act groups).

    Variables: reports with each code, reports with at least one code of each group, and reports
    with none. The relations are exactly the ones that make such counts realisable:
    code <= group, group <= sum of its codes, group <= total - none, and (every report has at
    least one group) sum of groups >= total - none. Codes and groups publish their complement
    (reports without them) to the threshold rule as well. `group_counts` must give every group
    (for groups that are not published, reports with any of their codes). Cells are keyed
    "<prefix>/<code>" and "<prefix>/group:<group>" (a group and a code may share a code: RUS).
    """
    total = component.total
    none = component.variable(f"{prefix}:none", none_count)
    component.at_most(((none, 1.0),), total)
    if at_least_one:
        # A report with no answer at all cannot exist (the form requires one).
        component.equal(((none, 1.0),), 0)
    group_vars: dict[str, int] = {}
    for group, codes in groups.items():
        g = component.variable(f"{prefix}:{group}", group_counts[group])
        group_vars[group] = g
        component.at_most(((g, 1.0), (none, 1.0)), total)
        code_vars = [
            component.variable(f"{prefix}:{code}", code_counts.get(code, 0)) for code in codes
        ]
        for c in code_vars:
            component.at_most(((c, 1.0), (g, -1.0)), 0)
        component.at_most(((g, 1.0), *((c, -1.0) for c in code_vars)), 0)
        if publish_groups:
            component.cell(
                f"{prefix}/group:{group}",
                ((g, 1.0),),
                group_counts.get(group, 0),
                complement=total - group_counts.get(group, 0),
                zero_sensitive=zero_sensitive,
            )
        for code, c in zip(codes, code_vars, strict=True):
            count = code_counts.get(code, 0)
            component.cell(
                f"{prefix}/{code}",
                ((c, 1.0),),
                count,
                complement=total - count,
                zero_sensitive=zero_sensitive,
            )
    # Every report with an answer has it in at least one group.
    component.at_most(((none, -1.0), *((g, -1.0) for g in group_vars.values())), -total)
    if none_key is not None:
        component.cell(none_key, ((none, 1.0),), none_count, zero_sensitive=False, complement=None)


def add_flags(
    component: Component,
    *,
    flags: Mapping[str, int],
    implications: Iterable[tuple[str, str]] = (),
    zero_sensitive: bool = False,
) -> dict[str, int]:
    """Yes/no questions. Each publishes the "yes" count; "no" is the total minus it and passes
    the threshold rule too. `implications` (a, b) are rules "a implies b" the data obeys (and
    a reader may assume): count(a) <= count(b)."""
    total = component.total
    index: dict[str, int] = {}
    for key, count in flags.items():
        v = component.variable(key, count)
        index[key] = v
        component.at_most(((v, 1.0),), total)
        component.cell(
            key, ((v, 1.0),), count, complement=total - count, zero_sensitive=zero_sensitive
        )
    for a, b in implications:
        component.at_most(((index[a], 1.0), (index[b], -1.0)), 0, derived=True)
    return index


# --------------------------------------------------------------------------------------------
# Sensitivity


def _small(value: int, rules: DisclosureRules) -> bool:
    return 0 < value < rules.threshold


def published_range(cell: Cell, rules: DisclosureRules) -> tuple[int, int] | None:
    """The range a cell hidden by its own small count may be published as instead of "x":
    "fewer than `threshold`", from 1 (or 0 where zeros are hidden too) to threshold - 1.

    None for every other cell: one whose count is not small, one whose complement is small
    (its range would say how many reports lack the answer), and a zero where zeros tell
    nothing. Whether the range is published is for the audit to decide."""
    if rules.threshold < 2:
        return None
    if cell.complement is not None and _small(cell.complement, rules):
        return None
    if _small(cell.value, rules) or (cell.value == 0 and cell.zero_sensitive):
        return (0 if cell.zero_sensitive else 1, rules.threshold - 1)
    return None


def is_sensitive(cell: Cell, rules: DisclosureRules) -> bool:
    """Primary suppression: a small count, a small complement, or a zero where zeros tell."""
    if _small(cell.value, rules):
        return True
    if cell.complement is not None and _small(cell.complement, rules):
        return True
    return cell.value == 0 and cell.zero_sensitive
