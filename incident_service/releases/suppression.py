"""Protecting a component: the threshold rule, secondary suppression, and an audit.

`protect` applies three rules:

1. Threshold (primary suppression): a cell whose count is between 1 and threshold - 1, or whose
   complement (the reports *without* the answer) is, is suppressed. Zeros are suppressed too
   where a table is configured so ("no one signed" tells on everyone who was asked).
2. Secondary suppression: for each hidden cell whose range is still too narrow, a linear
   program finds the cheapest set of published cells (few and small ones) whose change would
   let it move by the protection width; those are hidden too, until every range is wide.
3. Audit: for every suppressed cell, the smallest and largest whole number it can take given
   *all* published cells of its component and all known relations is computed by integer linear
   programming (`scipy.optimize.milp`). The release is safe only if every such range is at least
   the protection width wide. The ranges are stored with the release so reviewers can check.
4. Ranges instead of "x" (`publish_ranges=True`): a cell hidden because its own count is small is
   published as "fewer than threshold" (`disclosure.published_range`) where the audit, with
   every such range added as a constraint lower <= cell <= upper, still finds each ranged cell
   able to take both ends of its range and each "x" cell the protection width. Where it does
   not, ranges are shown as "x" again, one at a time (`_choose_ranges`); the suppressed cells
   never change, so a range never costs another figure.

Components of one release share only the published number of reports; given that number, any
combination of feasible values of different components can be realised by some set of reports,
so checking components one by one checks the release.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_array, hstack, vstack

from incident_service.releases.disclosure import (
    AuditFailed,
    Cell,
    Component,
    DisclosureRules,
    Terms,
    is_sensitive,
    published_range,
)

# Numerical slack when reading solver output: LP solutions are floats.
_TOLERANCE = 1e-6


# --------------------------------------------------------------------------------------------
# Linear programs over what is published


@dataclass(frozen=True)
class CellRange:
    key: str
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


# A published range of a hidden cell: (lower, upper), both included.
StatedRange = tuple[int, int]


@dataclass(frozen=True)
class _Relaxed:
    """A linear program's outcome: status 0 when optimal, `fun` the optimum, `x` its vertex."""

    status: int
    fun: float
    x: np.ndarray[Any, np.dtype[np.float64]]
    message: str


def keeps_promise(cell_range: CellRange, stated: StatedRange | None, width: float) -> bool:
    """Whether a hidden cell is as open as its release says: an "x" cell at least `width`
    wide; a ranged cell able to take both ends of the range it is published with."""
    if stated is None:
        return cell_range.width >= width - _TOLERANCE
    lower, upper = stated
    return cell_range.low <= lower + _TOLERANCE and cell_range.high >= upper - _TOLERANCE


class _Problem:
    """The published equations of one component with one set of suppressed cells, and the
    published ranges of some of them (each two inequalities: lower <= cell <= upper)."""

    def __init__(
        self,
        component: Component,
        suppressed: set[str],
        ranges: Mapping[str, StatedRange] | None = None,
    ) -> None:
        self.component = component
        n = component.size
        eq_rows: list[Terms] = [terms for terms, _ in component.equalities]
        eq_rhs: list[float] = [rhs for _, rhs in component.equalities]
        for cell in component.cells:
            if cell.key in suppressed:
                continue
            eq_rows.append(cell.terms)
            eq_rhs.append(float(cell.value))
        self.a_eq = _matrix(eq_rows, n)
        self.b_eq = np.asarray(eq_rhs, dtype=float)
        ub_rows = [terms for terms, _ in component.inequalities]
        ub_rhs = [rhs for _, rhs in component.inequalities]
        if ranges:
            cells = component.by_key()
            for key, (lower, upper) in sorted(ranges.items()):
                terms = cells[key].terms
                ub_rows.append(terms)
                ub_rhs.append(float(upper))
                ub_rows.append(tuple((index, -coefficient) for index, coefficient in terms))
                ub_rhs.append(-float(lower))
        self.a_ub = _matrix(ub_rows, n) if ub_rows else None
        self.b_ub = np.asarray(ub_rhs, dtype=float) if ub_rows else None
        self.equation_count = len(eq_rows) + len(ub_rows)
        # Each cell's relaxed optimum, by (cell, direction): `lp_range` and `integer_range`
        # of the same cell on the same problem solve the same linear program.
        self._relaxed: dict[tuple[str, float], _Relaxed] = {}
        self._highs: highspy.Highs | None = None

    def _objective(self, cell: Cell, sign: float) -> np.ndarray[Any, np.dtype[np.float64]]:
        objective = np.zeros(self.component.size)
        for index, coefficient in cell.terms:
            objective[index] += sign * coefficient
        return objective

    def _solver(self) -> highspy.Highs:
        """One HiGHS model per problem, built once: a component's ranges are hundreds of
        linear programs that differ only in their objective, so each solve starts from the
        last one's basis instead of building and presolving the model again."""
        if self._highs is None:
            n = self.component.size
            blocks = [self.a_eq]
            lower = [self.b_eq]
            upper = [self.b_eq]
            if self.a_ub is not None and self.b_ub is not None:
                blocks.append(self.a_ub)
                lower.append(np.full(len(self.b_ub), -highspy.kHighsInf))
                upper.append(self.b_ub)
            matrix = vstack(blocks, format="csc")
            model = highspy.HighsLp()
            model.num_col_ = n
            model.num_row_ = matrix.shape[0]
            model.col_cost_ = np.zeros(n)
            model.col_lower_ = np.zeros(n)
            model.col_upper_ = np.full(n, highspy.kHighsInf)
            model.row_lower_ = np.concatenate(lower)
            model.row_upper_ = np.concatenate(upper)
            model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
            model.a_matrix_.start_ = matrix.indptr
            model.a_matrix_.index_ = matrix.indices
            model.a_matrix_.value_ = matrix.data
            solver = highspy.Highs()  # type: ignore[no-untyped-call]
            solver.setOptionValue("output_flag", False)
            solver.passModel(model)
            self._highs = solver
        return self._highs

    def _relaxation(self, objective: np.ndarray[Any, np.dtype[np.float64]]) -> _Relaxed:
        """Minimise `objective` over real, non-negative cell values that satisfy the equations."""
        solver = self._solver()
        n = self.component.size
        solver.changeColsCost(n, np.arange(n, dtype=np.int32), objective)
        solver.run()
        status = solver.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            # Not optimal from the last basis: solve once more from scratch before believing it.
            solver.clearSolver()
            solver.run()
            status = solver.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            return _Relaxed(2, math.nan, np.zeros(n), solver.modelStatusToString(status))
        return _Relaxed(
            0,
            float(solver.getInfo().objective_function_value),
            np.asarray(solver.getSolution().col_value, dtype=float),
            "optimal",
        )

    def _relaxed_optimum(self, cell: Cell, sign: float) -> _Relaxed:
        key = (cell.key, sign)
        if key not in self._relaxed:
            self._relaxed[key] = self._relaxation(self._objective(cell, sign))
        return self._relaxed[key]

    def lp_range(self, cell: Cell) -> CellRange:
        """The cell's range over real numbers: quick to compute, and never narrower than the
        whole-number range, so a cell found narrow here needs more protection for certain."""
        bounds: list[float] = []
        for sign in (1.0, -1.0):
            result = self._relaxed_optimum(cell, sign)
            if result.status != 0:
                raise AuditFailed(
                    f"{self.component.name}: linear program for {cell.key} failed "
                    f"({result.message})"
                )
            bounds.append(sign * float(result.fun))
        return CellRange(cell.key, bounds[0], bounds[1])

    def integer_range(self, cell: Cell) -> CellRange:
        """The exact range over whole numbers (counts are whole numbers, and an LP relaxation
        could claim a wider range than any real set of reports allows).

        The simplex optimum is a vertex; when that vertex is already whole it is the integer
        optimum too, and the (slower) integer program is skipped.
        """
        bounds: list[float] = []
        for sign in (1.0, -1.0):
            relaxed = self._relaxed_optimum(cell, sign)
            if relaxed.status == 0 and np.allclose(relaxed.x, np.round(relaxed.x), atol=1e-7):
                bounds.append(sign * float(relaxed.fun))
                continue
            result = milp(
                self._objective(cell, sign),
                constraints=self._constraints(),
                integrality=np.ones(self.component.size),
                bounds=Bounds(0, np.inf),
            )
            if result.status != 0 or result.fun is None:
                raise AuditFailed(
                    f"{self.component.name}: integer program for {cell.key} failed "
                    f"({result.message})"
                )
            bounds.append(sign * float(result.fun))
        return CellRange(cell.key, bounds[0], bounds[1])

    def _constraints(self) -> list[LinearConstraint]:
        constraints = [LinearConstraint(self.a_eq, self.b_eq, self.b_eq)]
        if self.a_ub is not None and self.b_ub is not None:
            constraints.append(LinearConstraint(self.a_ub, -np.inf, self.b_ub))
        return constraints


def _matrix(rows: Sequence[Terms], columns: int) -> csr_array:
    data: list[float] = []
    row_index: list[int] = []
    col_index: list[int] = []
    for r, terms in enumerate(rows):
        for c, coefficient in terms:
            row_index.append(r)
            col_index.append(c)
            data.append(coefficient)
    return csr_array((data, (row_index, col_index)), shape=(len(rows), columns), dtype=float)


# --------------------------------------------------------------------------------------------
# Protection


@dataclass
class ComponentProtection:
    """What `protect` decided for one component, and the audit that proves it."""

    name: str
    published: dict[str, int]
    suppressed: set[str]
    ranges: dict[str, CellRange]
    equations: int
    variables: int
    required_width: int
    withheld: bool = False
    # The ranges a reader can compute from the published figures and the published method
    # (without relations that hold only because of the data): these are what the audit
    # states. None: the same as `ranges`.
    public_ranges: dict[str, CellRange] | None = None
    # Hidden cells published as a range instead of "x": key → (lower, upper).
    published_ranges: dict[str, StatedRange] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.withheld or all(
            keeps_promise(r, self.published_ranges.get(key), self.required_width)
            for key, r in self.ranges.items()
        )

    def audit_record(self) -> dict[str, Any]:
        """The audit as stored and published with the release: ranges from published figures
        only (anyone can recompute them), never the suppressed values themselves."""
        shown = self.ranges if self.public_ranges is None else self.public_ranges
        return {
            "component": self.name,
            "withheld": self.withheld,
            "variables": self.variables,
            # Published equations and the relations of the published method; relations that
            # hold only because of the data are used, never counted here.
            "equations": self.equations,
            "published_cells": len(self.published),
            "suppressed_cells": len(self.suppressed),
            "required_width": self.required_width,
            "passed": self.passed,
            "ranged_cells": len(self.published_ranges),
            "ranges": [self._range_record(key, shown[key]) for key in sorted(shown)],
        }

    def _range_record(self, key: str, cell_range: CellRange) -> dict[str, Any]:
        record: dict[str, Any] = {
            "cell": key,
            "min": _whole(cell_range.low),
            "max": _whole(cell_range.high),
            "width": _whole(cell_range.width),
        }
        stated = self.published_ranges.get(key)
        if stated is not None:
            # Published as this range (a constraint of the audit), not as "x".
            record["published_range"] = {"lower": stated[0], "upper": stated[1]}
        return record


def _whole(value: float) -> int:
    return round(value) if math.isfinite(value) else -1


def _cheapest_cover(
    component: Component,
    hidden: set[str],
    target: Cell,
    shift: float,
    known: frozenset[str] = frozenset(),
) -> set[str] | None:
    """The published cells to hide so that `target` could be `shift` away from its true value.

    A linear program over a move away from the true values: the move must keep every known
    relation and non-negativity, change `target` by `shift`, and pays for every published
    cell it changes (one plus the cell's value, so small cells and few cells are preferred).
    The cells it changes are the ones to hide; with them hidden, the target's range is at
    least `shift` wide on that side. `None` if no move of that size exists at all.
    """
    n = component.size
    truth = np.asarray(component.values, dtype=float)
    # Cells readers know from elsewhere cannot move, and hiding them buys nothing.
    published = [
        cell for cell in component.cells if cell.key not in hidden and cell.key not in known
    ]
    m = len(published)
    # Variables: up (n), down (n), cost (m). The move is up - down.
    objective = np.concatenate(
        [np.full(2 * n, 1e-6), np.array([1.0 + cell.value for cell in published])]
    )
    eq_rows: list[Terms] = [terms for terms, _ in component.equalities]
    eq_rows += [cell.terms for cell in component.cells if cell.key in known]
    eq_rhs: list[float] = [0.0] * len(eq_rows)
    eq_rows.append(target.terms)
    eq_rhs.append(shift)
    move = _matrix(eq_rows, n)
    a_eq = _hstack([move, -move, _zeros(len(eq_rows), m)])
    ub_blocks = []
    ub_rhs: list[float] = []
    if component.inequalities:
        structure = _matrix([terms for terms, _ in component.inequalities], n)
        slack = np.array([rhs for _, rhs in component.inequalities]) - structure @ truth
        ub_blocks.append(_hstack([structure, -structure, _zeros(len(component.inequalities), m)]))
        ub_rhs += list(slack)
    if published:
        cells = _matrix([cell.terms for cell in published], n)
        cost = csr_array(np.eye(m))
        ub_blocks.append(_hstack([cells, -cells, -cost]))
        ub_blocks.append(_hstack([-cells, cells, -cost]))
        ub_rhs += [0.0] * (2 * m)
    bounds = [(0, None)] * n + [(0, max(value, 0.0)) for value in truth] + [(0, None)] * m
    result = linprog(
        objective,
        A_eq=a_eq,
        b_eq=np.asarray(eq_rhs),
        A_ub=_vstack(ub_blocks) if ub_blocks else None,
        b_ub=np.asarray(ub_rhs) if ub_blocks else None,
        bounds=bounds,
        method="highs",
    )
    if result.status != 0:
        return None
    costs = result.x[2 * n :]
    return {cell.key for cell, t in zip(published, costs, strict=True) if t > _TOLERANCE}


def _hstack(blocks: Sequence[Any]) -> csr_array:
    return csr_array(hstack(blocks, format="csr"))


def _vstack(blocks: Sequence[Any]) -> csr_array:
    return csr_array(vstack(blocks, format="csr"))


def _zeros(rows: int, columns: int) -> csr_array:
    return csr_array((rows, columns), dtype=float)


def _protect_cell(
    component: Component,
    hidden: set[str],
    target: Cell,
    width: int,
    known: frozenset[str] = frozenset(),
) -> set[str] | None:
    """Cells to hide so that `target` can move `width` up, or down, or half each way."""
    for shifts in ((width,), (-width,), (math.ceil(width / 2), -math.ceil(width / 2))):
        chosen: set[str] = set()
        for shift in shifts:
            cover = _cheapest_cover(component, hidden | chosen, target, shift, known)
            if cover is None:
                break
            chosen |= cover
        else:
            return chosen
    return None


def protect(
    component: Component,
    rules: DisclosureRules,
    *,
    also_suppress: Iterable[str] = (),
    known: Iterable[str] = (),
    publish_ranges: bool = False,
    not_ranged: Iterable[str] = (),
) -> ComponentProtection:
    """Decide which cells to suppress and prove, cell by cell, that the rest cannot reveal them.

    `also_suppress` adds cells that must be hidden for reasons outside this component (a figure
    that earlier releases would let readers difference). `known` are cells readers can already
    compute from other releases: hiding them protects nothing, so the audit keeps them as
    published equations and no other cell is protected by them (a hidden cell that is known
    cannot be protected, and the component is withheld).

    With `publish_ranges`, cells hidden by their own small count are published as a range where the
    audit allows (`_choose_ranges`), except those in `not_ranged` (which a joint audit with
    other releases refused).
    """
    cells = component.by_key()
    fixed = frozenset(known) & set(cells)
    values = {key: cell.value for key, cell in cells.items()}
    width = rules.protection_width
    if component.total == 0:
        # Nothing happened: every cell is zero and tells nothing about anyone.
        return ComponentProtection(
            name=component.name,
            published=dict(values),
            suppressed=set(),
            ranges={},
            equations=0,
            variables=component.size,
            required_width=width,
        )
    if component.total < rules.threshold:
        return _withheld(component, rules)
    suppressed = {key for key, cell in cells.items() if is_sensitive(cell, rules)}
    suppressed |= set(also_suppress) & set(cells)

    # Hiding more cells only removes equations, so a range found wide stays wide: each cell
    # is solved until it is wide once. Each round hides at least one more cell or ends.
    wide: set[str] = set()
    for _round in range(len(cells) + 2):
        problem = _Problem(component, suppressed - fixed)
        failing = []
        for key in sorted(suppressed - wide):
            cell_range = problem.lp_range(cells[key])
            if cell_range.width >= width - _TOLERANCE:
                wide.add(key)
            else:
                failing.append(key)
        if not failing:
            # The real-number ranges are wide; the exact whole-number ranges must be too, and
            # these are the ranges the audit records.
            ranges = {key: problem.integer_range(cells[key]) for key in sorted(suppressed)}
            failing = [key for key, r in ranges.items() if r.width < width - _TOLERANCE]
            if not failing:
                stated: dict[str, StatedRange] = {}
                if publish_ranges:
                    excluded = set(not_ranged)
                    candidates = {
                        cell.key: bounds
                        for cell in component.cells
                        if cell.key in suppressed
                        and cell.key not in fixed
                        and cell.key not in excluded
                        and (bounds := published_range(cell, rules)) is not None
                    }
                    stated, problem, ranges = _choose_ranges(
                        component, suppressed, fixed, width, candidates, problem, ranges
                    )
                public, public_ranges = _public(
                    component, suppressed - fixed, problem, ranges, stated
                )
                return ComponentProtection(
                    name=component.name,
                    published={k: v for k, v in values.items() if k not in suppressed},
                    suppressed=suppressed,
                    ranges=ranges,
                    equations=public.equation_count,
                    variables=component.size,
                    required_width=width,
                    public_ranges=public_ranges,
                    published_ranges=stated,
                )
            # A whole-number gap: give up the smallest published cell next to the first one.
            extra = _neighbour(component, suppressed | fixed, failing[0])
            if extra is None:
                return _withheld(component, rules)
            suppressed.add(extra)
            continue
        additions: set[str] = set()
        for key in failing:
            chosen = _protect_cell(component, suppressed | additions, cells[key], width, fixed)
            if chosen is None:
                return _withheld(component, rules)
            additions |= chosen
        suppressed |= additions
    return _withheld(component, rules)


def _choose_ranges(
    component: Component,
    suppressed: set[str],
    fixed: frozenset[str],
    width: int,
    candidates: Mapping[str, StatedRange],
    problem: _Problem,
    ranges: dict[str, CellRange],
) -> tuple[dict[str, StatedRange], _Problem, dict[str, CellRange]]:
    """The candidate ranges the audit allows, with the problem and ranges that prove it.

    All candidates are tried together first (usually they pass: a range says less than the
    protection width already left open). While some hidden cell would be narrower than its
    release says, the range most to blame is shown as "x" again: the last, in table order, of
    the ranges that share a variable or a relation with a cell found narrow (that cell's own
    range included), else the last of all. Each step drops one range, so this ends; with no
    range left, the audit is the one that already passed.
    """
    cells = component.by_key()
    chosen = dict(candidates)
    trial = _Problem(component, suppressed - fixed, chosen)
    found = {key: trial.integer_range(cells[key]) for key in sorted(suppressed)}
    stale: set[str] = set()  # solved before the last range was dropped
    while chosen:
        failing = [key for key, r in found.items() if not keeps_promise(r, chosen.get(key), width)]
        if not failing:
            # The audit records exact ranges: solve the stale ones with the final problem.
            for key in sorted(stale):
                found[key] = trial.integer_range(cells[key])
            return chosen, trial, found
        dropped = _most_to_blame(component, chosen, failing)
        chosen.pop(dropped)
        trial = _Problem(component, suppressed - fixed, chosen)
        # Dropping a range removes two constraints, so every range can only widen: a cell that
        # kept its promise still does. Only the failing cells and the cell now shown as "x"
        # (whose promise changed) are solved again until the choice is made.
        again = {*failing, dropped}
        stale = set(found) - again
        for key in sorted(again):
            found[key] = trial.integer_range(cells[key])
    return {}, problem, ranges


def _most_to_blame(component: Component, chosen: Mapping[str, object], failing: list[str]) -> str:
    """The last range in table order related to a failing cell, else the last range."""
    cells = component.by_key()
    variables = {index for key in failing for index, _ in cells[key].terms}
    for terms, _ in (*component.equalities, *component.inequalities):
        indexes = {index for index, _ in terms}
        if indexes & variables and len(indexes) < component.size:
            variables |= indexes
    related = [
        key
        for key in chosen
        if key in failing or {index for index, _ in cells[key].terms} & variables
    ]
    return (related or list(chosen))[-1]


def _neighbour(component: Component, suppressed: set[str], failing: str) -> str | None:
    """The smallest published cell sharing a variable or a relation with `failing`."""
    cells = component.by_key()
    related = {index for index, _ in cells[failing].terms}
    for terms, _ in component.inequalities:
        indexes = {index for index, _ in terms}
        if indexes & related:
            related |= indexes
    near = [
        cell
        for key, cell in cells.items()
        if key not in suppressed and {index for index, _ in cell.terms} & related
    ]
    if not near:
        near = [cell for key, cell in cells.items() if key not in suppressed]
    if not near:
        return None
    return min(near, key=lambda cell: (cell.value, cell.key)).key


def _withheld(component: Component, rules: DisclosureRules) -> ComponentProtection:
    """Too few reports to publish anything of this component (or nothing left to publish)."""
    return ComponentProtection(
        name=component.name,
        published={},
        suppressed={cell.key for cell in component.cells},
        ranges={},
        equations=0,
        variables=component.size,
        required_width=rules.protection_width,
        withheld=True,
    )


def audit(
    component: Component,
    published: Mapping[str, int],
    *,
    rules: DisclosureRules,
    ranges: Mapping[str, StatedRange] | None = None,
) -> ComponentProtection:
    """Recompute the exact range of every cell not in `published`, from `published` alone
    (and the published `ranges` of hidden cells, as constraints).

    Used again at publication time on the stored figures, so that what is checked is what
    readers will see, not what the generator intended.
    """
    suppressed = {cell.key for cell in component.cells if cell.key not in published}
    shown = Component(
        name=component.name,
        total=component.total,
        variable_names=list(component.variable_names),
        values=list(component.values),
        equalities=list(component.equalities),
        inequalities=list(component.inequalities),
        cells=[
            Cell(c.key, c.terms, published.get(c.key, c.value), c.complement, c.zero_sensitive)
            for c in component.cells
        ],
        derived=set(component.derived),
    )
    stated = {key: bounds for key, bounds in (ranges or {}).items() if key in suppressed}
    problem = _Problem(shown, suppressed, stated)
    found = {key: problem.integer_range(shown.by_key()[key]) for key in sorted(suppressed)}
    public, public_ranges = _public(shown, suppressed, problem, found, stated)
    return ComponentProtection(
        name=component.name,
        published=dict(published),
        suppressed=suppressed,
        ranges=found,
        equations=public.equation_count,
        variables=component.size,
        required_width=rules.protection_width,
        public_ranges=public_ranges,
        published_ranges=stated,
    )


def _public(
    component: Component,
    suppressed: set[str],
    problem: _Problem,
    ranges: Mapping[str, CellRange],
    stated: Mapping[str, StatedRange] | None = None,
) -> tuple[_Problem, dict[str, CellRange] | None]:
    """The problem and ranges a reader of the published figures and method can compute: the
    same as the protection's unless the component holds relations that only the data shows
    (then its ranges are at least as wide, so what passed still passes)."""
    if not component.derived:
        return problem, None
    public = _Problem(component.public(), suppressed, stated)
    cells = component.by_key()
    return public, {key: public.integer_range(cells[key]) for key in ranges}
