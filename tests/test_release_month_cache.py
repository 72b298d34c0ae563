"""Each month's counts kept between releases (`releases.month_cache`), used only while no
write has touched the month's records since they were counted.

What would go wrong is a stale figure: a release that publishes last week's count of a month
after a batch was flushed into it or a report withdrawn from it — and, through the joint
audit, a suppression decided on counts that no longer hold. Each test writes the records the
way some path could (the ORM, plain SQL, a child row alone, a change of month, TRUNCATE) and
checks that the month is counted again, against counting everything afresh.
"""

from __future__ import annotations

import random
import secrets

import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_service.models import (
    StatisticalIndicator,
    StatisticalMonthCounts,
    StatisticalRecord,
    db,
)
from incident_service.releases import month_cache
from incident_service.releases.counts import count_records_by_month, counts_to_json
from incident_service.resources import alembic_config
from tests.conftest import build_app
from tests.statistics_factory import insert_made, insert_records, random_record

MONTHS = ["2024-01", "2024-02", "2024-03", "2024"]


def _versions() -> dict[str, str]:
    rows = db.session.execute(sa.text("SELECT month, version FROM statistical_month_versions"))
    return {str(month): str(version) for month, version in rows}


def _clear() -> None:
    db.session.execute(sa.delete(StatisticalRecord))
    db.session.execute(sa.delete(StatisticalMonthCounts))
    db.session.commit()


def _a_record_of(month: str) -> str:
    return str(
        db.session.scalar(
            sa.select(sa.func.min(StatisticalRecord.id)).where(StatisticalRecord.month == month)
        )
    )


def test_does_every_kind_of_write_change_the_version_of_the_month_it_touches_and_no_other(app_ctx):
    insert_records(6, months=["2024-01"], seed=1)
    insert_records(6, months=["2024-02"], seed=2)
    db.session.commit()
    before = _versions()
    assert set(before) == {"2024-01", "2024-02"}

    def changed() -> set[str]:
        nonlocal before
        now = _versions()
        moved = {m for m in now if now[m] != before.get(m)}
        before = now
        return moved

    # A child row alone, for a record already counted.
    january = _a_record_of("2024-01")
    db.session.add(StatisticalIndicator(record_id=january, indicator="FL99"))
    db.session.commit()
    assert changed() == {"2024-01"}
    # A value of a record, in plain SQL.
    db.session.execute(
        sa.text("UPDATE statistical_records SET outcome = 'DEP' WHERE id = :r"),
        {"r": _a_record_of("2024-02")},
    )
    db.session.commit()
    assert changed() == {"2024-02"}
    # A record moved to another month: both months change.
    db.session.execute(
        sa.text("UPDATE statistical_records SET month = '2024-03' WHERE id = :r"),
        {"r": _a_record_of("2024-02")},
    )
    db.session.commit()
    assert changed() == {"2024-02", "2024-03"}
    # A record deleted (its child rows go with it).
    db.session.execute(sa.delete(StatisticalRecord).where(StatisticalRecord.id == january))
    db.session.commit()
    assert changed() == {"2024-01"}
    # A statement that writes nothing changes nothing.
    db.session.execute(sa.text("DELETE FROM statistical_records WHERE month = '1999-01'"))
    db.session.commit()
    assert changed() == set()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("TRUNCATE statistical_records CASCADE"))
        db.session.commit()
        assert changed() == {"2024-01", "2024-02", "2024-03"}


def test_is_a_stored_month_used_until_its_records_change(app_ctx):
    """The stored counts are used while the month is unchanged (shown by altering what was
    stored: the altered figure comes back), and counted again after any write to it."""
    insert_records(20, months=["2024-01", "2024-02"], seed=3)
    db.session.commit()
    first = month_cache.counts_by_month(["2024-01", "2024-02"])
    db.session.commit()
    altered = count_records_by_month(["2024-01"])["2024-01"]
    altered.total += 1000
    db.session.execute(
        sa.update(StatisticalMonthCounts)
        .where(StatisticalMonthCounts.month == "2024-01")
        .values(counts=counts_to_json(altered))
    )
    db.session.commit()
    assert (
        month_cache.counts_by_month(["2024-01"])["2024-01"].total == first["2024-01"].total + 1000
    )
    insert_records(1, months=["2024-02"], seed=4)  # another month: January still stored
    db.session.commit()
    again = month_cache.counts_by_month(["2024-01", "2024-02"])
    assert again["2024-01"].total == first["2024-01"].total + 1000
    assert again["2024-02"] == count_records_by_month(["2024-02"])["2024-02"]
    insert_records(1, months=["2024-01"], seed=5)
    db.session.commit()
    assert month_cache.counts_by_month(["2024-01"]) == count_records_by_month(["2024-01"])
    assert month_cache.counts_by_month(["2024-01"])["2024-01"].total == first["2024-01"].total + 1


def test_does_a_change_in_the_counting_count_every_month_again(app_ctx, monkeypatch):
    insert_records(10, months=["2024-01"], seed=6)
    db.session.commit()
    month_cache.counts_by_month(["2024-01"])
    db.session.commit()
    wrong = count_records_by_month(["2024-01"])["2024-01"]
    wrong.total = 7777
    db.session.execute(sa.update(StatisticalMonthCounts).values(counts=counts_to_json(wrong)))
    db.session.commit()
    assert month_cache.counts_by_month(["2024-01"])["2024-01"].total == 7777
    monkeypatch.setattr(month_cache, "FORMAT", "another-taxonomy")
    assert month_cache.counts_by_month(["2024-01"]) == count_records_by_month(["2024-01"])


def test_is_a_month_counted_inside_a_transaction_that_wrote_it_never_kept_after_rollback(
    app_ctx,
):
    insert_records(10, months=["2024-01"], seed=7)
    db.session.commit()
    committed = count_records_by_month(["2024-01"])
    rng = random.Random(8)
    uncommitted = [
        {"id": secrets.token_hex(16), "withdrawal_tag": secrets.token_bytes(32), **values}
        for values in (random_record(rng, "2024-01")["values"] for _ in range(5))
    ]
    db.session.execute(sa.insert(StatisticalRecord), uncommitted)
    assert month_cache.counts_by_month(["2024-01"])["2024-01"].total == 15
    db.session.rollback()
    assert month_cache.counts_by_month(["2024-01"]) == committed


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 8))
def test_are_the_kept_counts_always_todays_counts(app_ctx, seed, steps):
    """Random writes between releases — batches into some months, withdrawals, a child row
    changed, a record's value changed — and after each, do the counts a release gets equal
    counting every month afresh?"""
    _clear()
    rng = random.Random(seed)
    insert_made([random_record(rng, rng.choice(MONTHS)) for _ in range(rng.randint(0, 30))])
    db.session.commit()
    for _ in range(steps):
        wanted = rng.sample(MONTHS, k=rng.randint(1, len(MONTHS)))
        assert month_cache.counts_by_month(wanted) == count_records_by_month(wanted)
        db.session.commit()
        ids = list(db.session.scalars(sa.select(StatisticalRecord.id)))
        action = rng.choice(["batch", "withdraw", "child", "value"])
        if action == "batch" or not ids:
            month = rng.choice(MONTHS)
            insert_made([random_record(rng, month) for _ in range(rng.randint(1, 5))])
        elif action == "withdraw":
            gone = rng.choice(ids)
            db.session.execute(sa.delete(StatisticalRecord).where(StatisticalRecord.id == gone))
        elif action == "child":
            db.session.execute(
                sa.delete(StatisticalIndicator).where(
                    StatisticalIndicator.record_id == rng.choice(ids)
                )
            )
        else:
            db.session.execute(
                sa.update(StatisticalRecord)
                .where(StatisticalRecord.id == rng.choice(ids))
                .values(persons_affected=StatisticalRecord.persons_affected + 1)
            )
        db.session.commit()
    assert month_cache.counts_by_month(MONTHS) == count_records_by_month(MONTHS)


@pytest.fixture
def empty_app(tmp_path, backend):
    yield from build_app(tmp_path, backend, create_tables=False)


def test_does_the_migration_install_the_triggers_and_take_them_away(empty_app):
    with empty_app.app_context():
        command.upgrade(alembic_config(), "head")
        insert_records(3, months=["2024-05"], seed=9)
        db.session.commit()
        assert set(_versions()) == {"2024-05"}
        db.session.remove()
        command.downgrade(alembic_config(), "0014")
        db.session.remove()
        # The records can still be written without the tables the triggers wrote to.
        insert_records(2, months=["2024-05"], seed=10)
        db.session.commit()
        db.session.remove()
        command.upgrade(alembic_config(), "head")
        # Months with records get a version at the upgrade; a new month at its first write.
        assert set(_versions()) == {"2024-05"}
        insert_records(1, months=["2024-06"], seed=11)
        db.session.commit()
        assert set(_versions()) == {"2024-05", "2024-06"}


def test_do_the_versions_tell_a_copy_of_the_database_nothing_of_how_often_a_month_was_written(
    app_ctx,
):
    """A copy of the database holds each month's version. A counter would say how many
    batches and withdrawals touched a month; the version is 128 random bits whatever the
    number of writes: one write and many look alike, and no two months share one."""
    insert_records(3, months=["2024-01"], seed=12)
    for seed in range(13, 23):
        insert_records(1, months=["2024-02"], seed=seed)
    for _ in range(5):
        db.session.execute(
            sa.delete(StatisticalRecord).where(StatisticalRecord.id == _a_record_of("2024-02"))
        )
        db.session.commit()
    versions = _versions()
    assert set(versions) == {"2024-01", "2024-02"}
    for version in versions.values():
        assert len(version) == 32 and int(version, 16) >= 0
    assert versions["2024-01"] != versions["2024-02"]


def test_does_a_release_still_open_leave_the_flush_free_to_write_its_months(app_ctx):
    """A release counts its months and then renders and signs for seconds in the same
    transaction; a batch written into one of its months meanwhile must not wait for it."""
    if db.engine.dialect.name != "postgresql":
        return  # SQLite's writers take turns whatever this does
    insert_records(10, months=["2024-01"], seed=30)
    db.session.commit()
    db.session.execute(sa.text("SELECT 1"))  # the release's transaction, left open
    assert month_cache.counts_by_month(["2024-01"])["2024-01"].total == 10
    with db.engine.begin() as flush:
        flush.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
        flush.execute(
            sa.text("UPDATE statistical_records SET outcome = outcome WHERE month = '2024-01'")
        )
    db.session.rollback()
    assert month_cache.counts_by_month(["2024-01"]) == count_records_by_month(["2024-01"])
