"""Disclosure control: can anyone narrow down a suppressed figure from what a release publishes?

The checks here do not trust the implementation's own audit. For every random table, the
attacker's problem is rebuilt from scratch over every possible pattern of answers one report can
have (all combinations of categories, all sets of ticked answers), with one unknown count per
pattern, and solved as an integer program: the smallest and largest value each suppressed cell
can take given every published figure. That formulation is larger and simpler than the compact
one in `releases/suppression.py`, so agreement is evidence that both are right.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from incident_service.releases.disclosure import (
    Component,
    DisclosureRules,
    add_flags,
    add_multi_response,
    add_partition,
)
from incident_service.releases.suppression import audit, protect

RULES = DisclosureRules(threshold=10, protection_width=10)
Pattern = tuple[object, ...]

# Counts per pattern: mostly small, so that tables have many cells below the threshold.
small_counts = st.integers(min_value=0, max_value=14) | st.integers(min_value=0, max_value=60)


def attacker_range(
    patterns: Sequence[Pattern],
    counts: Sequence[int],
    cells: dict[str, Callable[[Pattern], bool]],
    published: dict[str, int],
    target: str,
) -> tuple[float, float]:
    """Exact range of `target` over whole-number counts per pattern, knowing the total and
    every published cell. Written independently of the implementation under test."""
    n = len(patterns)
    rows = [np.ones(n)]
    rhs = [float(sum(counts))]
    for key, value in published.items():
        rows.append(np.array([1.0 if cells[key](p) else 0.0 for p in patterns]))
        rhs.append(float(value))
    matrix = np.vstack(rows)
    objective = np.array([1.0 if cells[target](p) else 0.0 for p in patterns])
    constraint = LinearConstraint(matrix, np.array(rhs), np.array(rhs))
    low = milp(objective, constraints=[constraint], integrality=np.ones(n), bounds=Bounds(0))
    high = milp(-objective, constraints=[constraint], integrality=np.ones(n), bounds=Bounds(0))
    assert low.status == 0 and high.status == 0, "the published figures must be consistent"
    return float(low.fun), float(-high.fun)


def true_value(
    patterns: Sequence[Pattern], counts: Sequence[int], predicate: Callable[[Pattern], bool]
) -> int:
    return sum(c for p, c in zip(patterns, counts, strict=True) if predicate(p))


def check_release_of_component(
    component: Component,
    patterns: Sequence[Pattern],
    counts: Sequence[int],
    cells: dict[str, Callable[[Pattern], bool]],
) -> None:
    protection = protect(component, RULES)
    published = protection.published
    total = sum(counts)
    assert protection.passed
    if protection.withheld:
        assert total < RULES.threshold or not published
        return
    # No published figure below the threshold, and none whose complement is.
    for key, value in published.items():
        assert value == true_value(patterns, counts, cells[key]), "figures must be true"
        assert not 0 < value < RULES.threshold, f"{key}={value} published below the threshold"
        complement = component.by_key()[key].complement
        if complement is not None:
            assert not 0 < complement < RULES.threshold, f"{key} leaves {complement} derivable"
    # No suppressed figure can be narrowed to less than the protection width.
    for key in protection.suppressed:
        low, high = attacker_range(patterns, counts, cells, published, key)
        assert high - low >= RULES.protection_width - 1e-6, (
            f"{key} is pinned to [{low}, {high}] by the published figures"
        )


# --------------------------------------------------------------------------------------------
# Cross-tables with all their margins (the classic case for secondary suppression)


@st.composite
def cubes(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    shape = draw(
        st.lists(st.integers(min_value=2, max_value=4), min_size=2, max_size=3).filter(
            lambda s: int(np.prod(s)) <= 36
        )
    )
    counts = draw(
        st.lists(small_counts, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))
    )
    return shape, counts


def margin_cells(shape: Sequence[int]) -> dict[str, Callable[[Pattern], bool]]:
    """Every cell of every margin of the cube: fix some dimensions, sum over the others."""
    cells: dict[str, Callable[[Pattern], bool]] = {}
    dims = range(len(shape))
    for size in range(1, len(shape) + 1):
        for fixed in itertools.combinations(dims, size):
            for values in itertools.product(*(range(shape[d]) for d in fixed)):
                key = "/".join(f"d{d}={v}" for d, v in zip(fixed, values, strict=True))
                cells[key] = lambda p, fixed=fixed, values=values: all(
                    p[d] == v for d, v in zip(fixed, values, strict=True)
                )
    return cells


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes())
def test_can_any_suppressed_cell_of_a_cross_table_be_recomputed_from_its_margins(cube):
    """Can a reader recover a suppressed cell of a 2- or 3-way table from rows, columns and
    layers that are published?"""
    shape, counts = cube
    patterns: list[Pattern] = list(itertools.product(*(range(s) for s in shape)))
    cells = margin_cells(shape)
    component = Component(name="cube", total=sum(counts))
    leaves = {"|".join(map(str, p)): c for p, c in zip(patterns, counts, strict=True)}
    add_partition(
        component,
        leaves=leaves,
        cells={
            key: ["|".join(map(str, p)) for p in patterns if predicate(p)]
            for key, predicate in cells.items()
        },
    )
    check_release_of_component(component, patterns, counts, cells)


# --------------------------------------------------------------------------------------------
# A question where several answers may be ticked, answers grouped (like acts in act groups)

GROUPS = {"G1": ["a", "b"], "G2": ["c"], "G3": ["d", "e", "f"]}
CODES = [code for codes in GROUPS.values() for code in codes]
SUBSETS: list[Pattern] = [
    tuple(s) for r in range(1, len(CODES) + 1) for s in itertools.combinations(CODES, r)
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(range(len(SUBSETS))), small_counts), min_size=1, max_size=12)
)
def test_can_a_suppressed_act_be_recovered_from_its_group_and_the_other_acts(draws):
    """Can a reader recover a suppressed act count from act-group totals, other acts and the
    rule that every report names at least one act?"""
    counts = [0] * len(SUBSETS)
    for index, count in draws:
        counts[index] += count
    code_counts = {code: true_value(SUBSETS, counts, lambda p, c=code: c in p) for code in CODES}
    group_counts = {
        group: true_value(SUBSETS, counts, lambda p, cs=codes: bool(set(p) & set(cs)))
        for group, codes in GROUPS.items()
    }
    component = Component(name="acts", total=sum(counts))
    add_multi_response(
        component,
        prefix="acts",
        groups=GROUPS,
        code_counts=code_counts,
        group_counts=group_counts,
        none_count=0,
        publish_groups=True,
        none_key=None,
        at_least_one=True,
    )
    cells: dict[str, Callable[[Pattern], bool]] = {
        f"acts/{code}": (lambda p, c=code: c in p) for code in CODES
    }
    cells |= {
        f"acts/group:{group}": (lambda p, cs=codes: bool(set(p) & set(cs)))
        for group, codes in GROUPS.items()
    }
    check_release_of_component(component, SUBSETS, counts, cells)


# --------------------------------------------------------------------------------------------
# Yes/no flags where one implies another (signed a contract => was offered one)

FLAG_PATTERNS: list[Pattern] = [
    (offered, signed, promised)
    for offered, signed, promised in itertools.product((0, 1), repeat=3)
    if offered or not signed
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(small_counts, min_size=len(FLAG_PATTERNS), max_size=len(FLAG_PATTERNS)))
def test_can_a_suppressed_flag_be_bounded_through_an_implication(counts):
    """Knowing that everyone who signed was offered a contract, can a reader pin down a
    suppressed number of signatures?"""
    names = ["offered", "signed", "promised"]
    cells: dict[str, Callable[[Pattern], bool]] = {
        name: (lambda p, i=i: bool(p[i])) for i, name in enumerate(names)
    }
    component = Component(name="coercion", total=sum(counts))
    add_flags(
        component,
        flags={name: true_value(FLAG_PATTERNS, counts, cells[name]) for name in names},
        implications=[("signed", "offered")],
        zero_sensitive=True,
    )
    check_release_of_component(component, FLAG_PATTERNS, counts, cells)


# --------------------------------------------------------------------------------------------
# Worked examples a reviewer can follow by hand


def test_is_a_lone_small_cell_hidden_together_with_a_partner():
    """With 3 reports in one region and 40 in the other, hiding only the 3 would leave it as
    total minus 40; is a second cell hidden so that the 3 cannot be recomputed?"""
    component = Component(name="regions", total=43)
    add_partition(
        component,
        leaves={"A": 3, "B": 40},
        cells={"A": ["A"], "B": ["B"]},
    )
    protection = protect(component, RULES)
    assert protection.suppressed == {"A", "B"}
    assert protection.ranges["A"].low == 0 and protection.ranges["A"].high == 43


def test_does_the_audit_catch_a_cell_recomputable_from_its_row_total():
    """If only the small cell were suppressed, would the audit report its range as a point?"""
    component = Component(name="regions", total=43)
    add_partition(component, leaves={"A": 3, "B": 40}, cells={"A": ["A"], "B": ["B"]})
    naive = audit(component, {"B": 40}, rules=RULES)
    assert not naive.passed
    assert naive.ranges["A"].low == naive.ranges["A"].high == 3


def test_is_a_table_of_fewer_reports_than_the_threshold_withheld_whole():
    """With 7 reports in all, is nothing of the table published?"""
    component = Component(name="regions", total=7)
    add_partition(component, leaves={"A": 7, "B": 0}, cells={"A": ["A"], "B": ["B"]})
    protection = protect(component, RULES)
    assert protection.withheld and protection.published == {}


def test_does_a_zero_stay_published_unless_zeros_are_configured_as_telling():
    """Is "0 signed" shown by default but hidden where zeros are configured as disclosive?"""
    for zero_sensitive, expect_hidden in ((False, False), (True, True)):
        component = Component(name="coercion", total=40)
        add_flags(component, flags={"signed": 0, "offered": 25}, zero_sensitive=zero_sensitive)
        protection = protect(component, RULES)
        assert ("signed" in protection.suppressed) is expect_hidden


@pytest.mark.parametrize("threshold", [3, 10, 20])
def test_does_the_threshold_parameter_change_what_counts_as_small(threshold):
    """Is a cell of 5 published under a threshold of 3 and hidden under 10 or 20?"""
    rules = DisclosureRules(threshold=threshold, protection_width=threshold)
    component = Component(name="t", total=60)
    add_partition(component, leaves={"A": 5, "B": 55}, cells={"A": ["A"], "B": ["B"]})
    protection = protect(component, rules)
    assert ("A" in protection.published) is (threshold <= 5)
