"""The audit chain against someone who can write to the database but holds no key."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select, text

from incident_service import audit
from incident_service.models import AuditEntry, db


def _entries(app, count: int) -> None:
    with app.app_context():
        for n in range(count):
            audit.record("test.event", object_type="test", object_id=str(n), detail={"n": n})
        db.session.commit()


def _recompute_with_plain_sha256(app) -> None:
    """What a database-only attacker can do: edit a row and rebuild every later hash."""
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        entries[1].detail = '{"n":99}'
        prev = entries[0].entry_hash
        for entry in entries[1:]:
            fields = [
                prev,
                entry.at.isoformat(timespec="microseconds"),
                "" if entry.actor_id is None else str(entry.actor_id),
                entry.action,
                entry.object_type,
                entry.object_id,
                entry.detail,
            ]
            entry.prev_hash = prev
            entry.entry_hash = hashlib.sha256("\x1f".join(fields).encode()).hexdigest()
            prev = entry.entry_hash
        db.session.commit()


def test_can_a_rewritten_chain_be_passed_off_without_the_audit_key(app):
    _entries(app, 4)
    _recompute_with_plain_sha256(app)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "content does not match its hash" in result.output


def test_is_a_cut_off_tail_caught_with_a_head_recorded_earlier(app):
    _entries(app, 5)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["audit", "verify"])
    head = re.search(r"last hash ([0-9a-f]{64})", first.output).group(1)
    assert runner.invoke(args=["audit", "verify", "--head", head]).exit_code == 0
    _entries(app, 2)  # the chain grows: the old head is still in it
    assert runner.invoke(args=["audit", "verify", "--head", head]).exit_code == 0
    with app.app_context():
        last_three = list(
            db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(3))
        )
        for entry_id in last_three:
            db.session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": entry_id})
        db.session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # a shorter valid chain
    cut = runner.invoke(args=["audit", "verify", "--head", head])
    assert cut.exit_code == 1 and "no longer in the chain" in cut.output
