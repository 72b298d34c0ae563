"""What a release says: its tables, headline figures, comparison and case handling.

`suppression_content` builds the content of a threshold-rule release from counts;
`privacy.dp_content` builds the same shape from noisy counts. Both return plain JSON-ready
dictionaries: the renderers, the web page, the API and the CSV export read only this shape.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from incident_service.releases import tables as release_tables
from incident_service.releases.counts import CaseCounts, RecordCounts
from incident_service.releases.differencing import (
    CASE_PREFIX,
    CASE_RECEIVED_KEY,
    PERSONS_KEY,
    TOTAL_KEY,
    PublishedFigures,
    TotalWouldDisclose,
    derivable,
    differencing_risks,
)
from incident_service.releases.disclosure import Component, DisclosureRules
from incident_service.releases.joint import (
    JointAuditRefused,
    JointRelease,
    JointResult,
    joint_audit,
    refused_ranges,
)
from incident_service.releases.periods import ReleasePeriod
from incident_service.releases.table_specs import BuiltComponent

CONTENT_FORMAT = 1

# Headline figures: (key, table, row). `None` table means a release-level figure.
HEADLINE_ROWS: tuple[tuple[str, str | None, str | None], ...] = (
    ("reports", None, None),
    ("persons_affected", None, None),
    ("detention", "by_act", "group:DET"),
    ("airport_checks", "by_act", "group:BRD"),
    ("military_pressure", "by_act", "group:MIL"),
    ("expulsion", "by_act", "group:DEP"),
    ("violence", "by_act", "group:VIO"),
    ("women_involved", "vulnerable", "women_involved"),
    ("children_involved", "vulnerable", "children_involved"),
)


class ReleaseStatusCode:
    OK = "ok"
    NO_REPORTS = "no_reports"
    TOO_FEW = "too_few"


@dataclass(frozen=True)
class JointInputs:
    """What the joint audit needs besides the new release: the published threshold-rule
    releases of the year, and the components of every month they and it cover."""

    published: Sequence[JointRelease]
    structure: Mapping[str, Component]
    per_atom: Mapping[str, Mapping[str, Component]]


@dataclass(frozen=True)
class ContentResult:
    content: dict[str, Any]
    audit: dict[str, Any]


def period_dict(period: ReleasePeriod) -> dict[str, Any]:
    return {
        "label": period.label,
        "kind": period.kind.value,
        "year": period.year,
        "number": period.number,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "months": period.months,
        "record_months": period.record_months,
    }


def figure(content: Mapping[str, Any], table: str | None, row: str | None, key: str) -> Any:
    """A published figure by headline key (release-level) or by table and row."""
    if table is None:
        return content.get(key)
    found = content.get("tables", {}).get(table)
    if not found:
        return None
    for entry in found["rows"]:
        if entry["key"] == row:
            return entry["value"]
    return None


def headline(content: Mapping[str, Any]) -> dict[str, Any]:
    return {key: figure(content, table, row, key) for key, table, row in HEADLINE_ROWS}


def comparison(
    current: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    *,
    previous_release_id: int | None,
    min_base: int,
) -> dict[str, Any]:
    """Change against the previous period's published release, figure by figure.

    Only published figures are compared, and a percentage only where both are at least
    `min_base`: a change from 3 to 6 is "+100 %" and means nothing.
    """
    if previous is None:
        return {"previous_release": None, "figures": {}}
    now, before = headline(current), headline(previous)
    figures: dict[str, Any] = {}
    for key in now:
        a, b = now.get(key), before.get(key)
        entry: dict[str, Any] = {"previous": b, "change_percent": None}
        if isinstance(a, int) and isinstance(b, int) and a >= min_base and b >= min_base:
            entry["change_percent"] = round(100.0 * (a - b) / b, 1)
        figures[key] = entry
    return {
        "previous_release": previous_release_id,
        "previous_period": previous.get("period", {}).get("label"),
        "figures": figures,
    }


def median_days(days: Sequence[int]) -> float:
    return float(statistics.median(days))


def case_handling(
    cases: CaseCounts,
    rules: DisclosureRules,
    *,
    also_suppress: Iterable[str] = (),
    known: Iterable[str] = (),
    memo: release_tables.ProtectionMemo | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Received, triaged, referred, closed and interventions, under the threshold rule.

    Cells are named "case/<table>/<row>" for differencing; when the number received would
    itself expose a small difference against a release of a nested period ("case/received"
    in `also_suppress`), the whole section is withheld: every table adds up to it."""
    forced = set(also_suppress)
    built = release_tables.case_components(cases, zero_sensitive_tables=())
    withhold = CASE_RECEIVED_KEY in forced
    if withhold:
        # Every component's total is the number received: a threshold above it withholds all.
        rules = DisclosureRules(
            threshold=cases.received + 1, protection_width=rules.protection_width
        )
    protected = release_tables.protect_components(
        built, rules, also_suppress=forced, known=known, prefix=CASE_PREFIX, memo=memo
    )
    triaged_count = sum(n for (t, _r, _c), n in cases.status_patterns.items() if t)
    received_shown = cases.received if cases.received >= rules.threshold and not withhold else None
    triaged_row = next(
        (
            row["value"]
            for row in protected.tables["case_status"]["rows"]
            if row["key"] == "triaged"
        ),
        None,
    )
    section = {
        "received": received_shown if cases.received else 0,
        "median_days_to_triage": (
            # A median of fewer reports than the threshold would describe too few people;
            # and where the number triaged is hidden (a small difference from a nested
            # release, say), so is the median of its days.
            median_days(cases.days_to_triage)
            if triaged_count >= rules.threshold
            and received_shown is not None
            and triaged_row is not None
            else None
        ),
        "tables": protected.tables,
    }
    return section, protected.audits


def differenced_case_handling(
    *,
    period: ReleasePeriod,
    cases: CaseCounts,
    rules: DisclosureRules,
    others: Sequence[PublishedFigures],
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """Case handling checked against published releases of nested periods, for a release whose
    other figures are not differenced (differential privacy): the section, its audits, and
    what the differencing check hid and found already known."""
    case_built = release_tables.case_components(cases, zero_sensitive_tables=())
    known = derivable(
        period, release_tables.cell_keys(case_built, CASE_PREFIX) | {CASE_RECEIVED_KEY}, others
    )
    forced: set[str] = set()
    for _round in range(6):
        section, audits = case_handling(cases, rules, also_suppress=forced, known=known)
        risky = differencing_risks(
            period=period,
            tables={},
            total=None,
            cases=section,
            others=others,
            threshold=rules.threshold,
        )
        if risky <= forced:
            break
        forced |= risky
    summary = {
        "compared_with": [other.label for other in others],
        "cells_hidden": sorted(forced),
        "cells_known": sorted(known),
    }
    return section, audits, summary


def _protect_against_differencing(
    *,
    period: ReleasePeriod,
    rules: DisclosureRules,
    built: Sequence[BuiltComponent],
    cases: CaseCounts,
    total: int | None,
    known: Iterable[str],
    published_overlapping: Sequence[PublishedFigures],
    forced: Iterable[str] = (),
    not_ranged: Iterable[str] = (),
    memo: release_tables.ProtectionMemo | None = None,
) -> tuple[release_tables.ProtectedTables, dict[str, Any], list[dict[str, Any]], set[str]]:
    """Protect the record tables and case handling, hiding every cell that published releases
    of nested periods would let readers difference out (and `forced`, which the joint audit
    asks for): the protected tables, the case section, its audits, and the cells hidden for
    differencing.

    Small figures of the record tables are published as ranges where the audit allows, except
    those in `not_ranged` (refused by the joint audit). Case handling keeps "x": its tables
    are not part of the joint audit, so a range there could not be checked against the
    releases of nested periods."""
    forced = set(forced)
    protected = release_tables.ProtectedTables(tables={}, audits=[], passed=True)
    # Hiding a cell can expose another difference, so repeat until nothing changes.
    for _round in range(6):
        if built:
            protected = release_tables.protect_components(
                built,
                rules,
                also_suppress=forced,
                known=known,
                publish_ranges=True,
                not_ranged=not_ranged,
                memo=memo,
            )
        cases_section, case_audits = case_handling(
            cases, rules, also_suppress=forced, known=known, memo=memo
        )
        risky = differencing_risks(
            period=period,
            tables=protected.tables,
            total=total,
            persons=protected.figures.get(PERSONS_KEY),
            cases=cases_section,
            others=published_overlapping,
            threshold=rules.threshold,
        )
        if TOTAL_KEY in risky:
            raise TotalWouldDisclose(period.label, [other.label for other in published_overlapping])
        if risky <= forced:
            break
        forced |= risky
    return protected, cases_section, case_audits, forced


def _suppression_header(
    period: ReleasePeriod,
    parameters: Mapping[str, Any],
    counts: RecordCounts,
    generated_on: dt.date,
) -> dict[str, Any]:
    """What a threshold-rule release says before its figures are protected."""
    return {
        "format": CONTENT_FORMAT,
        "period": period_dict(period),
        "method": "suppression",
        "parameters": dict(parameters),
        "generated_on": generated_on.isoformat(),
        "unit": "reports",
        "reports": counts.total,
        "persons_affected": None,
        "tables": {},
    }


def suppression_content(
    *,
    period: ReleasePeriod,
    parameters: Mapping[str, Any],
    counts: RecordCounts,
    cases: CaseCounts,
    generated_on: dt.date,
    published_overlapping: Sequence[PublishedFigures] = (),
    joint: JointInputs | None = None,
) -> ContentResult:
    """The content of a threshold-rule release and the audit that proves it safe."""
    rules = DisclosureRules(
        threshold=int(parameters["threshold"]),
        protection_width=int(parameters["protection_width"]),
    )
    content = _suppression_header(period, parameters, counts, generated_on)
    audit: dict[str, Any] = {
        "method": "suppression",
        "rules": {"threshold": rules.threshold, "protection_width": rules.protection_width},
        "components": [],
        "differencing": {"compared_with": [], "cells_hidden": []},
    }
    built: list[BuiltComponent] = []
    if counts.total == 0:
        content["status"] = ReleaseStatusCode.NO_REPORTS
    elif counts.total < rules.threshold:
        content["status"] = ReleaseStatusCode.TOO_FEW
        content["reports"] = None
    else:
        content["status"] = ReleaseStatusCode.OK
        built = release_tables.record_components(
            counts, period, zero_sensitive_tables=parameters["zero_sensitive_tables"]
        )
    case_built = release_tables.case_components(cases, zero_sensitive_tables=())
    # Figures readers can already compute from published releases of nested periods.
    known = derivable(
        period,
        release_tables.cell_keys(built)
        | release_tables.cell_keys(case_built, CASE_PREFIX)
        | {CASE_RECEIVED_KEY},
        published_overlapping,
    )
    # The rounds below protect the same components again and again with mostly the same
    # inputs: each component's protection is computed once per distinct input.
    memo: release_tables.ProtectionMemo = {}
    joint_hidden: set[str] = set()
    joint_result: JointResult | None = None
    joint_wide: set[str] = set()
    joint_hidden_before: set[str] = set()
    # The joint audit may ask for more figures to be hidden; hiding them changes what the
    # single-release protection hides, so the two run in turn until the joint audit passes.
    for _round in range(8):
        protected, cases_section, case_audits, forced = _protect_against_differencing(
            period=period,
            rules=rules,
            built=built,
            cases=cases,
            total=content["reports"],
            known=known,
            published_overlapping=published_overlapping,
            forced=joint_hidden,
            memo=memo,
        )
        if joint is None or not built:
            break
        draft = {**content, "tables": protected.tables}
        draft["persons_affected"] = protected.figures.get(PERSONS_KEY)
        # Hidden figures are settled with the new release's ranges shown as "x"; its ranges
        # are checked once they are (below).
        new_release = JointRelease.from_content(draft, new=True).without_ranges()
        hidden_now = {key for key, value in new_release.values.items() if value is None}
        if not hidden_now >= joint_hidden_before:
            joint_wide.clear()  # something hidden before is shown now: solve everything again
        joint_hidden_before = hidden_now
        joint_result = joint_audit(
            new=new_release,
            published=joint.published,
            structure=joint.structure,
            per_atom=joint.per_atom,
            rules=rules,
            wide=joint_wide,
        )
        if joint_result.unprotectable:
            raise JointAuditRefused(
                f"{period.label} cannot be published next to "
                f"{', '.join(joint_result.compared_with)}: with them, readers could narrow "
                "figures that no further suppression in this release can protect"
            )
        if joint_result.to_hide <= joint_hidden and joint_result.known <= set(known):
            break
        joint_hidden |= joint_result.to_hide
        # Shown rather than hidden next round: readers already have them exactly.
        known = {**known, **dict.fromkeys(joint_result.known - set(known), 0)}
    else:
        raise JointAuditRefused(
            f"the joint audit of {period.label} with the published releases did not settle"
        )
    not_ranged: set[str] = set()
    if joint is not None and built:
        # The new release's ranges, solved with the published releases: any that would let
        # readers narrow a figure below its promise is shown as "x". Showing one as "x" hides
        # nothing new, so the single-release protection only drops ranges in turn.
        for _round in range(8):
            draft = {**content, "tables": protected.tables}
            draft["persons_affected"] = protected.figures.get(PERSONS_KEY)
            refused = refused_ranges(
                new=JointRelease.from_content(draft, new=True),
                published=joint.published,
                structure=joint.structure,
                per_atom=joint.per_atom,
                rules=rules,
            )
            if not refused:
                break
            not_ranged |= refused
            protected, cases_section, case_audits, forced = _protect_against_differencing(
                period=period,
                rules=rules,
                built=built,
                cases=cases,
                total=content["reports"],
                known=known,
                published_overlapping=published_overlapping,
                forced=joint_hidden,
                not_ranged=not_ranged,
                memo=memo,
            )
        else:
            raise JointAuditRefused(
                f"the ranges of {period.label} did not settle with the published releases"
            )
    if built:
        content["tables"] = protected.tables
        # Audited with the group-size table; None when it would single out a report.
        content["persons_affected"] = protected.figures.get(PERSONS_KEY)
        if content["persons_affected"] is None and PERSONS_KEY in known and joint is not None:
            # Published releases already give it exactly (the quarter minus the other
            # months): hiding it would protect nothing and only read as a blank.
            content["persons_affected"] = counts.persons_affected
        audit["components"] = protected.audits
    audit["differencing"] = {
        "compared_with": [other.label for other in published_overlapping],
        "cells_hidden": sorted(forced),
        "cells_known": sorted(known),
    }
    if joint_result is not None:
        # What readers can check: which releases were solved together, and which figures
        # this release hides because of them (never a range or a count from the data).
        audit["joint"] = {
            "audited_with": joint_result.compared_with,
            "cells_hidden": sorted(joint_hidden),
            # Figures hidden by their own small count that are shown as "x" rather than
            # "fewer than threshold" because of the releases solved with this one.
            "ranges_refused": sorted(not_ranged),
            "passed": True,
        }
    content["case_handling"] = cases_section
    audit["components"] += case_audits
    audit["passed"] = all(component["passed"] for component in audit["components"])
    return ContentResult(content=content, audit=audit)
