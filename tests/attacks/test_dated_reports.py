"""Attack: dating a report from a copy of the database and of Redis.

Promise (design §10): nothing at rest ties a report id, a receipt or a reporter's action to a
time finer than the day. A reporter's mobile provider keeps connection records with times to
the second; a time that fine beside a report turns into a name.

The reporter files, looks the receipt up, writes a message and withdraws consent; a
caseworker views the queue, opens the case and changes its status. The attacker then reads
every row of every table and every key and value in Redis, and looks for a time of day (not
midnight) in the same row, key or value as a report id or a receipt-derived value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from incident_service import ratelimit
from incident_service.constants import Role
from incident_service.models import Report, db
from tests.attacks.dumps import database_dump, redis_dump
from tests.conftest import build_app, redis_url_below, require_redis
from tests.reporter_helpers import file_report, post_and_follow
from tests.staff import logged_in_client, make_staff

# A time of day in text: 14:20, 14:20:13, 14:20:13.537660 (ISO or not).
TIME_OF_DAY = re.compile(r"(?<!\d)([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?!\d)")


def _redis_url() -> str:
    return redis_url_below(3)


@pytest.fixture
def seized_app(tmp_path, backend, monkeypatch) -> Iterator[Any]:
    require_redis()
    url = _redis_url()
    import redis

    redis.Redis.from_url(url).flushdb()
    monkeypatch.setattr(ratelimit, "_clients", {})
    yield from build_app(tmp_path, backend, RATELIMIT_STORAGE_URI=url, ANONYMISE_MIN_BATCH=2)
    redis.Redis.from_url(url).flushdb()


def _fine_times(value: Any) -> list[str]:
    """Times finer than the day that `value` carries, however it is stored."""
    if isinstance(value, dt.datetime):
        if value.time() != dt.time():
            return [value.isoformat()]
        return []
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return []
    if isinstance(value, str):
        found = [m.group(0) for m in TIME_OF_DAY.finditer(value)]
        if value.strip().startswith(("{", "[")):
            with contextlib.suppress(ValueError):
                found += _fine_times_in_json(json.loads(value))
        return [f for f in found if not re.fullmatch(r"00:00(:00(\.0+)?)?", f)]
    return []


def _fine_times_in_json(document: Any) -> list[str]:
    if isinstance(document, dict):
        return [t for v in document.values() for t in _fine_times_in_json(v)]
    if isinstance(document, list):
        return [t for v in document for t in _fine_times_in_json(v)]
    if isinstance(document, int | float) and 1_000_000_000 < document < 4_000_000_000:
        return [f"unix {document}"]  # a Unix time to the second
    return _fine_times(document) if isinstance(document, str) else []


def _names_a_report(values: list[Any], secrets: set[Any]) -> bool:
    for value in values:
        if value in secrets:
            return True
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if any(isinstance(s, str) and s in text for s in secrets):
            return True
    return False


def test_is_any_report_dated_finer_than_the_day_in_the_database_or_redis(seized_app):
    app = seized_app
    reporter = app.test_client()
    _page, receipt = file_report(reporter, narrative="SYNTHETIC: held at the airport")
    assert receipt
    post_and_follow(reporter, "/status", {"receipt": receipt})
    post_and_follow(reporter, "/status", {"action": "message", "text": "SYNTHETIC: Tuesday"})
    post_and_follow(reporter, "/status", {"action": "withdraw", "confirm": "y"})
    file_report(app.test_client())  # a second report, so that a batch can be written
    with app.app_context():
        report_ids = list(db.session.scalars(sa.select(Report.id)))
        receipt_hashes = set(db.session.scalars(sa.select(Report.receipt_hash)))
        worker = make_staff(role=Role.CASEWORKER)
    staff = logged_in_client(app, worker)
    assert staff.get("/cases/").status_code == 200
    assert staff.get(f"/cases/{report_ids[0]}").status_code == 200
    staff.post(f"/cases/{report_ids[0]}/status", data={"status": "triaged"})

    secrets: set[Any] = set(report_ids) | receipt_hashes
    with app.app_context():
        tables = database_dump(db.engine)
    dated = [
        (table, times)
        for table, rows in tables.items()
        for row in rows
        if _names_a_report(list(row.values()), secrets)
        and (times := [t for v in row.values() for t in _fine_times(v)])
    ]
    assert dated == [], f"a report sits beside a time of day: {dated[:3]}"

    for key, values in redis_dump(_redis_url()).items():
        if _names_a_report([key, *values], secrets):
            assert not _fine_times(key) and not any(_fine_times(v) for v in values), key
