"""Rate-limit keys: the address is never kept, and the key changes from one day to the next."""

from __future__ import annotations

import datetime as dt

import pytest

from incident_service import ratelimit


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


def test_do_two_web_processes_count_one_client_alike(app, monkeypatch):
    """Two web workers must count one client under the same name, or limits halve in
    strength: the daily key is derived from the shared key file, not drawn per process."""
    first = _key(app, "192.0.2.10")
    monkeypatch.setattr(ratelimit, "_day_keys", {})  # as if another process asked
    assert _key(app, "192.0.2.10") == first


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_does_a_redis_outage_still_give_a_working_key(app, monkeypatch):
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(ratelimit, "_clients", {})
    assert len(_key(app, "192.0.2.20")) == 32


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("2a02:2168:1:2::1f", "2a02:2168:1:2:ffff::9", True),  # one /64: one subscriber
        ("2a02:2168:1:2::1f", "2a02:2168:1:3::1f", False),  # the next /64
        ("::ffff:192.0.2.1", "192.0.2.1", True),  # IPv4-mapped counts as IPv4
        ("192.0.2.1", "192.0.2.2", False),
    ],
)
def test_are_addresses_counted_per_ipv4_address_and_ipv6_64(one, other, same):
    assert (ratelimit.address_bucket(one) == ratelimit.address_bucket(other)) is same


def test_is_the_ipv6_bucket_size_configurable():
    assert ratelimit.address_bucket("2001:db8:1:2:3::1", ipv6_prefix=48) == "2001:db8:1::/48"


def test_are_only_routes_without_any_declared_limit_spared_the_limiters_walk(app):
    """The limiter's request filter lets a route through without resolving its limits: is
    every route that carries a limit (logins, receipt lookups, the health check) still walked,
    and the report form, the API report and the receipt page spared?"""
    from incident_service.extensions import _endpoints_without_limits, _no_limit_declared

    with app.test_request_context("/"):
        spared = set(_endpoints_without_limits(app))
    for limited in ("auth.login", "auth.unlock", "reporter.status", "api.post_status"):
        assert limited in app.view_functions
        assert limited not in spared
    assert {"reporter.report", "reporter.report_full", "api.post_report"} <= spared
    with app.test_request_context("/status", method="POST"):
        assert not _no_limit_declared()
    with app.test_request_context("/report", method="POST"):
        assert _no_limit_declared()
