"""Does a release hold together as an official reads it? Random statistical data, random
periods and methods; every release must show one number of reports in every section that counts
by month of incident, the same figure in the body and in the annex, each annex row once, and no
footnote sending the reader to the section it is printed in."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from incident_service.models import (
    PrivacyLedgerEntry,
    Release,
    ReleaseFile,
    Report,
    StatisticalAct,
    StatisticalCitizenship,
    StatisticalIndicator,
    StatisticalPerpetrator,
    StatisticalRecord,
    db,
)
from incident_service.releases import tables as release_tables
from incident_service.releases.documents.render import DocumentView, TableView, document_view
from incident_service.releases.documents.wording import TEXT
from incident_service.releases.lifecycle import generate_release
from incident_service.releases.parameters import canonical_json
from tests.factories import submit
from tests.release_helpers import TODAY, content
from tests.statistics_factory import insert_records

pytestmark = pytest.mark.usefixtures("no_pdf_layout")

Q4 = ["2024-10", "2024-11", "2024-12"]
# How each document language names its annex, as a footnote would point to it.
ANNEX_WORDS = {"en": "annex", "ru": "приложени", "tg": "замима"}
# Tables with one answer per report: their rows add up to the number of reports.
ONE_ANSWER = {
    "by_month",
    "by_location_type",
    *(table for table, _column, _vocabulary in release_tables.SINGLE_TABLES),
}


def _reset() -> None:
    """Forget the previous example: its releases, its records, and its reports' counting."""
    db.session.execute(sa.delete(ReleaseFile))
    db.session.execute(sa.delete(PrivacyLedgerEntry))
    db.session.execute(sa.delete(Release))
    for child in (
        StatisticalAct,
        StatisticalPerpetrator,
        StatisticalCitizenship,
        StatisticalIndicator,
    ):
        db.session.execute(sa.delete(child))
    db.session.execute(sa.delete(StatisticalRecord))
    db.session.execute(sa.update(Report).values(consent_statistics=False))
    db.session.commit()


def _check_table_pairs(view: DocumentView) -> None:
    """Every figure the body shows is the annex's figure for the same row."""
    annex = {table.id: table for table in view.annex}
    for section in view.sections:
        for table in section.tables:
            if not annex:
                continue  # too few reports for tables: no annex, case handling alone
            shown = {(row.level, row.label): row.value for row in table.rows}
            full = {(row.level, row.label): row.value for row in annex[table.id].rows}
            for key, value in shown.items():
                assert full.get(key) == value, (view.language, table.id, key)


def _sibling_labels(table: TableView) -> Counter[tuple[str, ...]]:
    """Each row by its path of labels (the rows above it at lower levels, then its own)."""
    path: list[str] = []
    seen: Counter[tuple[str, ...]] = Counter()
    for row in table.rows:
        # A row shown without its parent would be read as the previous parent's.
        assert row.level <= len(path), (table.id, row.label)
        path = [*path[: row.level], row.label]
        seen[tuple(path)] += 1
    return seen


def _check_annex(view: DocumentView) -> None:
    word = ANNEX_WORDS[view.language]
    for table in view.annex:
        repeated = [path for path, n in _sibling_labels(table).items() if n > 1]
        assert not repeated, (view.language, table.id, repeated)
        for parent, child in itertools.pairwise(table.rows):
            if child.level == parent.level + 1:
                # "Russia" under "Russia": one group of one code, the same reports twice
                assert child.label != parent.label, (view.language, table.id, child.label)
        for note in table.notes:
            assert word not in note.lower(), (view.language, table.id, note)
    for section in view.sections:
        for table in section.tables:
            annexed = next((t for t in view.annex if t.id == table.id), None)
            if annexed is None:
                continue  # too few reports for tables: no annex, case handling alone
            for note in table.notes:
                if word in note.lower():
                    # A note sending the reader to the annex must find every row there.
                    assert len(annexed.rows) >= len(table.rows)


def _check_counts(document: dict[str, Any]) -> None:
    """One number of reports in the sections counted by month of incident (exact method)."""
    if document["status"] != "ok":
        return  # no tables: "fewer than the threshold" is the only figure
    reports = document["reports"]
    for table_id, table in document["tables"].items():
        values = [row["value"] for row in table["rows"] if row["level"] == 0]
        if table_id in ONE_ANSWER and None not in values:
            assert sum(values) == reports, table_id
        for row in table["rows"]:
            if row["value"] is not None:
                assert row["value"] <= reports, (table_id, row["key"])
    regions = document["tables"]["by_region"]["rows"]
    countries = [row["value"] for row in regions if row["level"] == 0]
    if None not in countries:
        assert sum(countries) == reports


def _check_cases(document: dict[str, Any]) -> None:
    """The case-handling section has one number of reports too: help given and status are
    parts of the reports received."""
    cases = document.get("case_handling") or {}
    received = cases.get("received")
    if not received:
        return
    for table in cases.get("tables", {}).values():
        for row in table["rows"]:
            if row["value"] is not None:
                assert row["value"] <= received, (table["id"], row["key"])
        if table["id"] == "interventions":
            none = [row["value"] for row in table["rows"] if row["key"] == "-"]
            assert none == [] or none[0] is None or none[0] <= received


@settings(
    max_examples=8,
    phases=[
        Phase.explicit,
        Phase.reuse,
        Phase.generate,
    ],  # each example takes seconds: no shrinking
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(min_value=0, max_value=160),
    seed=st.integers(min_value=0, max_value=10_000),
    months=st.lists(st.sampled_from(Q4), min_size=1, max_size=3, unique=True),
    russians=st.integers(min_value=0, max_value=4),
    period=st.sampled_from(["2024-11", "2024-Q4"]),
    method=st.sampled_from(["suppression", "dp"]),
    received=st.lists(
        st.tuples(st.sampled_from(Q4), st.integers(1, 28), st.booleans()), max_size=14
    ),
)
# The official's demo quarter: Russians among the citizenships, reports received in the quarter
# of which one asked for deletion.
@example(
    count=120,
    seed=1,
    months=Q4,
    russians=4,
    period="2024-Q4",
    method="suppression",
    received=[("2024-11", 3, False)] * 11 + [("2024-10", 5, True)],
)
def test_does_every_release_hold_together(
    app_ctx, count, seed, months, russians, period, method, received
):
    """Random records (some from Russia, whose group has one code of the same name) and
    reports received in the quarter (some whose authors asked for deletion): does every
    section agree, every annex row appear once, and no annex footnote point to the annex?"""
    _reset()
    for month, day, deletion in received:
        report = submit(received_on=dt.date.fromisoformat(f"{month}-{day:02d}")).report_id
        if deletion:
            db.session.get(Report, report).deletion_requested = True
    db.session.commit()
    db.session.execute(sa.delete(StatisticalRecord))  # only the records drawn below count
    db.session.commit()
    insert_records(
        count,
        months=months,
        seed=seed,
        citizenships=["TJK", "UZB", "KGZ", *(["RUS"] * russians)],
    )
    release = generate_release(period=period, method=method, today=TODAY)
    document = content(release)
    if method == "suppression":
        _check_counts(document)
    _check_cases(document)
    expected = sum(
        1 for m, d, deletion in received if not deletion and (period[-2:] == "Q4" or m == period)
    )
    cases = document["case_handling"]
    assert cases.get("received") in (None, expected)
    for language in TEXT:
        if language not in document["parameters"]["languages"]:
            continue
        view = document_view(document, language)
        _check_table_pairs(view)
        _check_annex(view)
    assert canonical_json(document)  # the stored content is what was checked
