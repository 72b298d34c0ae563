"""What a login costs: no Argon2 without the right TOTP code, the same cheap work for every
refusal, and the Argon2 that does run bounded per address bucket, across the deployment and per
process (`incident_service/auth/argon2_budget.py`)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from incident_service import ratelimit
from incident_service.auth import accounts, argon2_budget
from incident_service.constants import Role
from incident_service.models import AuditEntry, User, db, utcnow
from tests.conftest import require_redis
from tests.staff import login, make_staff, next_code

GENERIC = "Those details did not work"
BUSY = "The server is busy"


def _login_post(client, account, *, password=None, code=None, email=None, address="192.0.2.10"):
    return client.post(
        "/login",
        data={
            "email": email or account.email,
            "password": password if password is not None else account.password,
            "code": code if code is not None else next_code(client.application, account),
        },
        environ_base={"REMOTE_ADDR": address},
    )


def _reasons(app):
    with app.app_context():
        details = db.session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "login.failure")
        ).all()
    return [detail.split('"reason":"')[1].split('"')[0] for detail in details]


def _failures(app, account):
    with app.app_context():
        return db.session.get_one(User, account.user_id).failed_logins


def _count_argon2(monkeypatch):
    """Every Argon2id computed from here on: password checks, new hashes, key wrapping."""
    import argon2.low_level

    calls = []
    original = argon2.low_level.hash_secret_raw

    def spy(*args, **kwargs):
        calls.append(kwargs.get("memory_cost"))
        return original(*args, **kwargs)

    # Key wrapping calls hash_secret_raw; PasswordHasher checks and hashes through its methods.
    monkeypatch.setattr(argon2.low_level, "hash_secret_raw", spy)
    monkeypatch.setattr("incident_service.crypto.passphrases.hash_secret_raw", spy)
    verify = PasswordHasher.verify

    def verify_spy(self, stored_hash, password):
        calls.append("verify")
        return verify(self, stored_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify_spy)
    new_hash = PasswordHasher.hash

    def hash_spy(self, password, **kwargs):
        calls.append("hash")
        return new_hash(self, password, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", hash_spy)
    return calls


def test_does_no_login_without_the_right_code_cost_an_argon2(app, monkeypatch):
    """Unknown address, malformed address or code, deactivated, throttled, wrong code, and a
    first login (right or wrong one-time password): refused or let in without any Argon2, so a
    flood of anonymous logins costs the server next to nothing; the text is the same."""
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        gone = make_staff(role=Role.CASEWORKER)
        accounts.deactivate_user(user=db.session.get_one(User, gone.user_id), actor_id=None)
        throttled = make_staff(role=Role.SUPERVISOR)
        user = db.session.get_one(User, throttled.user_id)
        user.failed_logins = accounts.FAILURES_BEFORE_THROTTLE
        user.locked_until = utcnow() + dt.timedelta(minutes=5)
        newcomer = make_staff(role=Role.CASEWORKER, setup=False)
        db.session.commit()
    client = app.test_client()
    calls = _count_argon2(monkeypatch)
    attempts = {
        "unknown_account": lambda: _login_post(client, worker, email="nobody@example.org"),
        "malformed_email": lambda: _login_post(client, worker, email="not an address"),
        "inactive": lambda: _login_post(client, gone),
        "throttled": lambda: _login_post(client, throttled),  # right details, still waiting
        "wrong_code": lambda: _login_post(client, worker, code="000000"),
        "malformed_code": lambda: _login_post(client, worker, code="abcdef"),
        "first_login_wrong": lambda: _login_post(client, newcomer, password="WRONG-ONE-TIME"),
    }
    for name, attempt in attempts.items():
        calls.clear()
        response = attempt()
        assert response.status_code == 200, name
        assert GENERIC in response.get_data(as_text=True), name
        assert calls == [], f"{name}: {len(calls)} Argon2 computations"
    calls.clear()
    assert _login_post(app.test_client(), newcomer, code="").status_code == 302
    assert calls == [], "a first login with the one-time password"


def test_is_argon2_reached_once_and_only_with_the_right_code(app, monkeypatch):
    with app.app_context():
        worker = make_staff(role=Role.OFFICIAL)
    client = app.test_client()
    calls = _count_argon2(monkeypatch)
    refused = _login_post(client, worker, password="not the password at all")
    assert GENERIC in refused.get_data(as_text=True)
    assert calls == ["verify"]
    calls.clear()
    assert _login_post(client, worker).status_code == 302
    assert calls == ["verify"]


def test_does_every_cheap_refusal_do_the_same_work(app, monkeypatch):
    """Timing must not tell an unknown address from a real one: whatever the account's state,
    a refusal without the right code opens one sealed TOTP secret and compares one one-time
    password digest, and nothing else of cost."""
    from incident_service.auth import accounts as accounts_module

    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        gone = make_staff(role=Role.CASEWORKER)
        accounts.deactivate_user(user=db.session.get_one(User, gone.user_id), actor_id=None)
        newcomer = make_staff(role=Role.CASEWORKER, setup=False)
        db.session.commit()
    work: list[str] = []
    for name in ("open_with_key", "one_time_password_matches", "matching_counter"):
        original = getattr(accounts_module, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            work.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(accounts_module, name, spy)
    client = app.test_client()
    seen = {}
    for label, attempt in {
        "unknown": lambda: _login_post(client, worker, email="nobody@example.org"),
        "inactive": lambda: _login_post(client, gone),
        "wrong_code": lambda: _login_post(client, worker, code="000000"),
        "malformed_code": lambda: _login_post(client, worker, code="abc"),
        "first_login_wrong": lambda: _login_post(client, newcomer, password="WRONG-ONE-TIME"),
    }.items():
        work.clear()
        assert GENERIC in attempt().get_data(as_text=True)
        seen[label] = sorted(work)
    assert len({tuple(v) for v in seen.values()}) == 1, seen
    assert seen["unknown"] == ["matching_counter", "one_time_password_matches", "open_with_key"]


# --------------------------------------------------------------------------------------------
# The budget


def test_is_argon2_work_capped_per_address_bucket(app, monkeypatch):
    """Someone holding a valid code (a phished phone) tries passwords: after the budget, no
    more Argon2 from that address, and the refusals do not count against the account."""
    app.config["ARGON2_ADDRESS_LIMIT"] = "2 per minute"
    with app.app_context():
        worker = make_staff(role=Role.OFFICIAL)
    calls = _count_argon2(monkeypatch)
    client = app.test_client()
    code = next_code(app, worker)
    for _ in range(3):
        response = _login_post(client, worker, password="a guess at the password", code=code)
        assert GENERIC in response.get_data(as_text=True)
    assert calls == ["verify", "verify"]
    assert _reasons(app) == ["wrong_password", "wrong_password", "argon2_busy"]
    assert _failures(app, worker) == 2
    # Another address has its own budget; the right details still log in from there.
    calls.clear()
    assert _login_post(client, worker, code=code, address="192.0.2.99").status_code == 302
    assert calls == ["verify"]


def test_is_the_unlock_page_bounded_by_the_same_budget(app, monkeypatch):
    app.config["ARGON2_ADDRESS_LIMIT"] = "1 per minute"
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker, unlock=False)  # the login's own check spends the one allowed
    calls = _count_argon2(monkeypatch)
    page = client.post("/unlock", data={"passphrase": worker.passphrase})
    assert BUSY in page.get_data(as_text=True) and calls == []
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "key.unlock_failure" not in actions  # a busy server is not a wrong passphrase


def test_does_a_thread_find_no_slot_while_another_thread_of_the_process_hashes(app, monkeypatch):
    monkeypatch.setattr(argon2_budget, "PROCESS_WAIT_SECONDS", 0.05)
    with app.app_context():
        worker = make_staff(role=Role.OFFICIAL)
    semaphore = argon2_budget._process_semaphore(1)
    assert semaphore.acquire(timeout=1)
    calls = _count_argon2(monkeypatch)
    try:
        refused = _login_post(app.test_client(), worker)
    finally:
        semaphore.release()
    assert GENERIC in refused.get_data(as_text=True) and calls == []
    assert _reasons(app) == ["argon2_busy"] and _failures(app, worker) == 0
    assert _login_post(app.test_client(), worker).status_code == 302


@pytest.fixture
def redis_budget(app, monkeypatch):
    """The production path: budgets and slots in Redis (the suite's database, cleaned)."""
    import redis

    url = require_redis()
    client = redis.Redis.from_url(url)
    for key in client.scan_iter("incident:argon2:*"):
        client.delete(key)
    monkeypatch.setattr(ratelimit, "_clients", {})
    app.config.update(RATELIMIT_STORAGE_URI=url, ARGON2_MAX_CONCURRENT=1)
    yield client
    for key in client.scan_iter("incident:argon2:*"):
        client.delete(key)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_are_budgets_counted_in_redis_without_naming_the_address(app, redis_budget, monkeypatch):
    app.config["ARGON2_ADDRESS_LIMIT"] = "1 per minute;5 per hour"
    with app.app_context():
        worker = make_staff(role=Role.OFFICIAL)
    client = app.test_client()
    code = next_code(app, worker)
    _login_post(client, worker, password="first wrong guess", code=code, address="203.0.113.5")
    second = _login_post(client, worker, password="wrong guess", code=code, address="203.0.113.5")
    assert GENERIC in second.get_data(as_text=True)
    assert _reasons(app)[-1] == "argon2_busy"
    keys = list(redis_budget.scan_iter("incident:argon2:*"))
    counts = sorted(
        int(redis_budget.get(k) or 0) for k in keys if redis_budget.type(k) == b"string"
    )
    assert counts == [1, 1]  # the refused attempt was taken back out of both windows
    dump = b" ".join(keys)
    assert b"203.0.113" not in dump and b"address" not in dump


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_is_a_login_refused_without_argon2_while_the_deployments_slot_is_taken(
    app, redis_budget, monkeypatch
):
    """Another web process is hashing (its slot is in Redis): this one does not start a second
    Argon2, so at least one worker stays free for reporters; a slot left behind by a process
    that died mid-hash is swept once it is stale."""
    with app.app_context():
        worker = make_staff(role=Role.OFFICIAL)
        slots = f"incident:argon2:{ratelimit.counter_name('argon2', 'in-flight')}"
    redis_budget.zadd(slots, {"another-process": time.time()})
    calls = _count_argon2(monkeypatch)
    refused = _login_post(app.test_client(), worker)
    assert GENERIC in refused.get_data(as_text=True) and calls == []
    assert _reasons(app) == ["argon2_busy"] and _failures(app, worker) == 0
    stale = time.time() - ratelimit.STALE_SLOT_SECONDS - 1
    redis_budget.zadd(slots, {"another-process": stale})
    assert _login_post(app.test_client(), worker).status_code == 302
    assert redis_budget.zcard(slots) == 0  # swept, and this login's own slot given back


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_do_logins_still_work_when_redis_cannot_be_reached(app, monkeypatch):
    monkeypatch.setattr(ratelimit, "_clients", {})
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:1/0"
    with app.app_context():
        worker = make_staff(role=Role.OFFICIAL)
    assert _login_post(app.test_client(), worker).status_code == 302


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_is_a_login_turned_away_before_any_work_while_the_login_slot_is_taken(
    app, redis_budget, monkeypatch
):
    """A flood from many addresses: beyond LOGIN_MAX_CONCURRENT logins in flight anywhere in
    the deployment, a login gets 429 before its form, the database or any key is touched."""
    app.config["LOGIN_MAX_CONCURRENT"] = 1
    with app.app_context():
        worker = make_staff(role=Role.OFFICIAL)
        slots = f"incident:login:{ratelimit.counter_name('login', 'in-flight')}"
    redis_budget.zadd(slots, {"another-worker": time.time()})
    calls = _count_argon2(monkeypatch)
    turned_away = _login_post(app.test_client(), worker, address="198.51.100.200")
    assert turned_away.status_code == 429
    assert BUSY in turned_away.get_data(as_text=True)
    assert calls == [] and _reasons(app) == [] and _failures(app, worker) == 0
    assert app.test_client().get("/login").status_code == 200  # the form itself still shows
    redis_budget.zrem(slots, "another-worker")
    assert _login_post(app.test_client(), worker).status_code == 302
    assert redis_budget.zcard(slots) == 0  # given back after the login
