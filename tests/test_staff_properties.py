"""Property-based checks of staff input handling and the session/TOTP secret box."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from incident_service import taxonomy
from incident_service.cases.forms import parse_filters, parse_page
from incident_service.crypto.errors import CryptoError
from incident_service.crypto.secretbox import new_symmetric_key, open_with_key, seal_with_key
from incident_service.services import triage


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
    assert filters.assignee in (None, "me", "none") or filters.assignee.isdigit()
    assert 1 <= parse_page(MultiDict(args)) <= 100_000
