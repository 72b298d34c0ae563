"""/healthz: monitoring sees the pipeline; a stranger sees only whether the service is up."""

from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture
def production_like(app):
    """The app as production would answer /healthz (other production checks not involved)."""
    settings = app.extensions["incident_config"]
    app.extensions["incident_config"] = dataclasses.replace(settings, INCIDENT_ENV="production")
    yield app
    app.extensions["incident_config"] = settings
    app.config["HEALTHZ_TOKEN"] = ""


def test_does_a_stranger_learn_nothing_about_report_arrivals_in_production(production_like):
    response = production_like.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": True}


def test_does_monitoring_with_the_token_see_the_pipeline(production_like):
    production_like.config["HEALTHZ_TOKEN"] = "monitoring-token-0123456789"
    client = production_like.test_client()
    wrong = client.get("/healthz", headers={"Authorization": "Bearer guess"}).get_json()
    assert "awaiting_anonymisation" not in wrong
    right = client.get(
        "/healthz", headers={"Authorization": "Bearer monitoring-token-0123456789"}
    ).get_json()
    assert right["database"] is True and "awaiting_anonymisation" in right


def test_does_a_developer_see_everything_without_a_token(client):
    body = client.get("/healthz").get_json()
    assert {"database", "awaiting_anonymisation", "awaiting_clean_copy", "mode"} <= set(body)


def test_does_monitoring_see_the_evidence_workers_backlog(app, client):
    """The evidence worker answers no ping of its own: the count of files still waiting for a
    clean copy is what shows it stopped, and it falls back to 0 once the copies are made."""
    from incident_service.evidence.cleaning import make_clean_copies
    from tests import evidence_samples as samples
    from tests.evidence_helpers import receive

    with app.app_context():
        receive(samples.jpeg())
        receive(samples.png())
    assert client.get("/healthz").get_json()["awaiting_clean_copy"] == 2
    with app.app_context():
        make_clean_copies()
    assert client.get("/healthz").get_json()["awaiting_clean_copy"] == 0
