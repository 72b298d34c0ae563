"""Attack: burying the queue under invented reports, and locking reporters out of their receipts.

Promise: one address bucket gets one filing allowance, whichever door it uses (the form or the
API without a token); an IPv6 subscriber's /64 is one bucket; only a partner app's token buys a
quota of its own. A stranger's mistyped receipts behind the same carrier address cannot lock a
reporter out of their own receipt for long.
"""

from __future__ import annotations

import pytest

from incident_service.auth import api_tokens
from incident_service.models import Report, db
from tests.factories import report_payload
from tests.reporter_helpers import form_data, post_and_follow, receipt_on

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _stored(app) -> int:
    with app.app_context():
        return db.session.query(Report).count()


def test_does_the_api_without_a_token_share_the_forms_allowance(app):
    """The abuser files 5 through the form, then tries 40 in a row through the API."""
    app.config.update(REPORT_RATE_LIMIT="5 per hour", API_REPORT_RATE_LIMIT="600 per hour")
    client = app.test_client()
    for _ in range(5):
        assert receipt_on(post_and_follow(client, "/report", form_data())) is not None
    codes = [client.post("/api/v1/reports", json=report_payload()).status_code for _ in range(40)]
    assert codes == [429] * 40
    assert _stored(app) == 5


def test_does_one_ipv6_64_get_one_allowance_however_many_addresses_it_uses(app):
    app.config["REPORT_RATE_LIMIT"] = "10 per hour"
    client = app.test_client()
    accepted = 0
    for host in range(1, 12):  # eleven addresses of one /64
        client.environ_base["REMOTE_ADDR"] = f"2a02:2168:8f1:4e00::{host:x}"
        accepted += receipt_on(post_and_follow(client, "/report", form_data())) is not None
    assert accepted == 10


def test_does_a_partner_token_buy_its_own_quota_and_an_invalid_one_nothing(app):
    app.config.update(REPORT_RATE_LIMIT="2 per hour", API_REPORT_RATE_LIMIT="30 per hour")
    with app.app_context():
        _row, token = api_tokens.issue_partner_token(label="SYNTHETIC relay bot")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    codes = [
        client.post("/api/v1/reports", json=report_payload(), headers=headers).status_code
        for _ in range(12)
    ]
    assert codes == [201] * 12  # more than the address allowance, from one address
    forged = client.post(
        "/api/v1/reports", json=report_payload(), headers={"Authorization": "Bearer isv1_x"}
    )
    assert forged.status_code == 401
    official = client.get("/api/v1/summaries", headers=headers)
    assert official.status_code == 401, "a partner token must not read officials' summaries"
