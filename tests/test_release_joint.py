"""The joint audit on its own: a quarter, one of its months and a new month, one table.

Without a database: components are built by hand, as `tables` builds them, and releases are
the figures readers hold."""

from __future__ import annotations

import pytest

from incident_service.releases.disclosure import Component, DisclosureRules, add_partition
from incident_service.releases.joint import JointAuditRefused, JointRelease, joint_audit

RULES = DisclosureRules(threshold=10, protection_width=10)
# Reports by answer ("a" or "b") in each month of a quarter.
MONTHS = {"m1": {"a": 4, "b": 20}, "m2": {"a": 15, "b": 30}, "m3": {"a": 12, "b": 31}}


def component(counts: dict[str, int]) -> Component:
    built = Component(name="t", total=sum(counts.values()))
    add_partition(built, leaves=counts, cells={f"t/{k}": [k] for k in counts})
    return built


def release(
    label: str, atoms: list[str], shown: dict[str, dict[str, int]], **kw: object
) -> JointRelease:
    values: dict[str, int | None] = {}
    for key in ("a", "b"):
        values[f"t/{key}"] = sum(shown[m][key] for m in atoms)
    total = sum(sum(shown[m].values()) for m in atoms)
    return JointRelease(label, frozenset(atoms), values, total, **kw)  # type: ignore[arg-type]


def inputs(
    months: dict[str, dict[str, int]],
) -> tuple[dict[str, Component], dict[str, dict[str, Component]]]:
    union = {key: sum(m[key] for m in months.values()) for key in ("a", "b")}
    return {"t": component(union)}, {m: {"t": component(c)} for m, c in months.items()}


def test_a_month_that_would_pin_an_unpublished_months_small_figure_hides_it():
    """The quarter and m2 are published; m3 showing "a" = 12 would make m1's "a" exactly 4."""
    structure, per_atom = inputs(MONTHS)
    quarter = release("Q", ["m1", "m2", "m3"], MONTHS)
    m2 = release("m2", ["m2"], MONTHS)
    new = release("m3", ["m3"], MONTHS, new=True)
    result = joint_audit(
        new=new, published=[quarter, m2], structure=structure, per_atom=per_atom, rules=RULES
    )
    # "b" too: m3's total is published, so "a" alone would still be the total minus "b".
    assert result.to_hide == {"t/a", "t/b"}
    assert result.compared_with == ["Q", "m2"]


def test_a_month_with_nothing_to_add_passes():
    """Without the quarter, m3 next to m2 tells nothing about m1."""
    structure, per_atom = inputs(MONTHS)
    m2 = release("m2", ["m2"], MONTHS)
    new = release("m3", ["m3"], MONTHS, new=True)
    result = joint_audit(
        new=new, published=[m2], structure=structure, per_atom=per_atom, rules=RULES
    )
    assert result.passed


def test_a_published_month_whose_figures_changed_refuses_its_quarter():
    """m2 was published with 45 reports; three were withdrawn since. The quarter would show m2
    three smaller: refused, naming m2."""
    published_then = {**MONTHS, "m2": {"a": 15, "b": 33}}
    structure, per_atom = inputs(MONTHS)
    m2 = release("m2", ["m2"], published_then)
    new = release("Q", ["m1", "m2", "m3"], MONTHS, new=True)
    with pytest.raises(JointAuditRefused, match="m2 was published with figures that have changed"):
        joint_audit(new=new, published=[m2], structure=structure, per_atom=per_atom, rules=RULES)
    # A month that nothing published ties to m2 is not refused.
    other = release("m3", ["m3"], MONTHS, new=True)
    assert joint_audit(
        new=other, published=[m2], structure=structure, per_atom=per_atom, rules=RULES
    ).passed
