"""PostgreSQL unreachable: do reporters and partner apps get 503 with `Retry-After` — the form
back with everything typed, a problem document for the API — and does the log get one line for
the outage instead of a traceback per request?

The outage is real: the app's engine is sent to a port where nothing listens, so the driver
fails to connect exactly as it does when PostgreSQL is stopped.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from incident_service.database_outage import outage_log
from incident_service.models import db
from tests.conftest import build_app
from tests.factories import report_payload
from tests.reporter_helpers import form_data, open_form, receipt_on, report_count, text_of


@pytest.fixture
def pg_app(tmp_path: Path) -> Iterator[Flask]:
    outage_log.reset()
    yield from build_app(tmp_path, "postgresql")
    outage_log.reset()


class Outage:
    """While on, every new connection of the app's engine goes to a closed port."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        # Bound, never listening: connections are refused, and no other process can take it.
        self.closed = socket.socket()
        self.closed.bind(("127.0.0.1", 0))
        self.port = self.closed.getsockname()[1]
        with app.app_context():
            self.engine = db.engine

    def _elsewhere(self, _dialect: Any, _record: Any, _args: Any, params: dict) -> None:
        params.update(host="127.0.0.1", port=self.port, connect_timeout=2)

    def __enter__(self) -> Outage:
        event.listen(self.engine, "do_connect", self._elsewhere)
        self.engine.dispose()  # pooled connections go, as when the server stops
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "do_connect", self._elsewhere)
        self.engine.dispose()
        self.closed.close()


class _FormReader(HTMLParser):
    """What a browser would send for the page's report form, as it stands."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            if "value" in a:
                self.fields.append((self._select, a["value"]))
            else:  # the option's text is its value
                self._textarea, self._text = self._select, []
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag in ("textarea", "option") and self._textarea:
            text = "".join(self._text)
            text = text.removeprefix("\n") if tag == "textarea" else text.strip()
            self.fields.append((self._textarea, text))
            self._textarea = None


def form_on(page: str) -> dict[str, list[str]]:
    reader = _FormReader()
    reader.feed(page)
    found: dict[str, list[str]] = {}
    for name, value in reader.fields:
        found.setdefault(name, []).append(value)
    return found


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "database unavailable" in r.getMessage()]


def test_does_a_reporter_get_the_form_back_with_every_answer_and_send_it_again_later(
    pg_app, caplog
):
    client = pg_app.test_client()
    client.get("/?lang=ru")
    typed = form_data(narrative="SYNTHETIC: нас держали три часа в терминале")
    posted = {**open_form(client), **typed}
    caplog.set_level(logging.INFO)
    with Outage(pg_app):
        answers = [client.post("/report", data=posted) for _ in range(3)]
    response = answers[-1]
    page = response.get_data(as_text=True)
    assert [a.status_code for a in answers] == [503, 503, 503]
    assert response.headers["Retry-After"] == "30"
    assert '<html lang="ru">' in page
    assert "Сейчас сообщение не удалось отправить" in text_of(page)
    # Every answer is still on the form, as typed.
    on_page = form_on(page)
    for name, value in typed.items():
        assert on_page.get(name) == (value if isinstance(value, list) else [value]), name
    assert report_count(pg_app) == 0
    # The outage is one line in the log, without a traceback or the server's address.
    lines = outage_lines(caplog)
    assert len(lines) == 1
    assert lines[0].exc_info is None and "Traceback" not in caplog.text
    assert "OperationalError" in lines[0].getMessage()
    assert "127.0.0.1" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r not in lines]

    # PostgreSQL is back: the page as it stands is sent again, and stored once.
    resent = client.post("/report", data=on_page, follow_redirects=True)
    assert resent.status_code == 200 and receipt_on(resent) is not None
    assert report_count(pg_app) == 1


def test_does_a_partner_app_get_a_problem_document_with_retry_after(pg_app, caplog):
    client = pg_app.test_client()
    caplog.set_level(logging.INFO)
    with Outage(pg_app):
        answers = [client.post("/api/v1/reports?lang=tg", json=report_payload()) for _ in range(5)]
    for response in answers:
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert response.headers["Retry-After"] == "30"
    problem = json.loads(answers[0].get_data())
    assert problem["status"] == 503
    assert problem["title"].startswith("Хизматрасонӣ муваққатан дастнорас аст.")
    assert len(outage_lines(caplog)) == 1 and "Traceback" not in caplog.text
    with pg_app.app_context():
        assert report_count(pg_app) == 0
    # Back again: the same report goes through.
    assert client.post("/api/v1/reports", json=report_payload()).status_code == 201


def test_do_pages_that_read_the_database_answer_503_in_the_visitors_language(pg_app, caplog):
    client = pg_app.test_client()
    caplog.set_level(logging.INFO)
    with Outage(pg_app):
        lookup = client.post("/status", data={"receipt": "1234 5678 9012 3456 7890", "lang": "uz"})
        login = client.post(
            "/login",
            data={"email": "someone@example.org", "password": "x" * 20},
            headers={"Accept-Language": "ru"},
        )
        health = client.get("/healthz")
        # What does not read the database still works: the start page and a blank form.
        start, blank = client.get("/?lang=uz"), client.get("/report/full")
        quick = client.get("/report")
    assert start.status_code == 200 and blank.status_code == 200 and quick.status_code == 200
    assert 'name="narrative"' in blank.get_data(as_text=True)
    assert 'name="consent_statistics"' in quick.get_data(as_text=True)
    assert lookup.status_code == 503 and lookup.headers["Retry-After"] == "30"
    assert "Xizmat qisqa vaqtga ishlamayapti" in text_of(lookup.get_data(as_text=True))
    assert login.status_code == 503
    assert "Сервис ненадолго недоступен" in text_of(login.get_data(as_text=True))
    assert health.status_code == 503 and health.get_json()["database"] is False
    assert len(outage_lines(caplog)) == 1 and "Traceback" not in caplog.text


def test_does_a_long_outage_log_one_line_a_minute_with_how_many_were_refused(caplog, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from incident_service import database_outage

    clock = [1000.0]
    monkeypatch.setattr(database_outage.time, "monotonic", lambda: clock[0])
    log = database_outage._OutageLog(60.0)
    error = OperationalError("SELECT 1", {}, ConnectionRefusedError("127.0.0.1:5432 refused"))
    caplog.set_level(logging.INFO)
    for second in range(0, 150):  # two and a half minutes, one refused request a second
        clock[0] = 1000.0 + second
        log.note(error)
    lines = outage_lines(caplog)
    assert len(lines) == 3  # at 0 s, 60 s and 120 s
    counts = [int(re.search(r"to (\d+) request", line.getMessage())[1]) for line in lines]
    assert counts == [1, 60, 60]
    assert "127.0.0.1" not in caplog.text
