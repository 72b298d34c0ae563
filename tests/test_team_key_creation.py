"""Only the operator's command line makes a team key pair: a web or worker process that finds
no organisation (intake reaches `ensure_organisation`) refuses with a clear error instead of
generating a private key it must never hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from incident_service.auth import teams
from incident_service.models import Organisation, TeamKey, db
from tests.conftest import build_app
from tests.factories import report_payload


@pytest.fixture(params=["web", "worker"])
def serving_app(request, tmp_path):
    for app in build_app(tmp_path, "sqlite", create_tables=False, PROCESS_ROLE=request.param):
        with app.app_context():
            db.create_all()  # the schema, but nobody ran `incident-service init`
        yield app


def test_does_a_serving_process_refuse_to_make_a_team_key(serving_app):
    with serving_app.app_context(), pytest.raises(teams.TeamKeyCreationRefused) as refused:
        teams.ensure_organisation()
    assert "incident-service init" in str(refused.value)
    assert "\n" not in str(refused.value)
    with serving_app.app_context():
        assert db.session.scalars(select(TeamKey)).all() == []
    keys_dir = Path(serving_app.config["KEYS_DIR"])
    assert not teams.bootstrap_path(keys_dir, teams.DEFAULT_ORGANISATION_SLUG).exists()


@pytest.mark.parametrize("serving_app", ["web"], indirect=True)
def test_is_a_report_to_a_missing_organisation_refused_with_the_reason_logged(serving_app, caplog):
    serving_app.config["PROPAGATE_EXCEPTIONS"] = False  # as deployed, not as under test
    response = serving_app.test_client().post("/api/v1/reports", json=report_payload())
    assert response.status_code == 500
    assert "SYNTHETIC" not in response.get_data(as_text=True)
    # Flask logs the unhandled error; the redaction filter has turned its traceback into text.
    logged = [f"{r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records]
    assert any("run `incident-service init`" in text for text in logged), logged
    with serving_app.app_context():
        assert db.session.scalars(select(Organisation)).all() == []
        assert db.session.scalars(select(TeamKey)).all() == []
