"""Attack: a database copied after a withdrawal, searched for the withdrawn record's part in the
counts a release keeps for each month.

Promise (design §6, §10): a report withdrawn from the statistics — spam, a duplicate, consent
taken back — leaves no statistical record behind. Releases keep each month's counts between
generations (`releases.month_cache`). Counts kept from before the withdrawal would still hold
the withdrawn record's part in every figure of its month: recount the month from the records
the copy holds, subtract, and what is left is that record's acts, place, citizenship and
indicators. The attacker here has the copy (every row of every table) and does exactly that,
after the real paths ran: reports filed and anonymised, a release generated, one report marked
spam and withdrawn. A second script plays the race: counts taken in a snapshot before the
withdrawal and stored after it was committed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa

from incident_service.models import Report, db
from incident_service.pipeline.withdrawal import WithdrawalOutcome, withdraw_statistics
from incident_service.releases import month_cache
from incident_service.releases.counts import count_records_by_month, counts_from_json
from incident_service.releases.lifecycle import generate_release
from tests.attacks.dumps import database_dump
from tests.factories import submit

TODAY = dt.date(2024, 7, 2)


def _withdraw_as_spam(report_id: str) -> None:
    report = db.session.get(Report, report_id)
    report.status = "spam"
    db.session.commit()
    assert withdraw_statistics(report_id) is WithdrawalOutcome.WITHDRAWN


def _what_the_copy_gives_away(dump: dict) -> dict[str, int]:
    """Per month, how many more reports the kept counts hold than the copy's records."""
    records = Counter(row["month"] for row in dump["statistical_records"])
    extra = {}
    for row in dump.get("statistical_month_counts", []):
        kept = counts_from_json(row["counts"])
        if kept.total != records.get(row["month"], 0):
            extra[row["month"]] = kept.total - records.get(row["month"], 0)
    return extra


def test_does_a_copy_after_a_withdrawal_keep_no_counts_with_the_withdrawn_record(app):
    with app.app_context():
        ids = [submit().report_id for _ in range(12)]
        release = generate_release(period="2024-05", today=TODAY)
        assert release is not None
        before = database_dump(db.engine)
        assert [row["month"] for row in before["statistical_month_counts"]] == ["2024-05"]
        assert _what_the_copy_gives_away(before) == {}

        _withdraw_as_spam(ids[3])
        after = database_dump(db.engine)
        assert len(after["statistical_records"]) == 11
        assert _what_the_copy_gives_away(after) == {}
        # Nothing is kept for the month until a release counts it again, from the 11 left.
        assert after["statistical_month_counts"] == []
        # Nor does the month's version count the writes that touched it.
        (version,) = after["statistical_month_versions"]
        assert (
            len(version["version"]) == 32
            and version["version"] != before["statistical_month_versions"][0]["version"]
        )
        assert month_cache.counts_by_month(["2024-05"])["2024-05"].total == 11


def test_are_counts_taken_before_a_withdrawal_never_kept_after_it(app):
    """The race: a release reads the month (version and records) before the withdrawal
    commits, and stores its counts after. They must not be kept."""
    with app.app_context():
        ids = [submit().report_id for _ in range(5)]
        known = month_cache._known(db.session, ["2024-05"])
        counted = count_records_by_month(["2024-05"])
        assert counted["2024-05"].total == 5
        db.session.commit()
        _withdraw_as_spam(ids[0])
        month_cache._store(counted, {"2024-05": known["2024-05"].version})
        db.session.commit()
        assert _what_the_copy_gives_away(database_dump(db.engine)) == {}
        assert database_dump(db.engine)["statistical_month_counts"] == []
        # What a release is given is today's month.
        assert month_cache.counts_by_month(["2024-05"])["2024-05"].total == 4
        db.session.commit()
        kept = database_dump(db.engine)["statistical_month_counts"]
        assert [counts_from_json(row["counts"]).total for row in kept] == [4]
        assert sa.inspect(db.engine).has_table("statistical_month_counts")
