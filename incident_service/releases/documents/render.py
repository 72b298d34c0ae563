"""Rendering a release: the document in each language as HTML and PDF, plus CSV, JSON, audit.

Everything is rendered from the release content (published figures only) in the worker, once,
when the release is generated; the files are then signed and never rendered again. The PDF is
laid out from the HTML file itself (`pdf.pdf_source` only declares the shipped fonts) by
`pdf.render_pdf`, offline, in child processes while the other files are written; the charts
are inline SVG (`charts`), the same in the HTML, the PDF and the release page in the app.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import render_template

from incident_service import taxonomy
from incident_service.releases.documents import charts
from incident_service.releases.documents.export import audit_json, release_csv, release_json
from incident_service.releases.documents.narrative import Narrator, row_label, stated_range
from incident_service.releases.documents.pdf import FONTS_DIR, ForkedJobs, pdf_source, render_pdf
from incident_service.releases.periods import ReleasePeriod

CSS_PATH = Path(__file__).with_name("document.css")

# Tables with more rows than this hide their zero rows in the body; the annex shows all.
LONG_TABLE = 12

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("months", ("by_month",)),
    ("acts", ("by_act",)),
    ("places", ("by_region", "by_location_type")),
    ("airports", ("by_airport",)),
    ("perpetrators", ("by_perpetrator",)),
    ("coercion", ("coercion",)),
    (
        "people",
        (
            "vulnerable",
            "by_sex",
            "by_age_band",
            "by_citizenship",
            "by_legal_status",
            "by_group_size",
            "by_reporter_role",
        ),
    ),
    ("outcomes", ("by_outcome", "by_duration", "by_indicator")),
    # Counted over the reports received in the period (not by month of incident): kept
    # together under their own heading, which says so.
    ("cases", ("case_status", "interventions")),
)
CHARTS = {"by_month": False, "by_act": True, "by_airport": True, "by_region": True}
# What the body shows of each table; the annex shows every table in full.
BODY_LEVELS = {"by_act": 0, "by_region": 1, "by_citizenship": 0}


@dataclass(frozen=True)
class RenderedFile:
    name: str
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class RowView:
    label: str
    value: str
    share: str
    margin: str
    level: int
    hidden: bool


@dataclass
class TableView:
    id: str
    title: str
    rows: list[RowView]
    notes: list[str] = field(default_factory=list)
    chart: str | None = None
    withheld: bool = False


@dataclass
class SectionView:
    id: str
    title: str
    paragraphs: list[str]
    tables: list[TableView]


@dataclass
class HeadlineView:
    label: str
    value: str
    change: str


@dataclass
class DocumentView:
    language: str
    title: str
    subtitle: str
    period_title: str
    text: Mapping[str, str]
    summary: list[str]
    headline: list[HeadlineView]
    sections: list[SectionView]
    method: list[str]
    annex: list[TableView]
    footer: str
    dp: bool
    # Whether any figure is printed as a range ("fewer than 10"): the legend then says so.
    ranges: bool = False


# --------------------------------------------------------------------------------------------
# Labels and values


def _share(narrator: Narrator, value: int | None, base: int | None) -> str:
    if value is None or not base:
        return ""
    return f"{narrator.decimal(100.0 * value / base)} %"


def table_view(narrator: Narrator, table: Mapping[str, Any], *, full: bool, dp: bool) -> TableView:
    """A table for the body (top levels, rows with reports, a chart) or for the annex (every
    level; zero rows of long tables left to the CSV)."""
    rows = table["rows"]
    if not full and table["id"] in BODY_LEVELS:
        rows = [row for row in rows if row["level"] <= BODY_LEVELS[table["id"]]]
    hide_zeros = len(table["rows"]) > LONG_TABLE
    # A zero row is left out only if nothing beneath it is shown: a noisy region above zero
    # under a district drawn as 0 keeps its district, or it would read as the previous one's.
    keep = _rows_with_figures(rows) if hide_zeros else set(range(len(rows)))
    views = []
    parents: dict[int, str] = {}  # the label of the last row shown at each level
    for index, row in enumerate(rows):
        value = row["value"]
        if index not in keep:
            continue
        label = row_label(narrator, table, row)
        level = int(row["level"])
        if level > 0 and parents.get(level - 1) == label:
            # A group of one code of the same name (Russia under Russia): the same reports,
            # shown once.
            continue
        parents[level] = label
        margin = row.get("margin")
        views.append(
            RowView(
                label=label,
                value=(
                    narrator.value(value, stated=stated_range(row))
                    if not dp
                    else narrator.number(value or 0)
                ),
                share="" if dp else _share(narrator, value, table.get("base")),
                margin=f"± {narrator.number(round(margin))}" if margin is not None else "",
                level=int(row["level"]),
                hidden=value is None,
            )
        )
    notes = []
    if table["multi"]:
        notes.append(narrator.text("multi_note"))
    if hide_zeros and any(row["value"] == 0 for row in table["rows"]):
        notes.append(narrator.text("zero_rows_hidden"))
    view = TableView(
        id=table["id"],
        title=narrator.text(f"table_{table['id']}"),
        rows=views,
        notes=notes,
        withheld=bool(table.get("withheld")),
    )
    if not full and table["id"] in CHARTS and not view.withheld:
        view.chart = _chart(narrator, table)
    return view


def _rows_with_figures(rows: list[Mapping[str, Any]]) -> set[int]:
    """The rows that are not zero, or have a row that is not zero beneath them."""
    keep: set[int] = set()
    below: list[int] = []  # levels of kept rows not yet claimed by a row above, going up
    for index in range(len(rows) - 1, -1, -1):
        level = int(rows[index]["level"])
        kept = rows[index]["value"] != 0 or any(deeper > level for deeper in below)
        below = [other for other in below if other <= level]  # deeper ones are its own
        if kept:
            keep.add(index)
            below.append(level)
    return keep


def _chart(narrator: Narrator, table: Mapping[str, Any]) -> str | None:
    rows = [r for r in table["rows"] if r["key"] != "*"]
    if table["id"] == "by_act" or table["id"] == "by_region":
        rows = [r for r in rows if r["level"] == (1 if table["id"] == "by_region" else 0)]
        rows = [r for r in rows if r["value"] != 0 and r["key"] != "district:-"]
    else:
        rows = [r for r in rows if r["value"] != 0]
    if not rows or all(r["value"] is None for r in rows):
        return None
    return charts.bar_chart(
        [row_label(narrator, table, r) for r in rows],
        [r["value"] for r in rows],
        # A figure published as a range gets no bar either, only its words.
        marks=[
            narrator.value(None, stated=stated) if (stated := stated_range(r)) else None
            for r in rows
        ],
        horizontal=CHARTS[table["id"]],
        title=narrator.text(f"table_{table['id']}"),
        chart_id=f"chart-{table['id']}",
        number=narrator.number,
    )


# --------------------------------------------------------------------------------------------
# Sentences from figures


def _stated(content: Mapping[str, Any], table: str, key: str) -> tuple[int, int] | None:
    """The range a hidden figure is published as, or None."""
    found = content.get("tables", {}).get(table)
    for row in found["rows"] if found else []:
        if row["key"] == key:
            return stated_range(row)
    return None


def _figure(content: Mapping[str, Any], table: str, key: str) -> tuple[int | None, bool]:
    """(value, known): `known` is False when the table is missing (no such figure)."""
    found = content.get("tables", {}).get(table)
    if not found:
        return None, False
    for row in found["rows"]:
        if row["key"] == key:
            return row["value"], True
    return None, False


def summary_paragraphs(narrator: Narrator, content: Mapping[str, Any]) -> list[str]:
    period = ReleasePeriod.from_label(content["period"]["label"])
    status = content["status"]
    threshold = int(
        content["parameters"].get("threshold") or content["parameters"].get("case_threshold")
    )
    period_in = narrator.period_in(period)
    if status == "no_reports":
        return [narrator.text("no_reports", period=narrator.period_title(period))]
    if status == "too_few":
        return [
            narrator.text(
                "too_few", threshold=threshold, period_in=period_in, period_in_cap=_cap(period_in)
            )
        ]
    paragraphs: list[str] = []
    reports = content["reports"]
    persons = content.get("persons_affected")
    if content["method"] == "dp":
        # Noisy figures are never stated as facts: the total with its margin, then the tables.
        return [
            narrator.text(
                "total_dp",
                period_in_cap=_cap(period_in),
                n=narrator.number(int(reports)),
                margin=narrator.number(round(float(content.get("reports_margin") or 0))),
            ),
            *_change_sentences(narrator, content),
        ]
    values = {
        "period_in_cap": _cap(period_in),
        "reports": narrator.counted("reports", int(reports)),
    }
    if persons:
        paragraphs.append(
            narrator.text(
                "total_persons", persons=narrator.counted("persons", int(persons)), **values
            )
        )
    else:
        paragraphs.append(narrator.text("total", **values))
    paragraphs += _change_sentences(narrator, content)
    paragraphs += _topic_sentences(narrator, content)
    return paragraphs


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _change_sentences(narrator: Narrator, content: Mapping[str, Any]) -> list[str]:
    comparison = content.get("comparison") or {}
    reports = (comparison.get("figures") or {}).get("reports")
    if not reports or comparison.get("previous_period") is None:
        return []
    previous = reports["previous"]
    percent = reports["change_percent"]
    previous_in = narrator.period_in(ReleasePeriod.from_label(comparison["previous_period"]))
    if percent is None or previous is None:
        return [narrator.text("no_comparison")]
    values = {
        "percent": narrator.number(abs(percent)),
        "previous_in": previous_in,
        "previous": narrator.number(previous),
    }
    if percent > 0:
        return [narrator.text("more_than", **values)]
    if percent < 0:
        return [narrator.text("fewer_than", **values)]
    return [narrator.text("same_as", **values)]


def _topic_sentences(narrator: Narrator, content: Mapping[str, Any]) -> list[str]:
    sentences: list[str] = []
    acts = content.get("tables", {}).get("by_act")
    if acts:
        groups = [r for r in acts["rows"] if r["level"] == 0 and r["value"]]
        if groups:
            top = max(groups, key=lambda r: (r["value"], r["key"]))
            sentences.append(
                narrator.text(
                    "top_act",
                    label=narrator.label(top["vocabulary"], top["code"]),
                    value=narrator.number(top["value"]),
                )
            )
    airports = content.get("tables", {}).get("by_airport")
    if airports:
        total, _known = _figure(content, "by_airport", "*")
        named = [r for r in airports["rows"] if r["key"] != "*" and r["value"]]
        if total and named:
            top = max(named, key=lambda r: (r["value"], r["key"]))
            sentences.append(
                narrator.text(
                    "airports_top",
                    reports=narrator.counted("reports", total),
                    value=narrator.number(total),
                    label=narrator.label(top["vocabulary"], top["code"]),
                    top=narrator.number(top["value"]),
                )
            )
    military, military_known = _figure(content, "by_act", "group:MIL")
    military_range = _stated(content, "by_act", "group:MIL")
    if military_known and (military or military_range):
        # The service's central question: said even when the figure is small.
        sentences.append(
            _cap(
                narrator.text(
                    "military_pressure",
                    reports=_reports(narrator, military, military_range),
                    value=narrator.value(military, stated=military_range),
                )
            )
        )
    for key in ("contract_offered", "contract_signed", "citizenship_promised"):
        value, known = _figure(content, "coercion", key)
        if not known:
            continue
        short = key.split("_")[1]
        stated = _stated(content, "coercion", key)
        if value is None and stated is not None:
            # "Fewer than 10 reports described ...": true, and all that is safe to say.
            sentences.append(
                _cap(
                    narrator.text(
                        f"coercion_{short}",
                        reports=narrator.fewer_reports(stated),
                        value=narrator.value(None, stated=stated),
                    )
                )
            )
        elif value is None:
            sentences.append(narrator.text("hidden_figure", what=narrator.text(f"flag_{key}")))
        elif value > 0:
            sentences.append(
                narrator.text(
                    f"coercion_{short}",
                    reports=narrator.counted("reports", value),
                    value=narrator.number(value),
                )
            )
    women, women_known = _figure(content, "vulnerable", "women_involved")
    children, children_known = _figure(content, "vulnerable", "children_involved")
    women_range = _stated(content, "vulnerable", "women_involved")
    children_range = _stated(content, "vulnerable", "children_involved")
    if women_known and children_known:
        flag_ranges = {"women_involved": women_range, "children_involved": children_range}
        if (women is None and women_range is None) or (children is None and children_range is None):
            for key, value in (("women_involved", women), ("children_involved", children)):
                if value is None and flag_ranges[key] is None:
                    sentences.append(
                        narrator.text("hidden_figure", what=narrator.text(f"flag_{key}"))
                    )
        else:
            sentences.append(
                narrator.text(
                    "women_children",
                    women=narrator.value(women, stated=women_range),
                    children=narrator.value(children, stated=children_range),
                    women_reports=_reports(narrator, women, women_range),
                    children_reports=_reports(narrator, children, children_range),
                )
            )
    return sentences


def _reports(narrator: Narrator, value: int | None, stated: tuple[int, int] | None) -> str:
    """ "12 reports", or "fewer than 10 reports" for a figure published as a range."""
    if value is None and stated is not None:
        return narrator.fewer_reports(stated)
    return narrator.counted("reports", int(value or 0))


def case_paragraphs(narrator: Narrator, content: Mapping[str, Any]) -> list[str]:
    cases = content.get("case_handling") or {}
    threshold = int(
        content["parameters"].get("threshold") or content["parameters"].get("case_threshold")
    )
    received = cases.get("received")
    if received is None:
        return [narrator.text("cases_withheld", threshold=threshold)]
    if received == 0:
        return []
    status = cases.get("tables", {}).get("case_status", {"rows": []})
    values = {row["key"]: row["value"] for row in status["rows"]}
    paragraphs = [
        narrator.text(
            "cases_received",
            received=narrator.number(received),
            received_reports=narrator.counted("reports", received),
            triaged=narrator.value(values.get("triaged")),
            referred=narrator.value(values.get("referred")),
            closed=narrator.value(values.get("closed")),
        )
    ]
    median = cases.get("median_days_to_triage")
    if median is not None:
        paragraphs.append(narrator.text("cases_median", days=narrator.number(median)))
    paragraphs.append(narrator.text("cases_base"))
    return paragraphs


def method_paragraphs(narrator: Narrator, content: Mapping[str, Any]) -> list[str]:
    parameters = content["parameters"]
    if content["method"] == "dp":
        threshold = int(parameters["case_threshold"])
        first = narrator.text(
            "method_text_dp",
            epsilon=narrator.number(parameters["epsilon"]),
            last_small=threshold - 1,
        )
        budget = content.get("privacy_budget")
        if budget:
            first += " " + narrator.text(
                "method_text_dp_budget",
                epsilon=narrator.number(budget["epsilon_of_figures"]),
                lifetime=narrator.number(budget["lifetime_epsilon"]),
                spent=narrator.number(round(budget["most_spent_on_a_month"], 2)),
                drawn=budget["figures_drawn_on"],
            )
    else:
        threshold = int(parameters["threshold"])
        first = narrator.text(
            "method_text_suppression",
            last_small=threshold - 1,
            width=int(parameters["protection_width"]),
        )
        first += " " + narrator.text(
            "method_text_ranges", n=narrator.number(threshold), last_small=threshold - 1
        )
    return [
        first,
        narrator.text("limit_sample"),
        narrator.text("limit_units"),
        narrator.text("limit_persons", top_code=taxonomy.PERSONS_AFFECTED_TOP_CODE),
        narrator.text("limit_dates"),
        narrator.text("limit_cases"),
    ]


def headline_views(narrator: Narrator, content: Mapping[str, Any]) -> list[HeadlineView]:
    from incident_service.releases.content import HEADLINE_ROWS, headline

    dp = content["method"] == "dp"
    figures = (content.get("comparison") or {}).get("figures") or {}
    views = []
    for key, value in headline(content).items():
        if content["status"] != "ok" and key != "reports":
            continue
        change = ""
        percent = (figures.get(key) or {}).get("change_percent")
        if percent is not None:
            change = f"{'+' if percent > 0 else ''}{narrator.number(percent)} %"
        if dp and key == "reports":
            shown = narrator.value(value, content.get("reports_margin"))
        elif dp and key == "persons_affected":
            shown = narrator.value(value, content.get("persons_affected_margin"))
        else:
            table, row = next((t, r) for k, t, r in HEADLINE_ROWS if k == key)
            stated = _stated(content, table, row or "") if table else None
            shown = narrator.value(value, stated=stated)
        views.append(HeadlineView(narrator.text(f"headline_{key}"), shown, change))
    return views


# --------------------------------------------------------------------------------------------
# Documents


def document_view(content: Mapping[str, Any], language: str, *, digest: str = "") -> DocumentView:
    narrator = Narrator(language)
    dp = content["method"] == "dp"
    tables: dict[str, Any] = dict(content.get("tables", {}))
    tables.update((content.get("case_handling") or {}).get("tables", {}))
    sections: list[SectionView] = []
    if content["status"] == "ok":
        for section_id, table_ids in SECTIONS:
            if section_id == "cases":
                continue
            views = [
                table_view(narrator, tables[t], full=False, dp=dp and t in content["tables"])
                for t in table_ids
                if t in tables
            ]
            if views:
                sections.append(SectionView(section_id, narrator.text(section_id), [], views))
    case_views = [
        table_view(narrator, tables[t], full=False, dp=False)
        for t in dict(SECTIONS)["cases"]
        if t in tables and not tables[t].get("withheld")
    ]
    sections.append(
        SectionView("cases", narrator.text("cases"), case_paragraphs(narrator, content), case_views)
    )
    annex = [
        table_view(narrator, tables[t], full=True, dp=dp and t in content.get("tables", {}))
        for _section, table_ids in SECTIONS
        for t in table_ids
        if t in tables
    ]
    method_name = narrator.text("method_dp" if dp else "method_suppression")
    period_title = narrator.period_title(ReleasePeriod.from_label(content["period"]["label"]))
    return DocumentView(
        language=language,
        title=narrator.text("document_title", period=period_title),
        subtitle=narrator.text("subtitle"),
        period_title=period_title,
        text=_text_table(narrator, content),
        summary=summary_paragraphs(narrator, content),
        headline=headline_views(narrator, content),
        sections=sections,
        method=method_paragraphs(narrator, content),
        annex=annex if content["status"] == "ok" else [],
        footer=narrator.text(
            "generated",
            date=content["generated_on"],
            method=method_name,
            digest=digest[:16] if digest else "—",
        ),
        dp=dp,
        ranges=any(
            stated_range(row) is not None for table in tables.values() for row in table["rows"]
        ),
    )


def _text_table(narrator: Narrator, content: Mapping[str, Any]) -> dict[str, str]:
    keys = (
        "summary",
        "headline_figures",
        "method",
        "annex",
        "category",
        "count",
        "share",
        "change",
        "legend_suppressed",
        "legend_margin",
        "legend_range",
        "figure",
    )
    parameters = content["parameters"]
    threshold = parameters.get("threshold") or parameters.get("case_threshold") or 0
    return {key: narrator.text(key, n=narrator.number(int(threshold))) for key in keys}


def _css(*, for_pdf: bool) -> str:
    css = CSS_PATH.read_text(encoding="utf-8")
    if not for_pdf:
        return css
    fonts = "\n".join(
        f"@font-face {{ font-family: 'Release Sans'; font-weight: {weight}; "
        f"src: url('{(FONTS_DIR / name).as_uri()}'); }}"
        for name, weight in (("DejaVuSans.ttf", "normal"), ("DejaVuSans-Bold.ttf", "bold"))
    )
    return fonts + "\n" + css


def render_document_html(view: DocumentView, *, for_pdf: bool = False) -> str:
    return render_template(
        "summaries/document.html", doc=view, css=_css(for_pdf=for_pdf), for_pdf=for_pdf
    )


# --------------------------------------------------------------------------------------------
# All files of a release


def file_stem(content: Mapping[str, Any]) -> str:
    return f"incidents-{content['period']['label']}-{content['method']}"


def document_views(content: Mapping[str, Any], *, digest: str = "") -> dict[str, DocumentView]:
    """The document in each language of the release (charts drawn once, for HTML and PDF)."""
    return {
        language: document_view(content, language, digest=digest)
        for language in content["parameters"]["languages"]
    }


def render_html(views: Mapping[str, DocumentView]) -> dict[str, str]:
    """The HTML document in each language: the file a reader downloads and what the PDF is
    laid out from."""
    return {language: render_document_html(view) for language, view in views.items()}


def render_text_files(
    content: Mapping[str, Any],
    audit: Mapping[str, Any],
    *,
    digest: str = "",
    views: Mapping[str, DocumentView] | None = None,
    html: Mapping[str, str] | None = None,
) -> list[RenderedFile]:
    """The HTML document in each language, the long CSV, the JSON and the audit."""
    stem = file_stem(content)
    if html is None:
        html = render_html(views or document_views(content, digest=digest))
    files = [
        RenderedFile(f"{stem}.{language}.html", "text/html; charset=utf-8", text.encode("utf-8"))
        for language, text in html.items()
    ]
    files.append(RenderedFile(f"{stem}.csv", "text/csv; charset=utf-8", release_csv(content)))
    files.append(
        RenderedFile(f"{stem}.json", "application/json", release_json(content, digest=digest))
    )
    files.append(RenderedFile("disclosure-audit.json", "application/json", audit_json(audit)))
    return files


def _pdf_layouts(stem: str, html: Mapping[str, str]) -> tuple[list[str], ForkedJobs]:
    """Start laying out the PDF of each language from its HTML file, each in a process of
    its own where that is safe (`pdf.ForkedJobs`)."""
    names = [f"{stem}.{language}.pdf" for language in html]
    # `render_pdf` is looked up when each job runs (tests replace it to skip the layout).
    jobs = [functools.partial(_layout, text) for text in html.values()]
    return names, ForkedJobs(jobs)


def _layout(html: str) -> bytes:
    return render_pdf(pdf_source(html))


def render_pdf_files(
    content: Mapping[str, Any],
    *,
    digest: str = "",
    views: Mapping[str, DocumentView] | None = None,
    html: Mapping[str, str] | None = None,
) -> list[RenderedFile]:
    """The PDF document in each language, laid out from the HTML document."""
    if html is None:
        html = render_html(views or document_views(content, digest=digest))
    names, layouts = _pdf_layouts(file_stem(content), html)
    return [
        RenderedFile(name, "application/pdf", pdf)
        for name, pdf in zip(names, layouts.results(), strict=True)
    ]


def render_release_files(
    content: Mapping[str, Any], audit: Mapping[str, Any], *, digest: str = ""
) -> list[RenderedFile]:
    """Every file of a release. The HTML is rendered once; the PDFs are laid out from it in
    child processes while this one writes the HTML, CSV, JSON and audit files."""
    html = render_html(document_views(content, digest=digest))
    names, layouts = _pdf_layouts(file_stem(content), html)
    text = render_text_files(content, audit, digest=digest, html=html)
    pdfs = [
        RenderedFile(name, "application/pdf", pdf)
        for name, pdf in zip(names, layouts.results(), strict=True)
    ]
    return text + pdfs
