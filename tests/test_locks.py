"""PostgreSQL advisory locks: one key per named job, scoped to the schema.

Three jobs once shared key 727275, so a flush could wait on its own ledger lock and two
deployments sharing a database waited on each other (CI's deadlocks)."""

from __future__ import annotations

import pytest
from flask import Flask

from incident_service import locks


def _key(schema: str | None, name: str) -> int:
    app = Flask(__name__)
    app.config["DATABASE_SCHEMA"] = schema
    with app.app_context():
        return locks.advisory_key(name)


def test_does_every_job_get_its_own_key():
    keys = {name: _key("public", name) for name in locks.NAMES}
    assert len(set(keys.values())) == len(keys)
    assert all(-(2**63) <= key < 2**63 for key in keys.values())  # PostgreSQL's bigint


def test_do_two_schemas_in_one_database_never_share_a_key():
    assert _key("t_one", locks.FLUSH) != _key("t_two", locks.FLUSH)
    assert _key(None, locks.FLUSH) == _key("public", locks.FLUSH)


def test_is_an_unknown_lock_name_refused():
    with pytest.raises(ValueError, match="unknown lock"):
        _key("public", "flsuh")
