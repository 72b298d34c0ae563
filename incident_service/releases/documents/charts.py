"""Bar charts for releases, written directly as small SVG documents, reproducible byte for byte.

The same SVG goes into the HTML file, the PDF (WeasyPrint lays out inline SVG) and the release
page in the app, so it obeys the strictest of the three: the pages' content security policy
allows no inline styles, so every colour, size and font is a presentation attribute (`fill`,
`font-size`), never a `style` attribute or a `<style>` element; no script, no link, nothing
fetched. Text stays text, so the PDF and the page show it in the document's font, Cyrillic
included, and readers can select and search it.

Accessible: each chart is `role="img"` named by its `<title>` and described by a `<desc>` that
lists every figure, and the same figures stand in the table printed under it. A hidden figure
gets no bar, only the mark "x", so that nothing about its size is implied.

Each figure is written at the end of its bar, with no axis or grid: the figure is read
directly. (WeasyPrint lays SVG text out a letter at a time, but four charts of about a
thousand characters changed the CPU time of a PDF by nothing measurable.)

Text is measured with the advance widths of the shipped DejaVu Sans (the PDF's font), read
once per process; labels wider than the label column are wrapped at spaces. The same figures
always give the same bytes (no dates, no random ids), so a signed release can be regenerated
and compared. Drawing a chart takes about a millisecond; matplotlib, which drew them before,
took 7.7 of the 8.5 s of the HTML stage in the profile in docs/benchmarks.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

from incident_service.releases.documents.pdf import FONTS_DIR

BAR_COLOUR = "#0b4f8a"
TEXT_COLOUR = "#1b1b1b"
MUTED_COLOUR = "#555555"
HIDDEN_MARK = "x"
FONT_FAMILY = "Release Sans, DejaVu Sans, sans-serif"

WIDTH = 620.0  # user units; the chart scales to the column (max-width: 100 %)
LABEL_SIZE = 11.0
SMALL_SIZE = 10.0
LINE_HEIGHT = 13.0
MAX_LABEL_SHARE = 0.42  # of the width, for the label column of a horizontal chart
BAR_THICKNESS = 13.0


@functools.cache
def _advances() -> tuple[dict[int, float], float]:
    """Advance width per code point, in em, from the shipped DejaVu Sans; and a fallback."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(FONTS_DIR / "DejaVuSans.ttf"), lazy=True)
    try:
        units = float(font["head"].unitsPerEm)
        metrics = font["hmtx"].metrics
        widths = {code: metrics[glyph][0] / units for code, glyph in font.getBestCmap().items()}
    finally:
        font.close()
    return widths, widths.get(ord("0"), 0.64)


def text_width(text: str, size: float) -> float:
    """The width of `text` set in DejaVu Sans at `size` (user units)."""
    widths, fallback = _advances()
    return size * sum(widths.get(ord(character), fallback) for character in text)


def _wrap(text: str, width: float, size: float) -> list[str]:
    """`text` in lines no wider than `width` where spaces allow (a single long word stays
    whole: it is never cut, the table under the chart has it in full anyway)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and text_width(candidate, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return lines


def _n(value: float) -> str:
    """A coordinate: at most one decimal, no trailing zero (stable, compact output)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: float = LABEL_SIZE,
    anchor: str = "start",
    colour: str = TEXT_COLOUR,
) -> str:
    anchor_attribute = "" if anchor == "start" else f' text-anchor="{anchor}"'
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}"{anchor_attribute}'
        f' fill="{colour}">{escape(content)}</text>'
    )


def _document(
    width: float,
    height: float,
    title: str,
    description: str,
    chart_id: str,
    body: list[str],
) -> str:
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" role="img"'
        f' width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}"'
        f' aria-labelledby="{title_id} {desc_id}" font-family={quoteattr(FONT_FAMILY)}>'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{desc_id}">{escape(description)}</desc>' + "".join(body) + "</svg>"
    )


def bar_chart(
    labels: Sequence[str],
    values: Sequence[int | None],
    *,
    horizontal: bool = True,
    title: str = "",
    chart_id: str = "chart",
    number: Callable[[int], str] = str,
    marks: Sequence[str | None] | None = None,
) -> str:
    """A bar per label with its figure at the end, as an inline SVG element.

    `title` names the chart for assistive technology (the table's title); `chart_id` makes
    the ids of its title and description unique in the page; `number` formats figures in the
    document's language. A hidden figure (`None`) gets no bar, only the mark: its entry in
    `marks` if given (a figure published as "fewer than 10"), else "x".
    """
    if len(labels) != len(values) or (marks is not None and len(marks) != len(values)):
        raise ValueError("one value per label")
    given = list(marks) if marks is not None else [None] * len(values)
    shown = [
        number(v) if v is not None else (mark or HIDDEN_MARK)
        for v, mark in zip(values, given, strict=True)
    ]
    description = "; ".join(f"{label}: {text}" for label, text in zip(labels, shown, strict=True))
    largest = max((v for v in values if v is not None), default=0)
    draw = _horizontal if horizontal else _vertical
    width, height, body = draw(list(labels), list(values), shown, max(largest, 1))
    return _document(width, height, title or description, description, chart_id, body)


def _horizontal(
    labels: list[str],
    values: list[int | None],
    shown: list[str],
    top_value: int,
) -> tuple[float, float, list[str]]:
    """Categories down the left, bars to the right, each figure at the end of its bar."""
    limit = WIDTH * MAX_LABEL_SHARE
    wrapped = [_wrap(label, limit, LABEL_SIZE) for label in labels]
    label_width = max(text_width(line, LABEL_SIZE) for lines in wrapped for line in lines)
    left = min(label_width, limit) + 10
    value_room = max(text_width(text, SMALL_SIZE) for text in shown) + 8
    scale = (WIDTH - value_room - left) / top_value
    body: list[str] = []
    rows: list[tuple[float, float]] = []  # (top, height) of each row
    y = 6.0
    for lines in wrapped:
        row_height = max(22.0, len(lines) * LINE_HEIGHT + 8)
        rows.append((y, row_height))
        y += row_height
    plot_bottom = y + 2
    height = plot_bottom + 4
    for lines, value, text, (top, row_height) in zip(wrapped, values, shown, rows, strict=True):
        middle = top + row_height / 2
        first = middle - (len(lines) - 1) * LINE_HEIGHT / 2 + LABEL_SIZE * 0.35
        for index, line in enumerate(lines):
            body.append(_text(left - 8, first + index * LINE_HEIGHT, line, anchor="end"))
        length = (value or 0) * scale
        if value:
            body.append(
                f'<rect x="{_n(left)}" y="{_n(middle - BAR_THICKNESS / 2)}"'
                f' width="{_n(length)}" height="{_n(BAR_THICKNESS)}" fill="{BAR_COLOUR}"/>'
            )
        body.append(_text(left + length + 4, middle + SMALL_SIZE * 0.35, text, size=SMALL_SIZE))
    body.append(
        f'<line x1="{_n(left)}" y1="2" x2="{_n(left)}" y2="{_n(plot_bottom)}"'
        f' stroke="{MUTED_COLOUR}" stroke-width="1"/>'
    )
    return WIDTH, height, body


def _vertical(
    labels: list[str],
    values: list[int | None],
    shown: list[str],
    top_value: int,
) -> tuple[float, float, list[str]]:
    """Categories along the bottom (months), bars upwards, each figure above its bar."""
    left = 4.0
    slot = (WIDTH - left - 4) / len(labels)
    wrapped = [_wrap(label, slot - 6, LABEL_SIZE) for label in labels]
    lines_below = max(len(lines) for lines in wrapped)
    top, plot_height = 18.0, 150.0
    base = top + plot_height
    height = base + 8 + lines_below * LINE_HEIGHT + 4
    scale = plot_height / top_value
    body: list[str] = []
    bar_width = min(slot * 0.6, 80.0)
    for index, (lines, value, text) in enumerate(zip(wrapped, values, shown, strict=True)):
        centre = left + slot * (index + 0.5)
        length = (value or 0) * scale
        if value:
            body.append(
                f'<rect x="{_n(centre - bar_width / 2)}" y="{_n(base - length)}"'
                f' width="{_n(bar_width)}" height="{_n(length)}" fill="{BAR_COLOUR}"/>'
            )
        body.append(_text(centre, base - length - 4, text, size=SMALL_SIZE, anchor="middle"))
        for number_of_line, line in enumerate(lines):
            y = base + 6 + LABEL_SIZE + number_of_line * LINE_HEIGHT
            body.append(_text(centre, y, line, anchor="middle"))
    body.append(
        f'<line x1="{_n(left)}" y1="{_n(base)}" x2="{_n(WIDTH - 4)}" y2="{_n(base)}"'
        f' stroke="{MUTED_COLOUR}" stroke-width="1"/>'
    )
    return WIDTH, height, body
