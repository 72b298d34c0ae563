"""A version per month of statistical records, replaced by the database on every write.

A release counts the statistical records of its months; the joint audit counts every month of
the year's published releases as well. A month's counts change only when one of its records
(or a record's child rows) is written, so they can be kept between releases (see
`releases.month_cache`) — provided every write is noticed, whatever writes it: the
pipeline's flush, a withdrawal, a retention purge, a bench seeding with `COPY`, an operator in
`psql`, or a path not written yet. That is why the version is replaced by triggers in the
database rather than by the code that writes: kept counts are used only while the month's
version is the one they were counted at, and no write of its records leaves it unchanged.

The version is 128 random bits, not a counter: a counter would tell whoever copies the
database how many batches and withdrawals touched each month, and a withdrawal is a report
whose record was deleted so that nothing links it to its month any more.

PostgreSQL: statement-level triggers with transition tables, one `INSERT … ON CONFLICT`
per statement (a `COPY` of a whole chunk replaces each of its months once), months in order
so that two writers lock them in the same order. TRUNCATE replaces every month. SQLite:
row-level triggers (SQLite has neither statement triggers nor TRUNCATE; `DELETE` without
`WHERE` runs the row triggers once a table has any).

The same statement deletes the month's stored counts: kept past the write, they would still
hold a withdrawn record's part in every figure of its month for anyone who copies the
database, beside the records that no longer have it.

Child rows carry no month: theirs is their record's. A child row deleted with its record (the
`ON DELETE CASCADE`) finds no record any more, but the record's own trigger replaced the
month's version.

Created with the tables, by `db.create_all()` (a listener on the models' metadata, see
`models`) and by migration 0015; both run `install`.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

VERSIONS = "statistical_month_versions"
COUNTS = "statistical_month_counts"
RECORDS = "statistical_records"
CHILDREN = (
    "statistical_acts",
    "statistical_perpetrators",
    "statistical_citizenships",
    "statistical_indicators",
)

# Every statement below is built from this module's constants only (table names, the months'
# selects); nothing from a request or a record enters them, hence the `noqa: S608`s.

# The months whose version each PostgreSQL function replaces: those of the rows a statement
# wrote.
_RECORD_MONTHS = {
    "new": "SELECT month FROM new_rows",
    "old": "SELECT month FROM old_rows",
    "both": "SELECT month FROM new_rows UNION SELECT month FROM old_rows",
}
# A child row's month is its record's, looked up by primary key once per distinct record: an
# index probe each, whatever the planner believes of the transition table's size (a join
# planned on a tiny estimate made a bulk `COPY` of child rows quadratic).
_CHILD_MONTHS = {
    side: (
        f"SELECT (SELECT s.month FROM {RECORDS} s WHERE s.id = c.record_id) AS month "  # noqa: S608
        f"FROM ({rows}) AS c"
    )
    for side, rows in {
        "new": "SELECT DISTINCT record_id FROM new_rows",
        "old": "SELECT DISTINCT record_id FROM old_rows",
        "both": "SELECT record_id FROM new_rows UNION SELECT record_id FROM old_rows",
    }.items()
}
# Event → (transition tables, which rows hold the months).
_EVENTS = {
    "INSERT": ("REFERENCING NEW TABLE AS new_rows", "new"),
    "UPDATE": ("REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", "both"),
    "DELETE": ("REFERENCING OLD TABLE AS old_rows", "old"),
}


def _function(name: str, body: str, declare: str = "") -> str:
    # `SET search_path FROM CURRENT`: the tables named in the body are those of the schema the
    # function was created in, whatever the search path of the session that writes.
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
        f"SET search_path FROM CURRENT AS $$ {declare} BEGIN {body}; RETURN NULL; END $$"
    )


# A fresh random version: 128 bits from the server's strong random source, as hex.
_PG_FRESH = "replace(gen_random_uuid()::text, '-', '')"
_SQLITE_FRESH = "lower(hex(randomblob(16)))"


def _replace(months: str) -> tuple[str, str]:
    """The body (and its declarations) of a function that gives the months of `months` a new
    version and deletes their stored counts; the months are found once, and taken in order,
    so that two writers lock them in the same order."""
    body = (
        "SELECT array_agg(DISTINCT month ORDER BY month) INTO changed "  # noqa: S608
        f"FROM ({months}) AS m WHERE month IS NOT NULL; "
        "IF changed IS NULL THEN RETURN NULL; END IF; "
        f"INSERT INTO {VERSIONS} (month, version) "
        f"SELECT month, {_PG_FRESH} FROM unnest(changed) AS month ORDER BY month "
        "ON CONFLICT (month) DO UPDATE SET version = excluded.version; "
        f"DELETE FROM {COUNTS} WHERE month = ANY (changed)"
    )
    return body, "DECLARE changed text[];"


# The PostgreSQL functions: one that changes every month, one per kind of table and side.
_ALL_CHANGED = "statistical_months_all_changed"
_FUNCTIONS = [_ALL_CHANGED] + [
    f"statistical_months_{kind}_{side}_changed"
    for kind in ("records", "children")
    for side in ("new", "old", "both")
]


def _postgresql() -> Iterator[str]:
    yield _function(
        _ALL_CHANGED,
        f"UPDATE {VERSIONS} SET version = {_PG_FRESH}; DELETE FROM {COUNTS}",  # noqa: S608
    )
    for kind, months in (("records", _RECORD_MONTHS), ("children", _CHILD_MONTHS)):
        for side, select in months.items():
            body, declare = _replace(select)
            yield _function(f"statistical_months_{kind}_{side}_changed", body, declare)
    for table in (RECORDS, *CHILDREN):
        kind = "records" if table == RECORDS else "children"
        for event, (transition, side) in _EVENTS.items():
            yield (
                f"CREATE OR REPLACE TRIGGER {table}_{event.lower()}_months AFTER {event} "
                f"ON {table} {transition} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION statistical_months_{kind}_{side}_changed()"
            )
        yield (
            f"CREATE OR REPLACE TRIGGER {table}_truncate_months AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_ALL_CHANGED}()"
        )


def _sqlite_replace(month: str) -> str:
    # The WHERE keeps SQLite from reading ON CONFLICT as a join's ON (its documented parsing
    # ambiguity for an upsert from a SELECT), and a child row without a record writes nothing.
    return (
        f"INSERT INTO {VERSIONS} (month, version) "  # noqa: S608
        f"SELECT month, {_SQLITE_FRESH} FROM ({month}) "
        "WHERE month IS NOT NULL "
        "ON CONFLICT (month) DO UPDATE SET version = excluded.version; "
        f"DELETE FROM {COUNTS} WHERE month IN ({month});"
    )


def _sqlite() -> Iterator[str]:
    for table in (RECORDS, *CHILDREN):
        for event, sides in (
            ("INSERT", ("NEW",)),
            ("UPDATE", ("OLD", "NEW")),
            ("DELETE", ("OLD",)),
        ):
            if table == RECORDS:
                months = [f"SELECT {side}.month AS month" for side in sides]
            else:
                months = [
                    f"SELECT month FROM {RECORDS} WHERE id = {side}.record_id"  # noqa: S608
                    for side in sides
                ]
            body = " ".join(_sqlite_replace(select) for select in months)
            yield (
                f"CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}_months AFTER {event} "
                f"ON {table} FOR EACH ROW BEGIN {body} END"
            )


def statements(dialect: str) -> list[str]:
    """The DDL that installs the triggers on `dialect` ("postgresql" or "sqlite")."""
    return list(_postgresql() if dialect == "postgresql" else _sqlite())


def version_existing_months(connection: sa.Connection) -> None:
    """Give every month that has records a version (the migration that installs the triggers
    onto a database with records): counts stored for such a month then always carry one that
    its next write replaces."""
    fresh = _PG_FRESH if connection.dialect.name == "postgresql" else _SQLITE_FRESH
    connection.exec_driver_sql(
        f"INSERT INTO {VERSIONS} (month, version) "  # noqa: S608
        f"SELECT month, {fresh} FROM (SELECT DISTINCT month FROM {RECORDS}) AS m"
    )


def install(connection: sa.Connection) -> None:
    """Create the triggers (the tables exist already); again is harmless (PostgreSQL 14 or
    later for `CREATE OR REPLACE TRIGGER`; the deployment runs 15)."""
    for statement in statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def uninstall(connection: sa.Connection) -> None:
    """Drop the triggers and, on PostgreSQL, their functions (the tables stay)."""
    postgresql = connection.dialect.name == "postgresql"
    for table in (RECORDS, *CHILDREN):
        for event in (*_EVENTS, *(("TRUNCATE",) if postgresql else ())):
            on = f" ON {table}" if postgresql else ""
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_{event.lower()}_months{on}")
    if postgresql:
        for name in _FUNCTIONS:
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")
