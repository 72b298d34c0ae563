"""Persons affected: can the published number of people (a sum of group sizes) single out a
report that the group-size table hides?"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_service import taxonomy
from incident_service.releases.counts import RecordCounts
from incident_service.releases.differencing import PERSONS_KEY
from incident_service.releases.disclosure import DisclosureRules
from incident_service.releases.lifecycle import generate_release
from incident_service.releases.tables import (
    PERSONS_PER_REPORT,
    group_size_component,
    protect_components,
)
from tests.release_helpers import TODAY, content, value
from tests.statistics_factory import insert_made, random_record

pytestmark = pytest.mark.usefixtures("no_pdf_layout")

WIDTH = 10


def hidden_band_ranges(
    bands: dict[str, int | None], total: int, persons: int | None
) -> dict[str, tuple[int, int]]:
    """What a reader can work out: for each hidden band, the fewest and most reports it can
    hold, given the published bands, the total, the persons figure (if published) and the
    sizes each band allows. Brute force over every way to fill the hidden bands."""
    hidden = [band for band, shown in bands.items() if shown is None]
    known = sum(shown for shown in bands.values() if shown is not None)
    known_low = sum(PERSONS_PER_REPORT.get(b, (1, 50))[0] * (n or 0) for b, n in bands.items())
    known_high = sum(PERSONS_PER_REPORT.get(b, (1, 50))[1] * (n or 0) for b, n in bands.items())
    seen: dict[str, set[int]] = {band: set() for band in hidden}
    rest = total - known
    for filling in itertools.product(range(rest + 1), repeat=len(hidden)):
        if sum(filling) != rest:
            continue
        low = known_low + sum(
            PERSONS_PER_REPORT.get(b, (1, 50))[0] * n for b, n in zip(hidden, filling, strict=True)
        )
        high = known_high + sum(
            PERSONS_PER_REPORT.get(b, (1, 50))[1] * n for b, n in zip(hidden, filling, strict=True)
        )
        if persons is not None and not low <= persons <= high:
            continue
        for band, n in zip(hidden, filling, strict=True):
            seen[band].add(n)
    return {band: (min(values), max(values)) for band, values in seen.items() if values}


def _report(month: str, size: int, rng: random.Random) -> dict:
    return random_record(
        rng,
        month,
        group_size_band=taxonomy.group_size_band(size),
        persons_affected=taxonomy.persons_affected(size),
    )


def test_does_the_persons_figure_single_out_one_large_group(app_ctx):
    """Eleven reports of one person and one report of a group of 30: the group-size table
    hides the group of 30, but would "41 people affected" tell a reader it is there?"""
    rng = random.Random(81)
    insert_made([_report("2024-11", 1, rng) for _ in range(11)] + [_report("2024-11", 30, rng)])
    document = content(generate_release(period="2024-11", today=TODAY))
    bands = {row["key"]: row["value"] for row in document["tables"]["by_group_size"]["rows"]}
    assert value(document, "by_group_size", "11-30") is None  # one report: hidden
    ranges = hidden_band_ranges(bands, document["reports"], document["persons_affected"])
    narrow = {band: r for band, r in ranges.items() if r[1] - r[0] < WIDTH}
    assert not narrow, f"persons {document['persons_affected']} narrows {narrow}"


def _counts(sizes: list[int]) -> RecordCounts:
    counts = RecordCounts(total=len(sizes))
    counts.persons_affected = sum(taxonomy.persons_affected(s) for s in sizes)
    bands: dict[str | None, int] = {}
    persons: dict[str | None, int] = {}
    for size in sizes:
        band = taxonomy.group_size_band(size)
        bands[band] = bands.get(band, 0) + 1
        persons[band] = persons.get(band, 0) + taxonomy.persons_affected(size)
    counts.single["group_size_band"] = bands
    counts.persons_by_band = persons
    return counts


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(
        st.sampled_from([1, 1, 1, 2, 3, 5, 7, 10, 12, 30, 45, 80]), min_size=10, max_size=24
    )
)
def test_can_any_hidden_group_size_be_narrowed_with_the_persons_figure(app_ctx, sizes):
    """For any mix of group sizes, does every hidden band stay at least the protection width
    wide for a reader who knows the bands' size limits and the published persons figure?"""
    rules = DisclosureRules(threshold=10, protection_width=WIDTH)
    protected = protect_components([group_size_component(_counts(sizes))], rules)
    table = protected.tables["by_group_size"]
    if table["withheld"]:
        assert protected.figures[PERSONS_KEY] is None
        return
    bands = {row["key"]: row["value"] for row in table["rows"]}
    for band, (low, high) in hidden_band_ranges(
        bands, len(sizes), protected.figures[PERSONS_KEY]
    ).items():
        assert high - low >= WIDTH, (band, low, high, protected.figures[PERSONS_KEY])
