"""Small figures published as "fewer than 10" instead of "x" (issue 15, "Figures a reader can
use instead of blanks").

What an official reading a quarter with 7 reports of military coercion should see: the topic,
said as "fewer than 10", in every file of the release; and what an attacker must not gain: a
published range is a constraint the audit solves with, and no hidden figure (ranged or "x")
may come out narrower than the release says.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from incident_service.constants import Role
from incident_service.models import db
from incident_service.releases.disclosure import (
    Component,
    DisclosureRules,
    add_flags,
    add_partition,
)
from incident_service.releases.joint import JointRelease, joint_audit, refused_ranges
from incident_service.releases.lifecycle import generate_release, publish_release
from incident_service.releases.suppression import ComponentProtection, protect
from tests.release_helpers import TODAY, content, make_user
from tests.release_helpers import audit as audit_of
from tests.staff import login, make_staff
from tests.statistics_factory import insert_made, random_record

RULES = DisclosureRules(threshold=10, protection_width=10)
Q4 = ["2024-10", "2024-11", "2024-12"]


# --------------------------------------------------------------------------------------------
# A quarter with 7 reports of pressure to sign a military contract


def _seed_quarter(military: int = 7, others: int = 140, seed: int = 1515) -> None:
    """`others` reports without any military act or coercion flag, and `military` reports of
    pressure to sign a military contract (all offered one, none signed)."""
    rng = random.Random(seed)
    made = []
    for index in range(others):
        record = random_record(rng, Q4[index % 3])
        acts = [a for a in record["acts"] if not a.startswith("MIL")] or ["DET.02"]
        record["acts"] = acts
        record["values"].update(
            contract_offered=False,
            contract_signed=False,
            citizenship_promised=False,
            payment_offered=False,
        )
        made.append(record)
    for index in range(military):
        record = random_record(rng, Q4[index % 3])
        record["acts"] = ["MIL.01"]
        record["values"].update(
            contract_offered=True,
            contract_signed=False,
            citizenship_promised=False,
            payment_offered=False,
        )
        made.append(record)
    insert_made(made)


def _row(document: Mapping[str, Any], table: str, key: str) -> dict[str, Any]:
    return next(r for r in document["tables"][table]["rows"] if r["key"] == key)


def _file(release: Any, suffix: str) -> bytes:
    return next(f.content for f in release.files if f.name.endswith(suffix))


@pytest.mark.usefixtures("no_pdf_layout")
def test_does_a_quarter_with_seven_military_reports_say_fewer_than_ten(app_ctx):
    """The service's central question is not hidden: JSON, CSV, HTML in every language and
    the summary sentences say "fewer than 10" where they said "x" and "not shown"."""
    _seed_quarter()
    release = generate_release(period="2024-Q4", today=TODAY)
    document = content(release)

    # JSON: no value, a range.
    military = _row(document, "by_act", "group:MIL")
    assert military["value"] is None
    assert military["range"] == {"lower": 1, "upper": 9}
    # The coercion table hides zeros too: its range starts at 0.
    offered = _row(document, "coercion", "contract_offered")
    assert offered["value"] is None and offered["range"] == {"lower": 0, "upper": 9}
    downloaded = json.loads(_file(release, "-suppression.json"))["content"]
    assert _row(downloaded, "by_act", "group:MIL")["range"] == {"lower": 1, "upper": 9}

    # CSV: status "range" and the bounds in their own columns, tagged for HXL.
    text = _file(release, ".csv").decode()
    rows = list(csv.reader(io.StringIO(text)))
    header, tags = rows[0], rows[1]
    assert tags[header.index("reports_lower")] == "#meta+count+x_lower"
    assert tags[header.index("reports_upper")] == "#meta+count+x_upper"
    entries = [dict(zip(header, row, strict=True)) for row in rows[2:]]
    (mil,) = [
        e for e in entries if e["table"] == "by_act" and e["act_group"] == "MIL" and not e["act"]
    ]
    assert (mil["status"], mil["reports"], mil["reports_lower"], mil["reports_upper"]) == (
        "range",
        "",
        "1",
        "9",
    )
    # Ranges only for figures hidden by their own small count: every other hidden one is "x".
    for entry in entries:
        if entry["status"] == "range":
            assert entry["reports"] == "" and int(entry["reports_upper"]) == 9

    # HTML, in each language the release is written in; the summary sentences.
    english = _file(release, ".en.html").decode()
    assert (
        "The service recorded fewer than 10 reports of pressure to sign a military contract."
        in english
    )
    assert "Fewer than 10 reports described being offered a military contract." in english
    assert "A military contract was offered: not shown" not in english
    assert ">fewer than 10<" in english
    russian = _file(release, ".ru.html").decode()
    assert "Сообщений о давлении с целью заключить военный контракт: менее 10." in russian
    assert ">менее 10<" in russian
    languages = content(release)["parameters"]["languages"]
    if "tg" in languages:
        assert "камтар аз 10" in _file(release, ".tg.html").decode()


@pytest.mark.usefixtures("no_pdf_layout")
def test_are_the_ranges_constraints_of_the_stored_audit(app_ctx):
    """The audit solves with each published range as lower <= figure <= upper: its range for
    the military group is exactly 1..9 (without the range a reader could only say 0..more)."""
    _seed_quarter()
    release = generate_release(period="2024-Q4", today=TODAY)
    acts = next(c for c in audit_of(release)["components"] if c["component"] == "by_act")
    assert acts["passed"] and acts["ranged_cells"] >= 1
    (stated,) = [r for r in acts["ranges"] if r["cell"] == "by_act/group:MIL"]
    assert stated["published_range"] == {"lower": 1, "upper": 9}
    assert (stated["min"], stated["max"]) == (1, 9)


@pytest.mark.usefixtures("no_pdf_layout")
def test_does_the_release_page_in_the_app_say_fewer_than_ten(app):
    with app.app_context():
        _seed_quarter()
        release_id = generate_release(period="2024-Q4", today=TODAY).id
        account = make_staff(role=Role.SUPERVISOR)
    client = app.test_client()
    login(client, account)
    page = client.get(f"/summaries/{release_id}?lang=en").get_data(as_text=True)
    assert "fewer than 10" in page


@pytest.mark.usefixtures("no_pdf_layout")
def test_can_the_ranged_quarter_be_published(app_ctx):
    """Publication audits the stored figures again, ranges included, and accepts them."""
    _seed_quarter()
    release = generate_release(period="2024-Q4", today=TODAY)
    publish_release(release.id, actor=make_user(Role.SUPERVISOR))
    db.session.commit()
    assert release.status == "published"


# --------------------------------------------------------------------------------------------
# One component: which hidden figures get a range, and the fallback to "x"


def _partition(counts: Mapping[str, int]) -> Component:
    component = Component(name="t", total=sum(counts.values()))
    add_partition(component, leaves=dict(counts), cells={f"t/{k}": [k] for k in counts})
    return component


def test_does_a_range_that_would_narrow_another_figure_fall_back_to_x():
    """7 and 8 hidden, the rest published: a reader knows they add up to 15. As "fewer than
    10" each, either would be pinned to 6..9 — so both stay "x"."""
    protection = protect(_partition({"a": 7, "b": 8, "c": 60, "d": 55}), RULES, publish_ranges=True)
    assert {"t/a", "t/b"} <= protection.suppressed
    assert protection.published_ranges == {}
    assert protection.passed


def test_is_a_small_figure_hidden_with_a_single_partner_still_x():
    """3 is hidden with 12 (so that 3 cannot be worked out): readers know they add up to 15.
    "Fewer than 10" for the 3 would pin the 12 to 6..14, narrower than the 10 promised for an
    "x"; the range is not published, and nothing else is hidden for it."""
    protection = protect(
        _partition({"a": 3, "b": 12, "c": 60, "d": 55}), RULES, publish_ranges=True
    )
    assert protection.suppressed == {"t/a", "t/b"}
    assert protection.published_ranges == {}


def test_are_small_figures_hidden_with_a_large_one_published_as_ranges():
    """3 and 4 hidden with 55: each can be "fewer than 10", and 55 (an "x") still ranges
    over 44..60."""
    protection = protect(_partition({"a": 3, "b": 4, "c": 60, "d": 55}), RULES, publish_ranges=True)
    assert protection.published_ranges == {"t/a": (1, 9), "t/b": (1, 9)}
    assert "t/d" in protection.suppressed and "t/d" not in protection.published_ranges
    assert protection.ranges["t/d"].width >= 10
    assert (protection.ranges["t/a"].low, protection.ranges["t/a"].high) == (1, 9)
    assert protection.passed


def test_does_a_figure_with_a_small_complement_stay_x():
    """Flags: 5 of 14 reports say yes; the 9 without are small too — "fewer than 10" would
    say how many lack it."""
    component = Component(name="f", total=14)
    add_flags(component, flags={"f/yes": 5, "f/other": 0})
    protection = protect(component, RULES, publish_ranges=True)
    assert "f/yes" in protection.suppressed
    assert "f/yes" not in protection.published_ranges


def test_is_a_hidden_zero_of_a_zero_sensitive_table_a_range_from_zero():
    component = Component(name="f", total=40)
    add_flags(component, flags={"f/a": 0, "f/b": 4, "f/c": 20}, zero_sensitive=True)
    protection = protect(component, RULES, publish_ranges=True)
    assert protection.published_ranges.get("f/a") == (0, 9)
    assert protection.published_ranges.get("f/b") == (0, 9)
    assert protection.passed


# --------------------------------------------------------------------------------------------
# Properties: random months, random publication orders, an independent integer program


LEAVES = ("a", "b", "c", "d")
MONTHS = ("m1", "m2", "m3")
PERIODS = {"Q": MONTHS, "m1": ("m1",), "m2": ("m2",), "m3": ("m3",)}


def _release(
    label: str, atoms: Sequence[str], protection: ComponentProtection, total: int, new: bool
) -> JointRelease:
    if protection.withheld:
        return JointRelease(label, frozenset(atoms), {}, None, new)
    values: dict[str, int | None] = {
        f"t/{leaf}": protection.published.get(f"t/{leaf}") for leaf in LEAVES
    }
    return JointRelease(
        label, frozenset(atoms), values, total, new, dict(protection.published_ranges)
    )


def _publish(
    label: str,
    months: Mapping[str, Mapping[str, int]],
    published: list[JointRelease],
) -> JointRelease | None:
    """What the service does for one table: protect alone, hide what the joint audit asks
    (without the new ranges), then drop the ranges the joint audit refuses. None: refused."""
    atoms = PERIODS[label]
    union = {leaf: sum(months[m][leaf] for m in atoms) for leaf in LEAVES}
    structure = {"t": _partition({k: sum(months[m][k] for m in MONTHS) for k in LEAVES})}
    per_atom = {m: {"t": _partition({k: months[m][k] for k in LEAVES})} for m in MONTHS}
    total = sum(union.values())
    hide: set[str] = set()
    not_ranged: set[str] = set()
    for _round in range(10):
        protection = protect(
            _partition(union), RULES, also_suppress=hide, publish_ranges=True, not_ranged=not_ranged
        )
        new = _release(label, atoms, protection, total, True)
        if new.total is None:
            return new
        result = joint_audit(
            new=new.without_ranges(),
            published=published,
            structure=structure,
            per_atom=per_atom,
            rules=RULES,
        )
        if result.unprotectable:
            return None
        if not result.to_hide <= hide:
            hide |= result.to_hide
            continue
        refused = refused_ranges(
            new=new, published=published, structure=structure, per_atom=per_atom, rules=RULES
        )
        if not refused:
            return new
        not_ranged |= refused
    return None


class Official:
    """The official's own integer program: a whole number per month and answer, every
    published figure an equation, every published range two inequalities."""

    def __init__(self, releases: Sequence[JointRelease]) -> None:
        self.index = {(m, leaf): i for i, (m, leaf) in enumerate(itertools.product(MONTHS, LEAVES))}
        rows: list[tuple[dict[int, float], float, float]] = []
        for release in releases:
            if release.total is None:
                continue
            every = {self.index[(m, k)]: 1.0 for m in release.atoms for k in LEAVES}
            rows.append((every, release.total, release.total))
            for leaf in LEAVES:
                terms = {self.index[(m, leaf)]: 1.0 for m in release.atoms}
                value = release.values.get(f"t/{leaf}")
                if value is not None:
                    rows.append((terms, value, value))
                elif f"t/{leaf}" in release.ranges:
                    lower, upper = release.ranges[f"t/{leaf}"]
                    rows.append((terms, lower, upper))
        self.matrix = np.zeros((max(len(rows), 1), len(self.index)))
        self.lows = [low for _, low, _ in rows] or [0.0]
        self.highs = [high for _, _, high in rows] or [np.inf]
        for r, (terms, _low, _high) in enumerate(rows):
            for c, v in terms.items():
                self.matrix[r, c] = v

    def range(self, atoms: Sequence[str], leaf: str) -> tuple[float, float]:
        """The least and the most the figure of `leaf` over `atoms` can be."""
        ends = []
        for sign in (1.0, -1.0):
            objective = np.zeros(len(self.index))
            for m in atoms:
                objective[self.index[(m, leaf)]] = sign
            result = milp(
                objective,
                constraints=LinearConstraint(self.matrix, self.lows, self.highs),
                integrality=np.ones(len(self.index)),
                bounds=Bounds(0, 1000),
            )
            assert result.status == 0, result.message
            ends.append(sign * result.fun)
        return ends[0], ends[1]


small = st.integers(min_value=0, max_value=14)
month_counts = st.fixed_dictionaries(
    {"a": small, "b": small, "c": st.integers(0, 40), "d": st.integers(10, 60)}
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    months=st.fixed_dictionaries({m: month_counts for m in MONTHS}),
    order=st.permutations(list(PERIODS)).flatmap(
        lambda labels: st.integers(2, 4).map(lambda n: labels[:n])
    ),
)
def test_no_order_of_releases_narrows_a_figure_below_what_its_release_says(months, order):
    """Random months, a random order of the quarter and its months. After each publication,
    solved by the official's own integer program: every published range holds the true
    figure and the solver reaches both its ends; no "x" figure of any release is narrower than
    the protection width — or, where the releases published before already made it narrower
    (the joint audit's rule, as before ranges), narrower than it already was."""
    published: list[JointRelease] = []
    widths: dict[tuple[str, str], float] = {}
    for label in order:
        release = _publish(label, months, published)
        if release is None:
            continue
        before = Official(published)
        published.append(JointRelease(**{**release.__dict__, "new": False}))
        after = Official(published)
        for leaf in LEAVES:
            if release.total is not None and release.values.get(f"t/{leaf}") is None:
                low, high = before.range(release.atoms, leaf)
                widths[(label, leaf)] = high - low
        for held in published:
            for leaf in LEAVES:
                if held.total is None or held.values.get(f"t/{leaf}") is not None:
                    continue
                low, high = after.range(held.atoms, leaf)
                stated = held.ranges.get(f"t/{leaf}")
                if stated is not None:
                    true = sum(months[m][leaf] for m in held.atoms)
                    assert stated[0] <= true <= stated[1]
                    assert (low, high) == stated, (label, held.label, leaf)
                    continue
                least = min(float(RULES.protection_width), widths[(held.label, leaf)])
                assert high - low >= least, (label, held.label, leaf)
                widths[(held.label, leaf)] = high - low
