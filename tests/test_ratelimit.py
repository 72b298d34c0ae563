"""Rate-limit keys: the address is never kept, and the key changes from one day to the next."""

from __future__ import annotations

import datetime as dt

import pytest

from incident_service import ratelimit
from tests.conftest import require_redis


def _key(app, address: str) -> str:
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": address}):
        return ratelimit.rate_limit_key()


def test_is_the_client_address_absent_from_its_rate_limit_key(app):
    key = _key(app, "203.0.113.7")
    assert "203.0.113.7" not in key and "203" not in key[:3]
    assert key == _key(app, "203.0.113.7")
    assert key != _key(app, "203.0.113.8")


def test_does_the_key_for_one_address_change_with_the_day(app, monkeypatch):
    today = _key(app, "198.51.100.1")

    class Tomorrow(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2099, 1, 2, tzinfo=tz)

    monkeypatch.setattr(ratelimit.dt, "datetime", Tomorrow)
    assert _key(app, "198.51.100.1") != today


def test_do_all_processes_share_one_salt_through_redis(app, monkeypatch):
    """Two web workers must count one client alike, or limits halve in strength."""
    url = require_redis()
    app.config["RATELIMIT_STORAGE_URI"] = url
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter("incident:ratelimit-salt:*"):
        client.delete(key)
    monkeypatch.setattr(ratelimit, "_salts", {})
    first = _key(app, "192.0.2.10")
    monkeypatch.setattr(ratelimit, "_salts", {})  # as if another process asked
    assert _key(app, "192.0.2.10") == first
    assert list(client.scan_iter("incident:ratelimit-salt:*"))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_does_a_redis_outage_still_give_a_working_key(app, monkeypatch):
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(ratelimit, "_clients", {})
    assert len(_key(app, "192.0.2.20")) == 32
