"""Property-based checks of staff input handling and the session/TOTP secret box."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from incident_service import taxonomy
from incident_service.cases import triage
from incident_service.cases.forms import parse_filters, parse_page
from incident_service.constants import Role
from incident_service.crypto.errors import CryptoError
from incident_service.crypto.receipts import InvalidReceiptFormat, normalise_receipt
from incident_service.crypto.secretbox import new_symmetric_key, open_with_key, seal_with_key
from incident_service.numbers import ascii_int
from tests.staff import logged_in_client, make_staff


@given(plaintext=st.binary(max_size=2048), context=st.binary(max_size=64))
def test_does_a_sealed_secret_open_only_with_its_key_and_context(plaintext, context):
    key = new_symmetric_key("test")
    sealed = seal_with_key(plaintext, key=key, context=context)
    if len(plaintext) >= 8:  # shorter strings turn up in random bytes by chance
        assert plaintext not in sealed
    assert open_with_key(sealed, key=key, context=context) == plaintext
    with pytest.raises(CryptoError):
        open_with_key(sealed, key=new_symmetric_key("other"), context=context)
    with pytest.raises(CryptoError):
        open_with_key(sealed, key=key, context=context + b"/moved")


@given(
    plaintext=st.binary(min_size=1, max_size=256),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_does_any_flipped_byte_or_truncation_fail_loudly(plaintext, position, flip):
    key = new_symmetric_key("test")
    sealed = bytearray(seal_with_key(plaintext, key=key, context=b"c"))
    index = position % len(sealed)
    sealed[index] ^= flip
    with pytest.raises(CryptoError):
        open_with_key(bytes(sealed), key=key, context=b"c")
    with pytest.raises(CryptoError):
        open_with_key(bytes(sealed[: index % 30]), key=key, context=b"c")


@given(st.text(max_size=400))
def test_are_stored_labels_always_short_tags_or_refused(raw):
    try:
        cleaned = triage.normalise_labels(raw)
    except triage.InvalidCaseInput:
        return
    if not cleaned:
        return
    labels = cleaned.split(",")
    assert len(labels) <= triage.MAX_LABELS
    assert len(set(labels)) == len(labels)
    for label in labels:
        assert 0 < len(label) <= triage.MAX_LABEL_LENGTH
        assert label == label.strip().lower()
        assert sum(ch.isdigit() for ch in label) <= 4
        assert all(ch.isalnum() or ch in " -" for ch in label)
    assert triage.normalise_labels(cleaned) == cleaned  # stable when saved again


@given(
    st.dictionaries(
        st.sampled_from(
            ["status", "priority", "act_group", "region", "assignee", "received", "unread", "page"]
        ),
        st.text(max_size=30),
    )
)
def test_do_queue_filters_accept_only_known_values_from_any_query_string(args):
    filters = parse_filters(MultiDict(args))
    assert filters.status in {"open", "all"} | {s.value for s in triage.ReportStatus}
    assert filters.priority in (None, *triage.PRIORITIES)
    assert filters.act_group is None or filters.act_group in taxonomy.ACT_GROUPS
    assert filters.region is None or filters.region in taxonomy.REGIONS
    assert filters.assignee in (None, "me", "none") or ascii_int(filters.assignee) is not None
    assert 1 <= parse_page(MultiDict(args)) <= 100_000


QUEUE_PARAMETERS = ["status", "priority", "act_group", "region", "assignee", "received", "unread"]


@pytest.mark.parametrize(
    "raw", ["²", "٢", "۳", "１", "2\n", " 2", "+2", "-1", "2.0", "", "9" * 40, "0x2"]
)
def test_is_a_number_only_ascii_digits(raw):
    assert ascii_int(raw) is None
    assert ascii_int("02") == 2


@pytest.mark.parametrize("name", ["page", "priority", "assignee"])
@pytest.mark.parametrize("value", ["²", "٣", "¹⁰", "9" * 30])
def test_does_the_queue_ignore_digits_that_are_not_ascii(app, name, value):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = logged_in_client(app, worker)
    response = client.get("/cases/", query_string={name: value})
    assert response.status_code == 200
    assert parse_filters(MultiDict({name: value})).priority is None
    assert parse_page(MultiDict({name: value})) == 1


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.dictionaries(
        st.sampled_from([*QUEUE_PARAMETERS, "page"]),
        st.one_of(st.text(max_size=20), st.sampled_from(["²", "٢", "me", "none", "2", "9" * 12])),
    )
)
def test_does_any_queue_query_string_answer_a_caseworker_without_a_server_error(app, args):
    # One login per app: hypothesis runs every example against the same fixture.
    client = app.extensions.get("test_queue_client")
    if client is None:
        with app.app_context():
            worker = make_staff(role=Role.CASEWORKER)
        client = app.extensions["test_queue_client"] = logged_in_client(app, worker)
    response = client.get("/cases/", query_string=args)
    assert response.status_code == 200


@pytest.mark.parametrize("digit", ["²", "³", "¹"])
def test_is_a_receipt_with_a_superscript_refused_as_malformed_not_crashed(digit):
    with pytest.raises(InvalidReceiptFormat):
        normalise_receipt("1234 5678 9012 3456 789" + digit)
    # Digits of other scripts are still read: reporters type in their own.
    assert normalise_receipt("١٢٣٤ 5678 9012 3456 7890") == "12345678901234567890"
