"""Log redaction: every IPv4 and IPv6 address, in any of its written forms and wherever it sits in
a line, is replaced whole; exception messages and tracebacks are redacted like messages."""

from __future__ import annotations

import ipaddress
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_service.log_redaction import REDACTED_IP, RedactingFilter, redact

# What surrounds an address in a real line: spaces, "=", brackets, quotes, commas, a colon
# after a key; never a hex digit, a dot or a colon glued to it from both sides.
SEPARATORS = st.sampled_from([" ", "=", "(", ")", "[", "]", ",", ";", "'", '"', "\n", "\t", "/"])
# Text around it: anything without the characters an address is made of.
SURROUNDINGS = st.text(
    alphabet=st.characters(
        blacklist_characters="0123456789abcdefABCDEF:.", blacklist_categories=("Cs",)
    ),
    max_size=30,
)


def _written_forms(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> dict[str, str]:
    """Ways a log line may write the address, each with what redaction must leave of it."""
    forms = {str(ip): REDACTED_IP, ip.exploded: REDACTED_IP}
    if isinstance(ip, ipaddress.IPv6Address):
        forms[str(ip).upper()] = REDACTED_IP
        forms[f"[{ip}]:443"] = f"[{REDACTED_IP}]:443"
        forms[f"{ip}%eth0"] = f"{REDACTED_IP}%eth0"
    else:
        forms[f"{ip}:8080"] = f"{REDACTED_IP}:8080"
        forms[f"::ffff:{ip}"] = REDACTED_IP
    return forms


@given(
    ip=st.ip_addresses(),
    before=SURROUNDINGS,
    after=SURROUNDINGS,
    left=SEPARATORS,
    right=SEPARATORS,
    key=st.sampled_from(["", "client:", "ip=", "from ", "addr "]),
)
def test_is_every_address_redacted_whole_wherever_it_sits(ip, before, after, left, right, key):
    for form, expected in _written_forms(ip).items():
        line = f"{before}{left}{key}{form}{right}{after}"
        assert redact(line) == f"{before}{left}{key}{expected}{right}{after}", line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("from 2a02:2168::1f now", f"from {REDACTED_IP} now"),
        ("peer fe80::abcd closed", f"peer {REDACTED_IP} closed"),
        ("2001:db8::1", REDACTED_IP),
        ("[2001:db8::1]:8080 refused", f"[{REDACTED_IP}]:8080 refused"),
        ("client:2001:db8::7.", f"client:{REDACTED_IP}."),
        ("mapped ::ffff:10.0.0.1 seen", f"mapped {REDACTED_IP} seen"),
        # What merely looks alike stays: a time of day, a MAC address.
        ("at 12:30:45 peer fe80::abcd left", f"at 12:30:45 peer {REDACTED_IP} left"),
        ("mac 00:1a:2b:3c:4d:5e ip 2001:db8::1", f"mac 00:1a:2b:3c:4d:5e ip {REDACTED_IP}"),
    ],
)
def test_are_compressed_ipv6_addresses_redacted_whole_and_times_kept(line, expected):
    assert redact(line) == expected


@given(ip=st.ip_addresses(v=6))
def test_does_no_piece_of_a_compressed_ipv6_address_survive(ip):
    cleaned = redact(f"Invalid request from ip={ip}")
    assert cleaned == f"Invalid request from ip={REDACTED_IP}"


def _record_with_exception(message: str) -> logging.LogRecord:
    try:
        raise ConnectionError(message)
    except ConnectionError:
        import sys

        exc_info = sys.exc_info()
    return logging.LogRecord("x", logging.ERROR, __file__, 1, "request failed", None, exc_info)


def test_is_an_address_in_an_exception_message_redacted_from_the_traceback():
    record = _record_with_exception("connection reset by 2a02:2168::1f and 198.51.100.23")
    assert RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "ConnectionError" in text and REDACTED_IP in text
    assert "2a02:2168" not in text and "198.51.100.23" not in text
    assert record.exc_info is None  # no handler can format the raw exception again


def test_is_a_receipt_in_a_stack_or_exception_text_redacted():
    record = _record_with_exception("lookup of 1234 5678 9012 3456 7890 failed")
    record.stack_info = "Stack (most recent call last):\n  receipt=12345678901234567890"
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "1234 5678" not in text and "12345678901234567890" not in text


def test_does_the_root_loggers_filter_redact_a_logged_exception(app, caplog):
    caplog.set_level(logging.ERROR)
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("incident_service.test")
    try:
        raise OSError("no route to fe80::1ff:fe23:4567:890a")
    except OSError:
        logger.exception("sending failed")
    (record,) = [r for r in caplog.records if r.name == "incident_service.test"]
    assert "fe80" not in caplog.text
    assert "fe80" not in logging.Formatter().format(record)


def test_is_an_upload_urls_secret_redacted_from_flasks_exception_line():
    """The upload URL holds the key its state is sealed under; a failed PATCH logs the path."""
    line = "Exception on /api/v1/uploads/Xk3_f9aQ-2bZ7wLmQ0pR4sT6uV8y [PATCH]"
    assert redact(line) == "Exception on /api/v1/uploads/[redacted-upload] [PATCH]"
    assert redact("POST /api/v1/uploads HTTP/1.1") == "POST /api/v1/uploads HTTP/1.1"
