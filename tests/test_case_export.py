"""Case export to PDF: only the ticked parts, never a network fetch, always in the audit trail."""

from __future__ import annotations

import base64
import http.server
import io
import json
import threading

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from incident_service.cases.export import OfflineFetcher, render_pdf
from incident_service.constants import Role
from incident_service.models import AuditEntry, db
from tests.factories import submit
from tests.staff import login, make_staff


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_does_the_pdf_hold_only_the_parts_the_caseworker_ticked(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        result = submit(
            narrative="SYNTHETIC NARRATIVE-MARKER held at the airport",
            contact={"channel": "PHONE", "value": "CONTACT-MARKER"},
        )
    client = app.test_client()
    login(client, worker)
    client.post(f"/cases/{result.report_id}/notes", data={"text": "NOTE-MARKER internal"})
    form = client.get(f"/cases/{result.report_id}/export")
    assert form.status_code == 200
    assert 'type="checkbox"' in form.get_data(as_text=True)
    assert "checked" not in form.get_data(as_text=True)  # nothing is included by default
    response = client.post(
        f"/cases/{result.report_id}/export", data={"narrative": "y", "coded": "y"}
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = _pdf_text(response.data)
    assert "NARRATIVE-MARKER" in text
    assert "BRD.02" in text
    assert "CONTACT-MARKER" not in text
    assert "NOTE-MARKER" not in text
    with app.app_context():
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "report.export")
        )
        assert entry.actor_id == worker.user_id and entry.object_id == result.report_id
        assert json.loads(entry.detail)["parts"] == ["coded", "narrative"]


def test_is_an_export_with_nothing_ticked_refused_and_not_logged(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        result = submit()
    client = app.test_client()
    login(client, worker)
    response = client.post(f"/cases/{result.report_id}/export", data={})
    assert response.status_code == 400
    assert "Tick at least one" in response.get_data(as_text=True)
    with app.app_context():
        assert not list(
            db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.export"))
        )


def test_does_cyrillic_report_text_survive_into_the_pdf(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        result = submit(narrative="СИНТЕТИКА: нас держали три часа в Пулково")
    client = app.test_client()
    login(client, worker)
    response = client.post(f"/cases/{result.report_id}/export", data={"narrative": "y"})
    assert "нас держали три часа" in _pdf_text(response.data)


@pytest.fixture
def listener():
    """A local HTTP server that counts requests: an export must never reach it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body{color:red}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_does_rendering_refuse_every_url_except_inline_data(listener):
    base, hits = listener
    pixel = base64.b64encode(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
    ).decode()
    html = f"""<html><head><link rel="stylesheet" href="{base}/style.css">
    <style>@import url("{base}/import.css"); body {{ background: url("{base}/bg.png"); }}</style>
    </head><body><img src="{base}/img.png"><img src="file:///etc/passwd">
    <img src="data:image/png;base64,{pixel}"><p>hello</p></body></html>"""
    pdf = render_pdf(html)
    assert pdf.startswith(b"%PDF")
    assert hits == []
    fetcher = OfflineFetcher()
    with pytest.raises(ValueError):
        fetcher.fetch(f"{base}/x")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/hostname")
    assert fetcher.fetch(f"data:image/png;base64,{pixel}").read().startswith(b"\x89PNG")


def test_does_the_priority_travel_only_with_the_coded_answers(app):
    """A priority names what happened (still detained): an export of the narrative alone must
    not carry it, an export with the coded answers does."""
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        result = submit(outcome="DET", narrative="SYNTHETIC NARRATIVE-MARKER")
    client = app.test_client()
    login(client, worker)
    narrative_only = _pdf_text(
        client.post(f"/cases/{result.report_id}/export", data={"narrative": "y"}).data
    )
    with_coded = _pdf_text(
        client.post(f"/cases/{result.report_id}/export", data={"narrative": "y", "coded": "y"}).data
    )
    assert "NARRATIVE-MARKER" in narrative_only and "Priority" not in narrative_only
    assert "Priority" in with_coded
