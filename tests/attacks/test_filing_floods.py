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


def test_do_a_strangers_typos_lock_a_shared_address_out_for_a_minute_at_most(app):
    """Behind one carrier address, someone mistypes receipts: the address is refused for a
    while, but no window of the per-address limit is longer than a minute (it was an hour),
    and the receipt itself is counted apart (`RECEIPT_USE_LIMIT`)."""
    from limits import parse_many

    from incident_service.intake import limits

    with app.app_context():
        windows = parse_many(limits.receipt_attempt_limit())
    assert max(item.get_expiry() for item in windows) <= 60
    app.config["RECEIPT_ATTEMPT_LIMIT"] = "3 per minute"
    receipt = _file_and_receipt(app)
    shared = app.test_client()
    for digit in range(3):
        shared.post("/api/v1/status", json={"receipt": f"{digit}" * 20})
    refused = shared.post("/api/v1/status", json={"receipt": receipt})
    assert refused.status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.55"
    assert elsewhere.post("/api/v1/status", json={"receipt": receipt}).status_code == 200


def test_is_one_receipt_looked_up_a_bounded_number_of_times(app):
    app.config["RECEIPT_USE_LIMIT"] = "3 per hour"
    receipt = _file_and_receipt(app)
    answers = [
        app.test_client().post("/api/v1/status", json={"receipt": receipt}).status_code
        for _ in range(5)
    ]
    assert answers == [200, 200, 200, 429, 429]


def test_can_a_receipt_holder_flood_the_case_team_with_messages(app):
    app.config["REPORTER_MESSAGE_LIMIT"] = "4 per day"
    receipt = _file_and_receipt(app)
    client = app.test_client()
    codes = [
        client.post(
            "/api/v1/messages", json={"receipt": receipt, "text": f"SYNTHETIC {n}"}
        ).status_code
        for n in range(6)
    ]
    assert codes == [201] * 4 + [429] * 2
    with app.app_context():
        from incident_service.models import Message

        assert db.session.query(Message).count() == 4


def _file_and_receipt(app) -> str:
    response = app.test_client().post("/api/v1/reports", json=report_payload())
    assert response.status_code == 201
    return str(response.get_json()["receipt"])
