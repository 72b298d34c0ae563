"""Attack: a copy of Redis, searched for a reporter's address.

Promise (design §10): Redis may reveal task ids in flight and counters under keyed hashes, never
an address — not even by enumerating all of IPv4.

The reporter files through the form and the API and mistypes a receipt from a known address.
The attacker copies every key and value out of Redis, then tries every address of the /16
around the reporter's, hashed every way the service could plausibly hash it, with every value
found in Redis as the key (and with no key at all), looking for any hash that Redis holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterator

import pytest

from incident_service import ratelimit
from tests.attacks.dumps import redis_dump
from tests.conftest import build_app, redis_url_below, require_redis
from tests.factories import report_payload
from tests.reporter_helpers import form_data

REPORTER = "10.77.141.23"


def _attack_redis_url() -> str:
    """A database of its own (two below the suite's), so the dump holds only this attack."""
    return redis_url_below(2)


@pytest.fixture
def limited_app(tmp_path, monkeypatch):
    require_redis()
    url = _attack_redis_url()
    import redis

    redis.Redis.from_url(url).flushdb()
    monkeypatch.setattr(ratelimit, "_clients", {})
    yield from build_app(
        tmp_path,
        "sqlite",
        RATELIMIT_STORAGE_URI=url,
        REPORT_RATE_LIMIT="10 per hour;30 per day",
        API_REPORT_RATE_LIMIT="10 per hour;30 per day",
    )
    redis.Redis.from_url(url).flushdb()


def _candidate_keys(dump: dict[bytes, list[bytes]]) -> list[bytes]:
    """Everything in Redis that could be a key: every value and every part of every name,
    raw and hex-decoded, plus the empty key."""
    found: set[bytes] = {b""}
    pieces = [piece for key in dump for piece in re.split(rb"[:/|]", key)]
    pieces += [value for values in dump.values() for value in values]
    for piece in pieces:
        if 8 <= len(piece) <= 128:
            found.add(piece)
            with contextlib.suppress(UnicodeDecodeError, ValueError):
                found.add(bytes.fromhex(piece.decode("ascii")))
    return sorted(found)


def _hashes_held(dump: dict[bytes, list[bytes]]) -> set[str]:
    """Every hex string of 16 or more characters anywhere in a key or a value."""
    text = b" ".join([*dump, *(v for values in dump.values() for v in values)])
    return {m.decode().lower() for m in re.findall(rb"[0-9a-fA-F]{16,}", text)}


def _guesses(address: str, key: bytes) -> Iterator[str]:
    raw = address.encode()
    yield hmac.new(key, raw, hashlib.sha256).hexdigest()
    yield hashlib.sha256(key + raw).hexdigest()
    yield hashlib.sha256(raw + key).hexdigest()


def test_can_a_copy_of_redis_be_searched_for_a_reporters_address(limited_app):
    client = limited_app.test_client()
    client.environ_base["REMOTE_ADDR"] = REPORTER
    assert client.post("/report", data=form_data()).status_code in (200, 303)
    assert client.post("/api/v1/reports", json=report_payload()).status_code == 201
    client.post("/status", data={"receipt": "1111 2222 3333 4444 5555"})

    dump = redis_dump(_attack_redis_url())
    assert dump, "the filing left nothing in Redis: the attack would prove nothing"
    keys = _candidate_keys(dump)
    held = _hashes_held(dump)
    network = ipaddress.ip_network(f"{REPORTER}/16", strict=False)
    found = [
        str(address)
        for address in network
        for key in keys
        if any(guess[:32] in held or guess in held for guess in _guesses(str(address), key))
    ]
    assert found == [], f"the reporter's address was recovered from Redis: {found[:3]}"
    assert not any(
        REPORTER.encode() in k or any(REPORTER.encode() in v for v in vs) for k, vs in dump.items()
    )
