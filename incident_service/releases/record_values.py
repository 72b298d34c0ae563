"""What a differentially private release measures: each report's values in a period, one
value per report or, for questions with several answers, a bounded list of them."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from incident_service import taxonomy
from incident_service.models import StatisticalRecord, db
from incident_service.releases.periods import ReleasePeriod
from incident_service.releases.table_specs import NOT_STATED


def period_records(period: ReleasePeriod) -> sa.ColumnElement[bool]:
    return StatisticalRecord.month.in_(period.record_months)


def column_values(
    period: ReleasePeriod, column: str, vocabulary: taxonomy.Vocabulary | None = None
) -> list[str]:
    """One value per report; "not stated" for none, and for a code outside `vocabulary`."""
    attribute = getattr(StatisticalRecord, column)
    return [
        NOT_STATED
        if value is None or (vocabulary is not None and value not in vocabulary)
        else str(value)
        for value in db.session.scalars(sa.select(attribute).where(period_records(period)))
    ]


def capped_lists(
    period: ReleasePeriod,
    table: sa.Table,
    column: str,
    *,
    cap: int,
    none_value: str | None,
    transform: Callable[[str], str] = str,
) -> list[str]:
    """Each report's values of a child table, at most `cap` of them chosen at random (so one
    report moves the counts by at most `cap`), flattened; `none_value` for reports with none."""
    records = StatisticalRecord.__table__
    per_record: dict[str, set[str]] = defaultdict(set)
    for record_id in db.session.scalars(sa.select(records.c.id).where(period_records(period))):
        per_record[record_id] = set()
    rows = db.session.execute(
        sa.select(table.c.record_id, table.c[column])
        .join(records, records.c.id == table.c.record_id)
        .where(period_records(period))
    )
    for record_id, value in rows:
        per_record[record_id].add(transform(value))
    chooser = secrets.SystemRandom()
    flat: list[str] = []
    for values in per_record.values():
        if not values:
            if none_value is not None:
                flat.append(none_value)
            continue
        ordered = sorted(values)
        flat += ordered if len(ordered) <= cap else chooser.sample(ordered, cap)
    return flat


def flag_lists(period: ReleasePeriod, flags: Sequence[str]) -> list[str]:
    columns = [getattr(StatisticalRecord, flag) for flag in flags]
    flat: list[str] = []
    for row in db.session.execute(sa.select(*columns).where(period_records(period))):
        flat += [flag for flag, value in zip(flags, row, strict=True) if value]
    return flat
