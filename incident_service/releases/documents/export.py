"""Machine-readable files of a release: a long CSV with an HXL hashtag row, JSON, the audit.

The CSV has one row per published cell (and per hidden one, marked as such, with no value),
so it can be filtered and pivoted without knowing the layout of the tables. A small figure
published as a range ("fewer than 10") has the status `range`, no value, and its bounds in
`reports_lower` and `reports_upper`. Its second row
carries HXL hashtags (Humanitarian Exchange Language), which humanitarian data tools read
directly; custom attributes use the `x_` prefix as HXL asks.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from incident_service.releases.documents.narrative import Narrator, row_label, stated_range

COLUMNS: tuple[tuple[str, str], ...] = (
    ("period_start", "#date+start"),
    ("period_end", "#date+end"),
    ("table", "#meta+x_table"),
    ("month", "#date+x_month"),
    ("country", "#country+code"),
    ("federal_district", "#loc+code+x_federal_district"),
    ("region", "#adm1+code"),
    ("airport", "#loc+code+x_airport"),
    ("location_type", "#loc+type+code"),
    ("act_group", "#event+type+code+x_group"),
    ("act", "#event+type+code"),
    ("perpetrator", "#org+type+code+x_perpetrator"),
    ("origin_region", "#region+origin+code"),
    ("citizenship", "#country+origin+code"),
    ("group_dimension", "#group+type+x_dimension"),
    ("group_code", "#group+type+code"),
    ("label_en", "#description+i_en"),
    ("label_ru", "#description+i_ru"),
    ("reports", "#meta+count"),
    ("reports_lower", "#meta+count+x_lower"),
    ("reports_upper", "#meta+count+x_upper"),
    ("persons_affected", "#affected"),
    ("status", "#meta+x_status"),
    ("margin_95", "#meta+x_margin"),
)
PLACED = {
    "month",
    "country",
    "federal_district",
    "region",
    "airport",
    "location_type",
    "act_group",
    "act",
    "perpetrator",
    "origin_region",
    "citizenship",
}


def _all_tables(content: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from content.get("tables", {}).values()
    yield from (content.get("case_handling") or {}).get("tables", {}).values()


def _status(
    content: Mapping[str, Any],
    table: Mapping[str, Any],
    value: Any,
    stated: tuple[int, int] | None = None,
) -> str:
    if table.get("withheld"):
        return "withheld"
    if value is None and stated is not None:
        return "range"
    if value is None:
        return "suppressed"
    return "noisy" if content["method"] == "dp" else "published"


def csv_rows(content: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    english, russian = Narrator("en"), Narrator("ru")
    period = content["period"]
    base = {"period_start": period["start"], "period_end": period["end"]}
    dp = content["method"] == "dp"
    summary_status = "noisy" if dp else "published"
    yield {
        **base,
        "table": "summary",
        "group_dimension": "total",
        "group_code": "reports",
        "label_en": english.text("headline_reports"),
        "label_ru": russian.text("headline_reports"),
        "reports": content.get("reports"),
        "status": summary_status if content.get("reports") is not None else "withheld",
        "margin_95": content.get("reports_margin"),
    }
    if content.get("persons_affected") is not None:
        yield {
            **base,
            "table": "summary",
            "group_dimension": "total",
            "group_code": "persons_affected",
            "label_en": english.text("headline_persons_affected"),
            "label_ru": russian.text("headline_persons_affected"),
            "persons_affected": content["persons_affected"],
            "status": summary_status,
            "margin_95": content.get("persons_affected_margin"),
        }
    for table in _all_tables(content):
        for row in table["rows"]:
            entry: dict[str, Any] = {**base, "table": table["id"]}
            for dimension, code in row["dims"].items():
                if dimension in PLACED:
                    entry[dimension] = code or ""
                else:
                    entry["group_dimension"] = dimension
                    entry["group_code"] = code or ""
            if table["dimension"] == "flag":
                entry["group_dimension"] = table["id"]
            entry["label_en"] = row_label(english, table, row)
            entry["label_ru"] = row_label(russian, table, row)
            entry["reports"] = row["value"]
            stated = stated_range(row)
            if stated is not None:
                entry["reports_lower"], entry["reports_upper"] = stated
            entry["status"] = _status(content, table, row["value"], stated)
            entry["margin_95"] = row.get("margin")
            yield entry


def release_csv(content: Mapping[str, Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([name for name, _tag in COLUMNS])
    writer.writerow([tag for _name, tag in COLUMNS])
    for entry in csv_rows(content):
        writer.writerow(["" if entry.get(name) is None else entry[name] for name, _ in COLUMNS])
    return buffer.getvalue().encode("utf-8")


def _labelled(content: Mapping[str, Any]) -> dict[str, Any]:
    """The content with each row's label in every release language, for readers of the JSON
    who do not have the taxonomy at hand."""
    narrators = [Narrator(language) for language in content["parameters"]["languages"]]
    document: dict[str, Any] = json.loads(json.dumps(content))
    for table in _all_tables(document):
        for row in table["rows"]:
            row["label"] = {n.language: row_label(n, table, row) for n in narrators}
    return document


def release_json(content: Mapping[str, Any], *, digest: str) -> bytes:
    document = {
        "release": {
            "period": content["period"]["label"],
            "method": content["method"],
            "parameters": content["parameters"],
            "parameters_digest": digest,
            "generated_on": content["generated_on"],
        },
        "content": _labelled(content),
    }
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def audit_json(audit: Mapping[str, Any]) -> bytes:
    return (json.dumps(audit, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
