"""Laying out a release document as PDF with WeasyPrint, without reaching the network.

The URL fetcher refuses every network address and serves only the fonts shipped in
`static/fonts/`, so that rendering can neither leak nor depend on what happens to be installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from incident_service.resources import resource_dir

FONTS_DIR = resource_dir("static") / "fonts"


class RenderError(Exception):
    """A file of a release could not be rendered."""


class NetworkRefused(Exception):
    """The renderer asked for something other than a shipped font or inline data."""


def _offline_fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves the shipped fonts and inline `data:` URLs and
    refuses everything else, fatally: a release must never reach the network while it is
    rendered, nor read files outside `static/fonts/`, nor quietly fall back to system fonts."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class OfflineFetcher(URLFetcher):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(
                allowed_protocols=("file", "data"), allow_redirects=False, fail_on_errors=True
            )

        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(url2pathname(parsed.path)).resolve()
                if path.parent == FONTS_DIR.resolve() and path.suffix == ".ttf" and path.is_file():
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": "font/ttf"})
            elif parsed.scheme == "data":
                return super().fetch(url, headers)  # decoded locally, no connection
            raise NetworkRefused(f"refused to fetch a {parsed.scheme or 'relative'} resource")

    return OfflineFetcher()


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    document = HTML(string=html, url_fetcher=_offline_fetcher(), base_url=None)
    pdf = document.write_pdf(font_config=fonts)
    if not pdf:
        raise RenderError("WeasyPrint produced no PDF")
    return bytes(pdf)
