"""Logs: no client address and no receipt in any log line, across a reporter's whole visit."""

from __future__ import annotations

import logging
import re

from incident_service.crypto.receipts import format_receipt
from tests.factories import report_payload
from tests.reporter_helpers import file_report

ADDRESS = "203.0.113.77"
ADDRESS_V6 = "2001:db8:5:6::77"


def _every_logged_text(caplog) -> list[str]:
    texts = []
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(str(record.msg))
        texts.append(repr(record.args))
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
    texts.append(caplog.text)
    return texts


def _status(client, data: dict[str, str]) -> None:
    """POST to the status page and fetch the page the redirect leads to, as a browser does."""
    client.post("/status", data=data, follow_redirects=True)


def test_does_a_whole_visit_leave_no_address_or_receipt_in_the_logs(app, caplog):
    app.config["RECEIPT_ATTEMPT_LIMIT"] = "2 per minute"
    caplog.set_level(logging.DEBUG)
    receipts = []
    for address in (ADDRESS, ADDRESS_V6):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        client.environ_base["HTTP_USER_AGENT"] = "SyntheticPhone/1.0 (test)"
        # The form: a bad answer, then a good one, then a double press.
        client.get("/?lang=tg")
        client.post("/report", data={"group_size": "x"}, follow_redirects=True)
        _response, receipt = file_report(client)
        assert receipt is not None
        receipts.append(receipt)
        # The API, with and without a key, and broken bodies.
        api = client.post(
            "/api/v1/reports", json=report_payload(), headers={"Idempotency-Key": "k-1"}
        )
        receipts.append(api.get_json()["receipt"])
        client.post("/api/v1/reports", data="{", content_type="application/json")
        # The status page: right, wrong, actions, and the throttle.
        _status(client, {"receipt": format_receipt(receipt)})
        _status(client, {"action": "message", "text": "SYNTHETIC"})  # the open page: no receipt
        _status(client, {"receipt": receipt, "action": "withdraw", "confirm": "y"})
        client.post("/api/v1/status", json={"receipt": receipts[-1]})
        for _ in range(3):
            _status(client, {"receipt": "9" * 20})
        client.get("/exit")
    assert caplog.records, "the visit should have logged something (e.g. the throttle)"
    needles = [ADDRESS, ADDRESS_V6, "SyntheticPhone"]
    for receipt in receipts:
        needles += [receipt, format_receipt(receipt)]
    for text in _every_logged_text(caplog):
        for needle in needles:
            assert needle not in text, (needle, text)
        assert not re.search(r"(?<!\d)\d{20}(?!\d)", text), text
