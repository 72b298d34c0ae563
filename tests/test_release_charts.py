"""Release charts as an official meets them: on the release page in the app, in the HTML file
and in the PDF, the same charts, readable without JavaScript or styles from the page, and
described for a screen reader."""

from __future__ import annotations

import html
import io
import re

import pypdf

from incident_service.constants import Role
from incident_service.models import User, db
from incident_service.releases.documents import charts
from incident_service.releases.lifecycle import generate_release, publish_release
from tests.release_helpers import Q4, TODAY
from tests.staff import login, make_staff
from tests.statistics_factory import insert_records

SVG = re.compile(r"<svg\b.*?</svg>", re.S)
TEXT = re.compile(r"<text\b[^>]*>(.*?)</text>", re.S)


def _texts(svg: str) -> list[str]:
    return [html.unescape(text) for text in TEXT.findall(svg)]


def _runs_in_order(lines: list[str], wanted: list[str]) -> bool:
    """Is `wanted` a run of consecutive lines of `lines`?"""
    return any(lines[i : i + len(wanted)] == wanted for i in range(len(lines) - len(wanted) + 1))


def test_does_the_release_page_show_every_chart_the_pdf_draws(app):
    """Does an official see on the release page each chart the PDF has (the same SVG as the
    downloaded HTML, every label and figure of which the PDF draws), each named and described
    for a screen reader, with its figures also in a table, and nothing the page's policy
    would block or that runs?"""
    with app.app_context():
        insert_records(400, months=Q4, seed=31)
        release = generate_release(period="2024-Q4", today=TODAY, parameters={"languages": ["ru"]})
        supervisor = make_staff(role=Role.SUPERVISOR)
        publish_release(release.id, actor=db.session.get(User, supervisor.user_id))
        db.session.commit()
        files = {file.name: file.content for file in release.files}
        release_id = release.id
        official = make_staff(role=Role.OFFICIAL)
    client = app.test_client()
    login(client, official)
    response = client.get(f"/summaries/{release_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    document = next(c for n, c in files.items() if n.endswith(".ru.html")).decode()
    pdf = pypdf.PdfReader(io.BytesIO(next(c for n, c in files.items() if n.endswith(".ru.pdf"))))
    lines = [
        line.strip() for p in pdf.pages for line in p.extract_text().splitlines() if line.strip()
    ]

    shown = SVG.findall(page)
    # Months, acts, regions and airports all have figures in this quarter.
    assert len(shown) == 4, len(shown)
    assert shown == SVG.findall(document)  # the very charts of the file the PDF is laid out from
    for svg in shown:
        texts = _texts(svg)
        assert _runs_in_order(lines, texts), f"the PDF does not draw {texts[:6]}…"
        # Named and described, the description listing the figures.
        title = re.search(r'<title id="([^"]+)">([^<]+)</title>', svg)
        desc = re.search(r'<desc id="([^"]+)">([^<]+)</desc>', svg)
        assert title and desc and 'role="img"' in svg
        assert f'aria-labelledby="{title.group(1)} {desc.group(1)}"' in svg
        assert page.count(f'id="{title.group(1)}"') == 1  # unique in the page
        # Nothing the content security policy blocks (inline styles) or that could run or fetch.
        for forbidden in ("style=", "<style", "<script", "href", "url(", " on"):
            assert forbidden not in svg, forbidden
        # Every figure of the chart is also in a table of the page.
        for item in html.unescape(desc.group(2)).split("; "):
            label, value = item.rsplit(": ", 1)
            row = f'<td>{html.escape(label, quote=False)}</td><td class="n">{value}</td>'
            assert row in page, row
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "script-src" not in policy
    assert "<script" not in page


def test_does_a_hidden_figure_get_no_bar_only_the_mark():
    """A figure withheld for protection must not be drawn at any size: no bar, the "x" mark,
    and the description says "x" too."""
    svg = charts.bar_chart(["Москва", "Казань", "Сочи"], [40, None, 12], title="Регионы")
    assert svg.count("<rect") == 2
    assert "Казань: x" in svg
    assert _texts(svg).count("x") == 1
    # Wide labels wrap rather than run off the chart.
    long = charts.bar_chart(["очень " * 20], [3])
    assert len([t for t in _texts(long) if t.startswith("очень")]) > 1
