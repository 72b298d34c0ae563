"""Attack: an official solves every release they were given as one integer program.

Promise (design §6, issue 15 "Protection across every set of published releases"): from any
set of published releases — a quarter, then its months, then the year, in any order — no
figure a release hides can be narrowed to fewer than the protection width (10) of possible
values, and no figure of a period that was never published (the quarter minus its published
months) can be pinned between 1 and 9.

The official's script, written here from the published JSON files only (not the service's
audit code): every month of the releases is a set of unknown whole numbers, one per row of
every table, with its own unknown number of reports; every figure a release publishes says
that the sum of its months' unknowns is that figure, and everything the form makes obvious
holds in each month (a one-answer table adds up to the month's reports; a several-answer row
is at most the reports, an act at most its group and a group at most its acts; "no answer"
plus any answer is at most the reports; a group-size band's reports carry between its least
and its most persons). Late reports and withdrawals are one more part, of unknown size, in the
releases made after them. A figure published as a range ("fewer than 10") is two
inequalities, lower <= sum <= upper. Then, for each hidden figure, the least and the most it
can be, by `scipy.optimize.milp`: a ranged figure must still reach both ends of its range, an
"x" figure must range over the protection width (unless the published ranges alone make it
narrower: a month of a quarter that says "fewer than 10" has fewer than 10 itself).

The six orders of the issue's cases 1–6 are played with a few hundred synthetic records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from incident_service.constants import Role
from incident_service.models import StatisticalRecord, db
from incident_service.releases.errors import ReleaseError
from incident_service.releases.lifecycle import generate_release, list_releases, publish_release
from tests.release_helpers import TODAY, make_user
from tests.statistics_factory import insert_made, random_record

pytestmark = pytest.mark.usefixtures("no_pdf_layout")

WIDTH = 10
THRESHOLD = 10
# "No one signed" tells on everyone who was asked: zeros there are hidden too.
ZERO_SENSITIVE = {"coercion"}
# Persons a report of each group-size band can stand for (the form's bands, top-coded at 50).
BANDS = {"1": (1, 1), "2-5": (2, 5), "6-10": (6, 10), "11-30": (11, 30), "31+": (31, 50)}


# --------------------------------------------------------------------------------------------
# What the official holds


@dataclass
class Held:
    label: str
    parts: frozenset[str]
    document: dict[str, Any]


def downloads(extra_parts: Mapping[str, Iterable[str]] | None = None) -> list[Held]:
    """Every published release's JSON document, with the parts (months, and the late or
    withdrawn reports the test says it includes) it is made of."""
    extra = dict(extra_parts or {})
    held = []
    for release in list_releases(include_drafts=False):
        stored = next(
            f for f in release.files if f.name.endswith(".json") and "audit" not in f.name
        )
        document = json.loads(stored.content)["content"]
        label = document["period"]["label"]
        parts = set(document["period"]["record_months"]) | set(extra.get(label, ()))
        held.append(Held(label, frozenset(parts), document))
    return held


# --------------------------------------------------------------------------------------------
# The official's integer program, one table at a time


@dataclass
class Program:
    columns: dict[tuple[str, str], int] = field(default_factory=dict)
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)
    _built: tuple[int, int, LinearConstraint] | None = None

    def var(self, part: str, name: str) -> int:
        return self.columns.setdefault((part, name), len(self.columns))

    def add(self, terms: Mapping[int, float], low: float, high: float) -> None:
        self.rows.append((dict(terms), low, high))

    def _constraint(self) -> LinearConstraint:
        """The rows as one sparse matrix, built again only after rows or unknowns were added
        (a program is solved for hundreds of figures between changes)."""
        shape = (len(self.rows), len(self.columns))
        if self._built is not None and self._built[:2] == shape:
            return self._built[2]
        entries: dict[tuple[int, int], float] = {}
        for r, (row, _, _) in enumerate(self.rows):
            for c, v in row.items():
                entries[(r, c)] = entries.get((r, c), 0.0) + v
        matrix = coo_array(
            (list(entries.values()), ([r for r, _ in entries], [c for _, c in entries])),
            shape=shape,
        ).tocsr()
        constraint = LinearConstraint(
            matrix, [low for _, low, _ in self.rows], [high for _, _, high in self.rows]
        )
        self._built = (*shape, constraint)
        return constraint

    def solve_range(self, terms: Mapping[int, float]) -> tuple[float, float]:
        n = len(self.columns)
        constraint = self._constraint()
        found = []
        for sign in (1.0, -1.0):
            objective = np.zeros(n)
            for c, v in terms.items():
                objective[c] += sign * v
            result = milp(
                objective,
                constraints=constraint,
                integrality=np.ones(n),
                bounds=Bounds(0, np.inf),
                options={"time_limit": 30},
            )
            if result.status == 3:  # unbounded
                found.append(-sign * np.inf)
                continue
            assert result.status == 0, result.message
            found.append(sign * result.fun)
        return found[0], found[1]


def _table_shape(document: Mapping[str, Any], table_id: str) -> dict[str, Any] | None:
    table = document.get("tables", {}).get(table_id)
    return None if table is None or table.get("withheld") else table


def _rows(held: Sequence[Held], table_id: str) -> list[dict[str, Any]]:
    for item in held:
        table = _table_shape(item.document, table_id)
        if table is not None:
            return list(table["rows"])
    return []


def _obvious_rules(
    program: Program, part: str, table_id: str, rows: list[dict[str, Any]], multi: bool
) -> None:
    """What the reporting form makes obvious, for one part of one table."""
    total = program.var(part, "reports")
    cell = {row["key"]: program.var(part, row["key"]) for row in rows}
    levels = [row["level"] for row in rows]
    for row in rows:
        program.add({cell[row["key"]]: 1.0, total: -1.0}, -np.inf, 0)
    if table_id == "by_month":
        return
    if not multi and all(level == 0 for level in levels):
        program.add({**{c: 1.0 for c in cell.values()}, total: -1.0}, 0, 0)
    # A row is at most its parent (an act its group, a region its district) and, in a
    # several-answer table, a parent at most the sum of its children.
    for i, row in enumerate(rows):
        children = []
        for later in rows[i + 1 :]:
            if later["level"] <= row["level"]:
                break
            if later["level"] == row["level"] + 1:
                children.append(later["key"])
        for child in children:
            program.add({cell[child]: 1.0, cell[row["key"]]: -1.0}, -np.inf, 0)
        if children:
            sign = {cell[c]: 1.0 for c in children}
            sign[cell[row["key"]]] = sign.get(cell[row["key"]], 0.0) - 1.0
            if multi:
                program.add(sign, 0, np.inf)
            else:
                program.add(sign, -np.inf, 0)
    if multi and "-" in cell:
        for key, c in cell.items():
            if key != "-":
                program.add({c: 1.0, cell["-"]: 1.0, total: -1.0}, -np.inf, 0)
    if table_id == "by_group_size":
        for band, c in cell.items():
            low, high = BANDS.get(band, (1, 50))
            persons = program.var(part, f"persons:{band}")
            program.add({persons: 1.0, c: -float(low)}, 0, np.inf)
            program.add({persons: 1.0, c: -float(high)}, -np.inf, 0)


def _sum(program: Program, parts: Iterable[str], name: str) -> dict[int, float]:
    return {program.var(part, name): 1.0 for part in parts}


def _persons(program: Program, parts: Iterable[str], bands: Iterable[str]) -> dict[int, float]:
    return {program.var(p, f"persons:{b}"): 1.0 for p in parts for b in bands}


def findings(
    held: Sequence[Held], extra_parts_to_check: Sequence[frozenset[str]] = ()
) -> list[str]:
    """Every hidden figure narrower than the protection width, and every figure of a part never
    published that is pinned between 1 and threshold - 1."""
    found: list[str] = []
    table_ids = sorted({t for item in held for t in item.document.get("tables", {})})
    held_parts = frozenset().union(*(h.parts for h in held))
    remainders = [part for part in extra_parts_to_check if part <= held_parts]
    for container in held:
        inside = [h for h in held if h.parts < container.parts]
        largest = [h for h in inside if not any(h.parts < o.parts for o in inside)]
        rest = container.parts - frozenset().union(*(h.parts for h in largest))
        if largest and rest:
            remainders.append(rest)
    for table_id in table_ids:
        rows = _rows(held, table_id)
        if not rows:
            continue
        multi = any((_table_shape(h.document, table_id) or {}).get("multi", False) for h in held)
        program = Program()
        # The same unknowns with only what the form makes obvious and the published ranges:
        # how narrow the ranges alone make each figure.
        alone = Program()
        every_part = sorted(frozenset().union(*(h.parts for h in held)))
        for part in every_part:
            _obvious_rules(program, part, table_id, rows, multi)
            _obvious_rules(alone, part, table_id, rows, multi)
        bands = [row["key"] for row in rows]
        targets: list[tuple[str, dict[int, float], bool]] = []
        stated: dict[str, tuple[int, int]] = {}
        for item in held:
            document = item.document
            if document.get("status") != "ok":
                continue
            program.add(
                _sum(program, item.parts, "reports"), document["reports"], document["reports"]
            )
            months = _table_shape(document, "by_month")
            for row in months["rows"] if months else []:
                if row["value"] is not None:
                    program.add(_sum(program, [row["key"]], "reports"), row["value"], row["value"])
                elif row.get("range"):
                    low, high = row["range"]["lower"], row["range"]["upper"]
                    program.add(_sum(program, [row["key"]], "reports"), low, high)
                    alone.add(_sum(alone, [row["key"]], "reports"), low, high)
            if table_id == "by_group_size":
                persons = document.get("persons_affected")
                terms = _persons(program, item.parts, bands)
                if persons is None:
                    targets.append((f"{item.label} persons affected", terms, True))
                else:
                    program.add(terms, persons, persons)
            table = _table_shape(document, table_id)
            if table is None:
                continue
            for row in table["rows"]:
                terms = _sum(program, item.parts, row["key"])
                name = f"{item.label} {table_id}/{row['key']}"
                if row["value"] is None:
                    targets.append((name, terms, True))
                    if row.get("range"):
                        low, high = row["range"]["lower"], row["range"]["upper"]
                        program.add(terms, low, high)
                        alone.add(_sum(alone, item.parts, row["key"]), low, high)
                        stated[name] = (low, high)
                else:
                    program.add(terms, row["value"], row["value"])
        for rest in remainders:
            name = "+".join(sorted(rest))
            targets.append((f"{name} reports", _sum(program, rest, "reports"), False))
            if (
                table_id in ZERO_SENSITIVE
                and program.solve_range(_sum(program, rest, "reports"))[0] < 1
            ):
                continue  # a part that may hold no reports: its zeros tell on nobody
            for row in rows:
                targets.append(
                    (f"{name} {table_id}/{row['key']}", _sum(program, rest, row["key"]), False)
                )
        named = {index: key for key, index in program.columns.items()}
        for name, terms, hidden in targets:
            low, high = program.solve_range(terms)
            if name in stated:
                lower, upper = stated[name]
                if low > lower or high < upper:
                    found.append(f"{name}: [{low:.0f}, {high:.0f}] (published {lower}-{upper})")
                continue
            if hidden and high - low < WIDTH:
                least, most = (
                    alone.solve_range({alone.var(*named[i]): v for i, v in terms.items()})
                    if stated
                    else (0.0, np.inf)
                )
                if high - low < most - least:
                    found.append(f"{name}: [{low:.0f}, {high:.0f}]")
            elif not hidden and low >= 1 and high < THRESHOLD:
                found.append(f"{name}: [{low:.0f}, {high:.0f}] (never published)")
            elif not hidden and table_id in ZERO_SENSITIVE and high == 0 and "/" in name:
                found.append(f"{name}: 0 in a table where zeros tell (never published)")
    return sorted(set(found))


# --------------------------------------------------------------------------------------------
# Publishing, as the service's supervisor would


def publish_in_order(labels: Sequence[str]) -> dict[str, str]:
    """Generate and publish each period in turn; returns the refusals (label → reason)."""
    supervisor = make_user(Role.SUPERVISOR)
    refused: dict[str, str] = {}
    for label in labels:
        try:
            release = generate_release(period=label, today=TODAY)
            publish_release(release.id, actor=supervisor)
            db.session.commit()
        except ReleaseError as exc:
            db.session.rollback()
            refused[label] = str(exc)
    return refused


def spread(counts: Mapping[str, int], seed: int, **fixed: Any) -> None:
    import random

    rng = random.Random(seed)
    made = [random_record(rng, month, **fixed) for month, n in counts.items() for _ in range(n)]
    insert_made(made)


# --------------------------------------------------------------------------------------------
# The cases


def test_quarter_first_then_two_of_its_months(app_ctx):
    """Case 1: 2024-Q3, then August and September; July is never published."""
    spread({"2024-07": 60, "2024-08": 150, "2024-09": 140}, seed=1501)
    refused = publish_in_order(["2024-Q3", "2024-08", "2024-09"])
    assert findings(downloads()) == []
    if "2024-09" not in refused:
        # The audit stored with September names the releases it was solved with.
        (september,) = [r for r in list_releases(include_drafts=False) if r.period == "2024-09"]
        joint = json.loads(september.disclosure_audit)["joint"]
        assert joint["audited_with"] == ["2024-08", "2024-Q3"]


def test_year_and_quarter_first_then_months_with_an_empty_month(app_ctx):
    """Case 2: 2024, 2024-Q4, then December and November; October has no reports (the
    quarter's month table shows 0), so November is the quarter minus December."""
    months = {f"2024-{m:02d}": 25 for m in range(1, 10)}
    spread({**months, "2024-11": 46, "2024-12": 160}, seed=1502)
    publish_in_order(["2024", "2024-Q4", "2024-12", "2024-11"])
    assert findings(downloads()) == []


def test_year_against_its_quarter_with_year_only_reports(app_ctx):
    """Case 3: reports of one quarter, and 17 whose reporters knew only the year."""
    spread({"2024-04": 120, "2024-05": 110, "2024-06": 100, "2024": 17}, seed=1503)
    publish_in_order(["2024-Q2", "2024"])
    assert findings(downloads()) == []


def test_quarter_before_its_months(app_ctx):
    """Case 4: the quarter, then each of its months."""
    spread({"2024-10": 70, "2024-11": 90, "2024-12": 80}, seed=1504)
    publish_in_order(["2024-Q4", "2024-10", "2024-11", "2024-12"])
    assert findings(downloads()) == []


def test_late_reports_then_the_year(app_ctx):
    """Case 5: the four quarters are published, 14 late reports arrive, then the year."""
    spread({f"2024-{m:02d}": 26 for m in range(1, 13)}, seed=1505)
    spread(
        {f"2024-{m:02d}": 4 for m in range(1, 13)},
        seed=1525,
        contract_offered=True,
        payment_offered=True,
    )
    publish_in_order(["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"])
    spread({"2024-03": 5, "2024-07": 4, "2024-11": 5}, seed=1515, payment_offered=False)
    refused = publish_in_order(["2024"])
    # The official's program: the year holds one more part, the late reports, of unknown size.
    held = downloads(extra_parts={"2024": ["late"]})
    assert findings(held, [frozenset({"late"})]) == []
    if refused:
        assert "2024-Q1" in refused["2024"] and "changed" in refused["2024"]


def test_withdrawals_between_a_month_and_its_quarter(app_ctx):
    """Case 6: October is published, three of its reports are withdrawn, then the quarter.
    The quarter would show October three reports smaller: who withdrew is then a figure of 3."""
    spread({"2024-10": 80, "2024-11": 60, "2024-12": 70}, seed=1506)
    publish_in_order(["2024-10"])
    withdrawn = db.session.scalars(
        sa.select(StatisticalRecord).where(StatisticalRecord.month == "2024-10").limit(3)
    ).all()
    for record in withdrawn:
        db.session.delete(record)
    db.session.commit()
    refused = publish_in_order(["2024-Q4"])
    # October as published holds the three withdrawn reports; the quarter does not.
    held = downloads(extra_parts={"2024-10": ["withdrawn"]})
    assert findings(held, [frozenset({"withdrawn"})]) == []
    assert "2024-Q4" in refused
    assert "2024-10" in refused["2024-Q4"] and "changed" in refused["2024-Q4"]
    # A month that no published release ties to October can still be published.
    assert publish_in_order(["2024-12"]) == {}


def test_the_stored_audit_says_no_more_than_the_figures(app_ctx):
    """Case 8: in March no report with children lacks women. The audit published with the
    release may state only what a reader can work out from the figures and the published
    method — and the method does not say that children imply women."""
    import random

    rng = random.Random(1508)
    made = (
        [
            random_record(rng, "2024-03", women_involved=True, children_involved=True)
            for _ in range(5)
        ]
        + [
            random_record(rng, "2024-03", women_involved=True, children_involved=False)
            for _ in range(25)
        ]
        + [
            random_record(rng, "2024-03", women_involved=False, children_involved=False)
            for _ in range(30)
        ]
    )
    insert_made(made)
    assert publish_in_order(["2024-03"]) == {}
    (release,) = list_releases(include_drafts=False)
    stored = next(
        f
        for f in release.files
        if f.name == "disclosure-audit.json" or f.name.endswith("audit.json")
    )
    audit = json.loads(stored.content)
    audit = audit.get("audit", audit)
    (document,) = [h.document for h in downloads()]
    vulnerable = next(c for c in audit["components"] if c["component"] == "vulnerable")
    rows = {row["key"]: row for row in document["tables"]["vulnerable"]["rows"]}
    shown = {key: row["value"] for key, row in rows.items()}
    assert shown["children_involved"] is None and shown["women_involved"] == 30
    # 5 reports with children: published as "fewer than 10", a range the reader has too.
    assert rows["children_involved"]["range"] == {"lower": 1, "upper": 9}
    # What the reader can solve: children is any whole number of its range (0 to the 60
    # reports without it); nothing says it is at most the women's 30 or the like.
    program = Program()
    children, women = program.var("m", "children"), program.var("m", "women")
    program.add({children: 1.0}, 0, document["reports"])
    program.add({children: 1.0}, 1, 9)
    program.add({women: 1.0}, 30, 30)
    low, high = program.solve_range({children: 1.0})
    (stated,) = [r for r in vulnerable["ranges"] if r["cell"] == "vulnerable/children_involved"]
    assert (stated["min"], stated["max"]) == (low, high) == (1, 9)
    # Its equations: the published figure, "each flag at most the reports" and the published
    # range's two bounds, no more.
    assert vulnerable["equations"] == 1 + 2 + 2
