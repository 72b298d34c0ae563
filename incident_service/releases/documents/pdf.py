"""Laying out a release document as PDF with WeasyPrint, without reaching the network.

The URL fetcher refuses every network address and serves only the fonts shipped in
`static/fonts/`, so that rendering can neither leak nor depend on what happens to be installed.

Laying out is pure Python (a few seconds per document) and one document per language is
independent of the others, so `ForkedJobs` lays them out in forked child processes, one core
each, while the parent writes the other files (see `render.render_release_files`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any
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


def pdf_source(html: str) -> str:
    """The release's HTML file as the PDF is laid out from it: the same bytes, with the shipped
    fonts declared first (a browser opening the file uses its own DejaVu Sans or sans-serif;
    the PDF must embed exactly the shipped font files)."""
    fonts = "\n".join(
        f"@font-face {{ font-family: 'Release Sans'; font-weight: {weight}; "
        f"src: url('{(FONTS_DIR / name).as_uri()}'); }}"
        for name, weight in (("DejaVuSans.ttf", "normal"), ("DejaVuSans-Bold.ttf", "bold"))
    )
    if "<style>" not in html:
        raise RenderError("the release document has no style sheet to add the fonts to")
    return html.replace("<style>", "<style>\n" + fonts, 1)


def _can_fork() -> bool:
    """Forking is safe only from a process with one thread (a lock another thread held at
    the fork would never be released in the child) and useful only with a second core."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1 and threading.active_count() == 1


class ForkedJobs:
    """Run functions that return bytes in forked children, started at once; `results()` waits
    for them. Where forking is unsafe or pointless (see `_can_fork`), or a child fails, the
    function runs here instead, so the outcome never depends on forking.

    A child only runs its function, writes the bytes to a temporary file the parent opened
    and leaves with `os._exit` (no exit handlers, no database: the parent's connections are
    never touched). A file rather than a pipe, so that a child never waits for its parent.
    """

    def __init__(self, jobs: Sequence[Callable[[], bytes]]) -> None:
        self._jobs = list(jobs)
        self._children: list[tuple[int, IO[bytes]] | None] = []
        fork = _can_fork()
        for job in self._jobs:
            self._children.append(self._start(job) if fork else None)

    @staticmethod
    def _start(job: Callable[[], bytes]) -> tuple[int, IO[bytes]] | None:
        output = tempfile.TemporaryFile()  # noqa: SIM115 (closed in results())
        gc.freeze()  # the child never collects (or writes to) the parent's objects
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            output.close()
            return None
        if pid == 0:  # the child
            status = 1
            try:
                data = job()
                output.write(data)
                output.flush()
                status = 0
            finally:
                os._exit(status)
        gc.unfreeze()
        return pid, output

    def results(self) -> list[bytes]:
        """Each function's bytes, in order (a job whose child failed runs here)."""
        outcomes: list[bytes] = []
        try:
            for job, child in zip(self._jobs, self._children, strict=True):
                data = self._collect(child)
                outcomes.append(data if data is not None else job())
        finally:
            self._reap()
        return outcomes

    @staticmethod
    def _collect(child: tuple[int, IO[bytes]] | None) -> bytes | None:
        if child is None:
            return None
        pid, output = child
        _pid, status = os.waitpid(pid, 0)
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            return None
        output.seek(0)
        data = output.read()
        return data or None

    def _reap(self) -> None:
        """Close the files; end and wait for any child still running (after an error here)."""
        for child in self._children:
            if child is None:
                continue
            pid, output = child
            output.close()
            with contextlib.suppress(ChildProcessError):
                finished, _status = os.waitpid(pid, os.WNOHANG)
                if finished == 0:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
        self._children = [None for _ in self._children]
