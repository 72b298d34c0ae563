"""Crypto: round trips, and every way a ciphertext can be wrong failing loudly with a name."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_service.crypto import (
    BadSignature,
    DecryptionFailed,
    MalformedCiphertext,
    NoMatchingRecipient,
    RecipientPrivateKey,
    SigningKey,
    SuiteId,
    SymmetricKey,
    WrongPassphrase,
    open_envelope,
    recipients_of,
    replace_recipient,
    seal,
)
from incident_service.crypto.envelopes import pad, padded_length, unpad
from incident_service.crypto.passphrases import (
    Argon2Parameters,
    new_recovery_key,
    unwrap,
    wrap_with_passphrase,
    wrap_with_recovery_key,
)
from incident_service.crypto.receipts import (
    InvalidReceiptFormat,
    derive_reporter_key,
    format_receipt,
    normalise_receipt,
    receipt_from_token,
)
from incident_service.crypto.signing import verify

SUITES = [SuiteId.MLKEM768_X25519, SuiteId.X25519]
KEYS = {suite: RecipientPrivateKey.generate(suite) for suite in SUITES}
OTHER = {suite: RecipientPrivateKey.generate(suite) for suite in SUITES}
FAST = Argon2Parameters(time_cost=1, memory_kib=1024, parallelism=1)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.label)
@pytest.mark.parametrize("section", ["statistical", "private"])
def test_can_each_section_be_opened_by_its_recipient_in_both_suites(suite, section):
    context = f"report/abc/{section}".encode()
    envelope = seal(b"synthetic content", context=context, recipients=[KEYS[suite].public])
    assert open_envelope(envelope, context=context, private_key=KEYS[suite]) == b"synthetic content"
    assert recipients_of(envelope) == [KEYS[suite].key_id]


def test_does_a_ciphertext_record_its_suite_and_key_id():
    envelope = seal(b"x", context=b"c", recipients=[KEYS[SuiteId.MLKEM768_X25519].public])
    # magic(4) nonce(12) count(1) then suite id and key id of the first recipient
    assert envelope[17] == SuiteId.MLKEM768_X25519
    assert envelope[18:26] == KEYS[SuiteId.MLKEM768_X25519].key_id


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.label)
def test_is_a_wrong_key_refused(suite):
    envelope = seal(b"secret", context=b"c", recipients=[KEYS[suite].public])
    with pytest.raises(NoMatchingRecipient):
        open_envelope(envelope, context=b"c", private_key=OTHER[suite])


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.label)
def test_is_wrong_associated_data_refused(suite):
    envelope = seal(b"secret", context=b"report/1/private", recipients=[KEYS[suite].public])
    with pytest.raises(DecryptionFailed):
        open_envelope(envelope, context=b"report/2/private", private_key=KEYS[suite])


def test_can_a_statistics_key_open_only_the_statistical_section():
    team, stats = KEYS[SuiteId.MLKEM768_X25519], OTHER[SuiteId.MLKEM768_X25519]
    statistical = seal(b"codes", context=b"r/statistical", recipients=[team.public, stats.public])
    private = seal(b"narrative", context=b"r/private", recipients=[team.public])
    assert open_envelope(statistical, context=b"r/statistical", private_key=stats) == b"codes"
    with pytest.raises(NoMatchingRecipient):
        open_envelope(private, context=b"r/private", private_key=stats)


def test_is_every_single_byte_flip_detected():
    key = KEYS[SuiteId.X25519]
    envelope = seal(b"tamper me", context=b"c", recipients=[key.public])
    for position in range(len(envelope)):
        tampered = bytearray(envelope)
        tampered[position] ^= 0x01
        with pytest.raises((DecryptionFailed, MalformedCiphertext, NoMatchingRecipient)):
            open_envelope(bytes(tampered), context=b"c", private_key=key)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.label)
def test_is_truncated_input_refused_with_a_named_error(suite):
    envelope = seal(b"truncate me", context=b"c", recipients=[KEYS[suite].public])
    for length in [0, 3, 10, 17, 30, len(envelope) // 2, len(envelope) - 1]:
        with pytest.raises((MalformedCiphertext, DecryptionFailed)):
            open_envelope(envelope[:length], context=b"c", private_key=KEYS[suite])


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=5000), context=st.binary(max_size=64))
def test_round_trip_over_arbitrary_bytes(plaintext, context):
    key = KEYS[SuiteId.MLKEM768_X25519]
    envelope = seal(
        plaintext, context=context, recipients=[key.public, OTHER[SuiteId.X25519].public]
    )
    assert open_envelope(envelope, context=context, private_key=key) == plaintext
    assert open_envelope(envelope, context=context, private_key=OTHER[SuiteId.X25519]) == plaintext


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200_000))
def test_padding_hides_exact_length_and_round_trips(data):
    padded = pad(data)
    assert len(padded) == padded_length(len(data))
    assert unpad(padded) == data


def test_do_similar_lengths_produce_identical_ciphertext_sizes():
    key = KEYS[SuiteId.X25519]
    sizes = {len(seal(b"a" * n, context=b"c", recipients=[key.public])) for n in range(10, 200)}
    assert len(sizes) == 1


def test_does_replacing_the_team_entry_keep_the_other_recipients_and_the_content():
    old, new = KEYS[SuiteId.MLKEM768_X25519], OTHER[SuiteId.MLKEM768_X25519]
    stats = KEYS[SuiteId.X25519]
    envelope = seal(b"keep me", context=b"c", recipients=[old.public, stats.public])
    moved = replace_recipient(envelope, context=b"c", private_key=old, new_recipient=new.public)
    assert recipients_of(moved) == [new.key_id, stats.key_id]
    assert open_envelope(moved, context=b"c", private_key=new) == b"keep me"
    assert open_envelope(moved, context=b"c", private_key=stats) == b"keep me"
    with pytest.raises(NoMatchingRecipient):
        open_envelope(moved, context=b"c", private_key=old)
    assert moved[-40:] == envelope[-40:]  # the ciphertext itself is untouched


def test_is_a_tampered_envelope_never_vouched_for_under_a_new_key():
    old, new = KEYS[SuiteId.X25519], OTHER[SuiteId.X25519]
    envelope = bytearray(seal(b"keep me", context=b"c", recipients=[old.public]))
    envelope[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        replace_recipient(bytes(envelope), context=b"c", private_key=old, new_recipient=new.public)


def test_does_the_private_key_never_show_in_its_repr():
    key = KEYS[SuiteId.MLKEM768_X25519]
    assert key.private_bytes.hex() not in repr(key)
    assert "key_id" in repr(key)


# Passphrases and recovery keys


def test_does_a_passphrase_unlock_its_key_and_nothing_else():
    wrapped = wrap_with_passphrase(b"private key", "correct horse", context=b"u1", params=FAST)
    assert unwrap(wrapped, "correct horse", context=b"u1") == b"private key"
    with pytest.raises(WrongPassphrase):
        unwrap(wrapped, "wrong horse", context=b"u1")
    with pytest.raises(WrongPassphrase):
        unwrap(wrapped, "correct horse", context=b"u2")


def test_does_the_recovery_key_unlock_and_tolerate_how_people_type_it():
    recovery = new_recovery_key()
    wrapped = wrap_with_recovery_key(b"private key", recovery, context=b"u1")
    assert unwrap(wrapped, recovery.lower().replace("-", " "), context=b"u1") == b"private key"
    with pytest.raises(WrongPassphrase):
        unwrap(wrapped, new_recovery_key(), context=b"u1")


# Receipts


PEPPER = SymmetricKey("receipt-pepper", b"\x01" * 32)


@settings(max_examples=200)
@given(st.binary(min_size=32, max_size=32))
def test_is_every_receipt_twenty_digits(token):
    receipt = receipt_from_token(token, PEPPER)
    assert len(receipt) == 20 and receipt.isdigit()
    assert normalise_receipt(format_receipt(receipt)) == receipt


def test_is_the_same_token_always_the_same_receipt_and_pepper_matters():
    token = b"t" * 32
    assert receipt_from_token(token, PEPPER) == receipt_from_token(token, PEPPER)
    assert receipt_from_token(token, SymmetricKey("p", b"\x02" * 32)) != receipt_from_token(
        token, PEPPER
    )


@pytest.mark.parametrize("text", ["1234", "1234 5678 9012 3456 789a", "", "1" * 21])
def test_is_a_malformed_receipt_refused(text):
    with pytest.raises(InvalidReceiptFormat):
        normalise_receipt(text)


def test_are_arabic_indic_digits_accepted_in_a_receipt():
    assert normalise_receipt("١٢٣٤ 5678-9012 3456 7890") == "12345678901234567890"


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.label)
def test_can_a_reporter_key_be_rederived_only_with_the_receipt_and_salt(suite):
    salt = b"s" * 16
    key = derive_reporter_key("12345678901234567890", salt, suite)
    again = derive_reporter_key("12345678901234567890", salt, suite)
    assert key.public == again.public
    assert derive_reporter_key("12345678901234567891", salt, suite).public != key.public
    assert derive_reporter_key("12345678901234567890", b"t" * 16, suite).public != key.public
    envelope = seal(b"reply", context=b"m", recipients=[key.public])
    assert open_envelope(envelope, context=b"m", private_key=again) == b"reply"


# Signing


def test_does_a_signature_verify_and_fail_after_one_byte_changes():
    key = SigningKey.generate()
    message = b'{"files": []}'
    from incident_service.crypto.signing import sign

    signature = sign(message, key)
    verify(message, signature, key.verify_key)
    with pytest.raises(BadSignature):
        verify(message.replace(b"[", b"("), signature, key.verify_key)
    with pytest.raises(BadSignature):
        verify(message, bytes([signature[0] ^ 1]) + signature[1:], key.verify_key)
