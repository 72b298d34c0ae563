"""The queue's page walk against the obvious answer: sort every candidate by (priority, day
received, id), newest and most urgent first, filter, and cut the page. Whatever the memory
holds, whichever reports carry a caseworker's priority or cannot be opened, the walk that stops
early must give the same page."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_service import taxonomy
from incident_service.cases import queue
from incident_service.cases.queue_index import IndexEntry

GROUPS = ("BRD", "DET", "VIO", "MIL")
REGIONS = ("RU-MOW", "RU-SPE", None)


def _entry(urgency: int, group: str, region: str | None) -> IndexEntry:
    return IndexEntry(
        urgency=urgency,
        acts=(f"{group}.01",),
        act_groups=frozenset({group}),
        airport=None,
        region=region,
        country=None,
        incident_date="2025-01-01",
        outcome=None,
        group_size=1,
        children=False,
    )


report = st.fixed_dictionaries(
    {
        "urgency": st.integers(1, 4),
        "day": st.integers(0, 30),
        "group": st.sampled_from(GROUPS),
        "region": st.sampled_from(REGIONS),
        "candidate": st.booleans(),
        "override": st.none() | st.integers(1, 4),
        "readable": st.booleans(),
    }
)


def _world(reports, act_group, region, priority):
    """The walk's inputs for `reports`, and the view's expected order from a full sort."""
    base = dt.date(2025, 1, 1).toordinal()
    ids = [f"{n:032x}" for n in range(len(reports))]
    entries = {}
    order = []
    apart = []
    candidates = set()
    expected = []
    for report_id, spec in zip(ids, reports, strict=True):
        entry = _entry(spec["urgency"], spec["group"], spec["region"])
        day = base + spec["day"]
        if spec["readable"]:
            entries[report_id] = entry
            order.append((spec["urgency"], day, report_id))
        if spec["candidate"]:
            candidates.add(report_id)
        shown = spec["urgency"] if spec["readable"] else taxonomy.PRIORITY_NORMAL
        if spec["override"] is not None:
            shown = spec["override"]
        if (spec["override"] is not None or not spec["readable"]) and spec["candidate"]:
            apart.append((shown, day, report_id))
        if not spec["candidate"]:
            continue
        if priority is not None and shown != priority:
            continue
        if act_group or region:
            if not spec["readable"]:
                continue
            if act_group and act_group not in entry.act_groups:
                continue
            if region and entry.region != region:
                continue
        expected.append((shown, day, report_id))
    order.sort()
    expected.sort(reverse=True)
    ranking = queue.Ranking(order=order, entries=entries, candidates=candidates, apart=apart)
    filters = queue.QueueFilters(act_group=act_group, region=region, priority=priority)
    return ids, ranking, filters, expected


views = {
    "reports": st.lists(report, min_size=0, max_size=140),
    "act_group": st.none() | st.sampled_from(GROUPS),
    "region": st.none() | st.sampled_from(REGIONS[:2]),
    "priority": st.none() | st.integers(1, 4),
}


@settings(max_examples=150, deadline=None)
@given(page=st.integers(1, 4), **views)
def test_does_the_walk_give_the_page_a_full_sort_would(reports, page, act_group, region, priority):
    _, ranking, filters, expected = _world(reports, act_group, region, priority)
    first = (page - 1) * queue.PAGE_SIZE
    want = [report_id for _, _, report_id in expected[first : first + queue.PAGE_SIZE]]

    window, has_next = queue.window_of(ranking, filters=filters, page=page)
    assert [item.id for item in window] == want
    assert has_next == (len(expected) > first + queue.PAGE_SIZE)
    for item in window:
        assert item.priority == next(p for p, _, i in expected if i == item.id)


@settings(max_examples=150, deadline=None)
@given(pick=st.integers(0, 200), **views)
def test_are_a_cases_previous_and_next_its_neighbours_in_the_fully_sorted_view(
    reports, pick, act_group, region, priority
):
    """ "Previous case" and "Next case" on a case page: the reports just before and after it in
    the view a full sort gives, none past either end, and none for a case outside the view."""
    ids, ranking, filters, expected = _world(reports, act_group, region, priority)
    if not ids:
        return
    report_id = ids[pick % len(ids)]
    view = [i for _, _, i in expected]
    found = queue.neighbours_in(queue.walk(ranking, filters=filters), report_id)
    if report_id not in view:
        assert found == queue.Neighbours(previous=None, next=None, in_view=False)
        return
    at = view.index(report_id)
    assert found.in_view
    assert found.previous == (view[at - 1] if at > 0 else None)
    assert found.next == (view[at + 1] if at + 1 < len(view) else None)
