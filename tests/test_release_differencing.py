"""Differencing between releases, from an official's chair: with every release they can
download (a month, its quarter, releases made again after late reports), can they work out a
figure that one of them hides?"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_service.constants import ReleaseStatus, Role
from incident_service.models import Release, db
from incident_service.releases.differencing import (
    PublishedFigures,
    _derivable,
    differencing_risks,
)
from incident_service.releases.lifecycle import (
    PeriodAlreadyPublished,
    generate_release,
    list_releases,
    publish_release,
)
from incident_service.releases.periods import parse_period
from tests.factories import submit
from tests.release_helpers import Q4, TODAY, make_user
from tests.statistics_factory import insert_records

pytestmark = pytest.mark.usefixtures("no_pdf_layout")


def official_downloads() -> list[dict[str, Any]]:
    """The JSON document of every release an official can download (published ones only)."""
    documents = []
    for release in list_releases(include_drafts=False):
        stored = next(
            f for f in release.files if f.name.endswith(".json") and "audit" not in f.name
        )
        documents.append(json.loads(stored.content)["content"])
    return documents


def months_of(document: dict[str, Any]) -> frozenset[str]:
    period = document["period"]
    months = set(period["months"])
    if period["kind"] == "year":
        months.add(f"{period['year']:04d}")
    return frozenset(months)


def figures(document: dict[str, Any]) -> dict[str, int | None]:
    """Every figure of a document: its value, or None where it is hidden (withheld tables and
    releases with too few reports say nothing, and are left out)."""
    found: dict[str, int | None] = {}
    if document.get("status") == "ok":
        found["summary/reports"] = document["reports"]
        found["summary/persons_affected"] = document["persons_affected"]
        for table_id, table in document["tables"].items():
            if not table["withheld"]:
                for row in table["rows"]:
                    found[f"{table_id}/{row['key']}"] = row["value"]
    cases = document.get("case_handling") or {}
    if cases.get("received"):
        found["case/received"] = cases["received"]
        for table_id, table in cases.get("tables", {}).items():
            if not table["withheld"]:
                for row in table["rows"]:
                    found[f"case/{table_id}/{row['key']}"] = row["value"]
    return found


def recoverable(documents: list[dict[str, Any]]) -> list[str]:
    """Hidden figures an official can compute exactly by adding and subtracting the same
    figure across releases of nested periods (a quarter minus its other months, or the months
    that make up a hidden quarter)."""
    shown = [(months_of(d), d["period"]["label"], figures(d)) for d in documents]
    found = []
    for months, label, cells in shown:
        for key, value in cells.items():
            if value is not None:
                continue
            holders = [(m, lb, c[key]) for m, lb, c in shown if c.get(key) is not None]
            # The other months of a container, covered by disjoint releases publishing `key`.
            for container, container_label, total in holders:
                if not months < container:
                    continue
                parts = [(m, v) for m, _lb, v in holders if m < container and not m & months]
                parts = [(m, v) for m, v in parts if not any(m < o for o, _ in parts)]
                if frozenset().union(*(m for m, _ in parts)) | months == container:
                    derived = total - sum(v for _, v in parts)
                    found.append(f"{label} {key} = {derived} (from {container_label})")
            # A hidden container whose parts are all published.
            parts = [(m, v) for m, _lb, v in holders if m < months]
            parts = [(m, v) for m, v in parts if not any(m < o for o, _ in parts)]
            if parts and frozenset().union(*(m for m, _ in parts)) == months:
                found.append(f"{label} {key} = {sum(v for _, v in parts)} (sum of parts)")
    return found


def test_can_an_official_recover_a_hidden_figure_from_a_month_its_siblings_and_quarter(
    app_ctx,
):
    """October, November and December published, then the quarter: does anything October
    hides (a small figure, or one hidden to protect it) show as the quarter minus the other
    two months?"""
    for month, seed in zip(Q4, (91, 92, 93), strict=True):
        insert_records(45, months=[month], seed=seed)
    supervisor = make_user(Role.SUPERVISOR)
    for month in ("2024-11", "2024-12", "2024-10", "2024-Q4"):
        publish_release(generate_release(period=month, today=TODAY).id, actor=supervisor)
        db.session.commit()
    assert not recoverable(official_downloads())


def test_can_an_official_recover_what_a_quarter_hides_from_its_months(app_ctx):
    """The quarter first, then its months: does a figure the quarter hides show as the sum of
    the months?"""
    for month, seed in zip(Q4, (94, 95, 96), strict=True):
        insert_records(45, months=[month], seed=seed)
    supervisor = make_user(Role.SUPERVISOR)
    for month in ("2024-Q4", "2024-10", "2024-11", "2024-12"):
        publish_release(generate_release(period=month, today=TODAY).id, actor=supervisor)
        db.session.commit()
    assert not recoverable(official_downloads())


def test_is_a_release_made_again_after_a_late_report_kept_from_officials(app_ctx):
    """October published; a late report arrives; a supervisor makes October again (a higher
    threshold makes it a new release) and publishes it. Subtracting the two would describe the
    late report cell by cell: is the second one refused, so officials see one October?"""
    insert_records(40, months=["2024-10"], seed=97)
    supervisor = make_user(Role.SUPERVISOR)
    first = generate_release(period="2024-10", today=TODAY)
    publish_release(first.id, actor=supervisor)
    db.session.commit()
    insert_records(1, months=["2024-10"], seed=98)
    again = generate_release(
        period="2024-10", today=TODAY, parameters={"threshold": 11, "protection_width": 11}
    )
    with pytest.raises(PeriodAlreadyPublished) as caught:
        publish_release(again.id, actor=supervisor)
    assert str(first.id) in str(caught.value)
    db.session.rollback()
    assert [d["period"]["label"] for d in official_downloads()] == ["2024-10"]
    # The database holds the rule too, for anything that writes around the service.
    again = db.session.get_one(Release, again.id)
    again.status = ReleaseStatus.PUBLISHED.value
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("quarter_method", ["suppression", "dp"])
def test_can_an_official_work_out_a_small_month_of_case_handling(app_ctx, quarter_method):
    """Reports received: 12 in October, 15 in November and 4 in December. With October and
    November published, would the quarter's "received" (or triaged) tell that December had 4?
    Case handling is exact in a differentially private release too."""
    insert_records(45, months=Q4, seed=99)
    for day, count in (
        (dt.date(2024, 10, 7), 12),
        (dt.date(2024, 11, 5), 15),
        (dt.date(2024, 12, 3), 4),
    ):
        for _ in range(count):
            submit(received_on=day)
    supervisor = make_user(Role.SUPERVISOR)
    for period in ("2024-10", "2024-11"):
        publish_release(generate_release(period=period, today=TODAY).id, actor=supervisor)
        db.session.commit()
    quarter = generate_release(period="2024-Q4", method=quarter_method, today=TODAY)
    publish_release(quarter.id, actor=supervisor)
    db.session.commit()
    documents = {d["period"]["label"]: d for d in official_downloads()}
    months = [documents["2024-10"], documents["2024-11"]]
    whole = figures(documents["2024-Q4"])
    for key, value in whole.items():
        if not key.startswith("case/") or value is None:
            continue
        parts = [figures(d).get(key) for d in months]
        if None in parts:
            continue
        rest = value - sum(parts)
        assert not 0 < rest < 10, f"December's {key} is {rest}"


# --------------------------------------------------------------------------------------------
# The rule itself, on made-up published figures (no database): whatever has been published,
# does a new release, once its risky cells are hidden, ever make a hidden figure computable?

PERIODS = {
    "2024-10": ["2024-10"],
    "2024-11": ["2024-11"],
    "2024-12": ["2024-12"],
    "2024-Q4": Q4,
}
KEYS = ["t/a", "t/b", "t/c"]


def _figures(label: str, cells: dict[str, int | None]) -> PublishedFigures:
    return PublishedFigures(
        label,
        frozenset(PERIODS[label]),
        {k: v for k, v in cells.items() if v is not None},
        frozenset(k for k, v in cells.items() if v is None),
    )


CELL = st.one_of(st.none(), st.integers(min_value=0, max_value=60))


@settings(max_examples=300, deadline=None)
@given(
    published=st.dictionaries(
        st.sampled_from(sorted(PERIODS)), st.fixed_dictionaries({k: CELL for k in KEYS})
    ),
    new_label=st.sampled_from(sorted(PERIODS)),
    new_values=st.fixed_dictionaries({k: st.integers(min_value=0, max_value=60) for k in KEYS}),
)
def test_does_a_new_release_ever_make_a_hidden_figure_computable(published, new_label, new_values):
    published.pop(new_label, None)  # one published release per period
    others = [_figures(label, cells) for label, cells in published.items()]
    risky = differencing_risks(
        period=parse_period(new_label, today=TODAY),
        tables={"t": {"rows": [{"key": k[2:], "value": v} for k, v in new_values.items()]}},
        total=None,
        others=others,
        threshold=10,
    )
    new = _figures(new_label, {k: (None if k in risky else v) for k, v in new_values.items()})
    for hider in others:
        pool = [o for o in others if o is not hider]
        for key in hider.hidden:
            before = _derivable(hider.months, [key], pool)
            after = _derivable(hider.months, [key], [*pool, new])
            assert key not in after or key in before, (hider.label, key, after)
