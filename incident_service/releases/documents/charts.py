"""SVG bar charts for releases, drawn with matplotlib's Agg backend, reproducible byte for byte.

A fixed hash salt and no date make the same figures give the same file (a signed release can
be regenerated and compared). Text stays text (`svg.fonttype = "none"`), so the PDF and HTML
show it in the document's own font, Cyrillic included, and readers can select it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt
from matplotlib.ticker import MaxNLocator

matplotlib.rcParams.update(
    {
        "svg.hashsalt": "incident-service-release",
        "svg.fonttype": "none",
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)

BAR_COLOUR = "#0b4f8a"
HIDDEN_MARK = "x"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[int | None],
    *,
    horizontal: bool = True,
    width_inches: float = 6.2,
) -> str:
    """A bar per label; a hidden figure gets no bar, only the mark, so nothing is implied."""
    count = len(labels)
    height = max(1.6, 0.28 * count + 0.7) if horizontal else 2.6
    figure, axes = plt.subplots(figsize=(width_inches, height))
    shown = [v if v is not None else 0 for v in values]
    positions = list(range(count))
    if horizontal:
        axes.barh(positions, shown, color=BAR_COLOUR)
        axes.set_yticks(positions, labels=list(labels))
        axes.invert_yaxis()
        for position, value in zip(positions, values, strict=True):
            if value is None:
                axes.text(0, position, f" {HIDDEN_MARK}", va="center", ha="left")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        axes.bar(positions, shown, color=BAR_COLOUR)
        axes.set_xticks(positions, labels=list(labels))
        for position, value in zip(positions, values, strict=True):
            if value is None:
                axes.text(position, 0, HIDDEN_MARK, va="bottom", ha="center")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(figure)
    svg = buffer.getvalue()
    # Drop the XML prologue and DOCTYPE: the SVG is embedded inline in HTML.
    return svg[svg.index("<svg") :]
