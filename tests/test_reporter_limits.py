"""Filing limits: one address cannot flood the queue, and nothing typed is lost when refused."""

from __future__ import annotations

from incident_service.models import Report, db
from tests.factories import report_payload
from tests.reporter_helpers import form_data


def test_is_the_form_refused_after_the_limit_with_everything_typed_kept(app):
    app.config["REPORT_RATE_LIMIT"] = "2 per hour"
    client = app.test_client()
    for _ in range(2):
        assert client.post("/report", data=form_data()).status_code == 200
    refused = client.post("/report", data=form_data(narrative="SYNTHETIC third, kept as typed"))
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "SYNTHETIC third, kept as typed" in page
    with app.app_context():
        assert db.session.query(Report).count() == 2


def test_do_refused_or_invalid_forms_not_use_up_the_allowance(app):
    """Only stored reports count: a reporter fixing a mistake is never locked out."""
    app.config["REPORT_RATE_LIMIT"] = "2 per hour"
    client = app.test_client()
    for _ in range(5):
        assert client.post("/report", data=form_data(acts=None)).status_code == 422
    assert client.post("/report", data=form_data()).status_code == 200


def test_is_the_api_limited_per_address_with_a_problem_document(app):
    app.config["API_REPORT_RATE_LIMIT"] = "3 per hour"
    client = app.test_client()
    for _ in range(3):
        assert client.post("/api/v1/reports", json=report_payload()).status_code == 201
    refused = client.post("/api/v1/reports", json=report_payload())
    assert refused.status_code == 429
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    other_address = client.post(
        "/api/v1/reports", json=report_payload(), environ_base={"REMOTE_ADDR": "192.0.2.9"}
    )
    assert other_address.status_code == 201


def test_does_switching_language_on_the_form_not_use_up_the_allowance(app):
    app.config["REPORT_RATE_LIMIT"] = "2 per hour"
    client = app.test_client()
    for language in ("tg", "uz", "ky", "ru", "en"):
        assert client.post("/report", data={**form_data(), "lang": language}).status_code == 200
    assert client.post("/report", data=form_data()).status_code == 200
    assert client.post("/report", data=form_data()).status_code == 200
    with app.app_context():
        assert db.session.query(Report).count() == 2
