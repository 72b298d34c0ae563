"""Benchmark: the caseworker's queue page over 100,000 reports in PostgreSQL.

Urgency, act groups and region are sealed (issue 11): the page's SQL names the open reports'
ids, and the web process walks its ordered memory of index entries it opened once
(incident_service/cases/queue_index.py). Measures, in the same run and interleaved so
that noise hits all alike:

  plaintext query  the first version's query, as a baseline: 51 rows in urgency order from a
                   plaintext priority column and its index (added to the benchmark's own
                   schema for this measurement only)
  candidates query the page's SQL today: every open report's id, as one joined string
  counts           the counts per status above the queue (issue 13), part of the page today
                   but not of the first version's, so it is shown apart
  warm page        the whole GET /cases/ request, index entries already opened
  cold page        the same after emptying the process's memory, as after a restart: the
                   index comes from the sealed chunks at rest (cases/queue_store.py)
  very first view  once, with no chunks either: every open report's coded answers opened

Targets: issue 5, full page under 300 ms median; issue 11, no slower than before.

Every report is sealed properly (its own content keys, bound to its own id), in parallel worker
processes, and inserted in bulk; the benchmark uses its own PostgreSQL schema and drops it.

    .venv/bin/python bench/queue.py [--reports 100000] [--runs 40] [--cold-runs 3] [--profile]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named queue.py: drop its directory from the path before anything imports the
# standard library's `queue` module (multiprocessing and Celery do).
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import pyotp  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from incident_service.constants import ReportStatus, Role, Section, StatisticsState  # noqa: E402
from incident_service.crypto import RecipientPublicKey, SuiteId, SymmetricKey  # noqa: E402
from incident_service.crypto.envelopes import seal  # noqa: E402
from incident_service.crypto.receipts import (  # noqa: E402
    derive_reporter_key,
    new_reporter_salt,
    receipt_from_token,
    receipt_lookup_hash,
    submission_token_hash,
)
from incident_service.settings import Config  # noqa: E402

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
BATCH = 500
TODAY = dt.date.today()

# Synthetic report shapes, after the situations in docs: airport holds, raids, detention with
# pressure to sign a military contract, expulsions, beatings. Never real cases.
SHAPES: list[dict[str, Any]] = [
    {
        "acts": ["BRD.01", "BRD.02", "BRD.03"],
        "perpetrators": ["BRD"],
        "location_type": "AIR",
        "airport": "LED",
        "region": "RU-SPE",
        "outcome": "REL",
    },
    {
        "acts": ["BRD.05", "BRD.06"],
        "perpetrators": ["BRD"],
        "location_type": "AIR",
        "airport": "VKO",
        "region": "RU-MOW",
        "outcome": "DEN",
    },
    {
        "acts": ["DET.01", "EXT.01"],
        "perpetrators": ["POL", "VIG"],
        "location_type": "WRK",
        "airport": None,
        "region": "RU-MOS",
        "outcome": "REL",
    },
    {
        "acts": ["DET.03", "MIL.01", "MIL.02"],
        "perpetrators": ["MIG", "MIL"],
        "location_type": "DTC",
        "airport": None,
        "region": "RU-MOS",
        "outcome": "DET",
    },
    {
        "acts": ["DEP.01", "DEP.02"],
        "perpetrators": ["POL", "CRT"],
        "location_type": "POL",
        "airport": None,
        "region": "RU-MOW",
        "outcome": "DEP",
    },
    {
        "acts": ["VIO.01", "DET.02"],
        "perpetrators": ["POL"],
        "location_type": "PUB",
        "airport": None,
        "region": "RU-SPE",
        "outcome": "REL",
    },
]
STATUSES = (
    [ReportStatus.NEW] * 10
    + [ReportStatus.TRIAGED] * 10
    + [ReportStatus.IN_PROGRESS] * 10
    + [ReportStatus.REFERRED] * 10
    + [ReportStatus.CLOSED] * 55
    + [ReportStatus.SPAM] * 3
    + [ReportStatus.DUPLICATE] * 2
)

_worker: dict[str, Any] = {}


def _init_worker(keys: dict[str, Any]) -> None:
    _worker.update(keys)


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _seal_batch(seeds: list[int]) -> list[tuple[dict[str, Any], list[bytes]]]:
    """Build and seal reports exactly as intake does, one content key per section per report."""
    from incident_service import taxonomy
    from incident_service.crypto.bindings import report_section as section_context
    from incident_service.intake.validation import parse_report
    from tests.factories import report_payload

    team = RecipientPublicKey(SuiteId(_worker["suite"]), _worker["team"])
    stats = RecipientPublicKey(SuiteId(_worker["suite"]), _worker["stats"])
    pepper = SymmetricKey("receipt-pepper", _worker["pepper"])
    rows = []
    for seed in seeds:
        rng = random.Random(seed)
        shape = rng.choice(SHAPES)
        received = TODAY - dt.timedelta(days=rng.randrange(730))
        incident = received - dt.timedelta(days=rng.randrange(10))
        children = rng.random() < 0.05
        submission = parse_report(
            report_payload(
                incident_date=incident.isoformat(),
                narrative=f"SYNTHETIC benchmark report {seed}. " * rng.randint(2, 30),
                people={"group_size": rng.randint(1, 40), "children_involved": children},
                **shape,
            ),
            today_=TODAY,
        )
        report_id = secrets.token_hex(16)
        token = secrets.token_bytes(32)
        receipt = receipt_from_token(token, pepper)
        salt = new_reporter_salt()
        status = rng.choice(STATUSES)
        row = {
            "id": report_id,
            "organisation_id": _worker["organisation_id"],
            "receipt_hash": receipt_lookup_hash(receipt, pepper),
            "submission_token_hash": submission_token_hash(token, pepper),
            "reporter_salt": salt,
            "reporter_public_key": derive_reporter_key(
                receipt, salt, SuiteId(_worker["suite"])
            ).public.to_bytes(),
            "statistical_section": seal(
                _canonical(submission.statistical_section()),
                context=section_context(report_id, Section.STATISTICAL),
                recipients=[team, stats],
            ),
            "private_section": seal(
                _canonical(submission.private_section()),
                context=section_context(report_id, Section.PRIVATE),
                recipients=[team],
            ),
            "status": status.value,
            "received_on": received,
            "verification": 0,
            "labels": "",
            "consent_statistics": True,
            "consent_follow_up": True,
            "consent_ombudsman": False,
            "deletion_requested": False,
            "statistics_state": StatisticsState.RECORDED.value,
            "unread_for_caseworkers": 1 if rng.random() < 0.02 else 0,
        }
        # The first version's plaintext priority, for the baseline query only.
        urgency = taxonomy.urgency(
            outcome=submission.outcome, acts=submission.acts, children=children
        )
        rows.append((row, urgency))
    return rows


def _add_baseline_column(app: Any) -> None:
    """The first version's plaintext priority and urgency index, in this schema only."""
    from incident_service.models import db

    with app.app_context():
        db.session.execute(sa.text("ALTER TABLE reports ADD COLUMN baseline_priority integer"))
        db.session.commit()


def _index_baseline(app: Any) -> None:
    from incident_service.models import db

    with app.app_context():
        db.session.execute(
            sa.text(
                "CREATE INDEX ix_baseline_urgency ON reports "
                "(organisation_id, baseline_priority, received_on, id)"
            )
        )
        db.session.execute(sa.text("ANALYZE reports"))
        db.session.commit()


def seed_reports(app: Any, count: int) -> float:
    from incident_service.auth.teams import team_public_key
    from incident_service.keystore import KeyRing
    from incident_service.models import Organisation, Report, db

    started = time.perf_counter()
    with app.app_context():
        ring: KeyRing = app.extensions["incident_keys"]
        organisation = db.session.scalars(sa.select(Organisation)).one()
        team = team_public_key(organisation)
        keys = {
            "suite": int(team.suite),
            "team": team.public_bytes,
            "stats": ring.require_statistics_public().public_bytes,
            "pepper": ring.require_pepper().secret,
            "organisation_id": organisation.id,
        }
        batches = [
            list(range(start, min(start + BATCH, count))) for start in range(0, count, BATCH)
        ]
        done = 0
        context = multiprocessing.get_context("fork")
        with context.Pool(os.cpu_count() or 2, _init_worker, (keys,)) as pool:
            for result in pool.imap_unordered(_seal_batch, batches):
                db.session.execute(sa.insert(Report.__table__), [row for row, _ in result])
                db.session.execute(
                    sa.text("UPDATE reports SET baseline_priority = :p WHERE id = :i"),
                    [{"p": urgency, "i": row["id"]} for row, urgency in result],
                )
                db.session.commit()
                done += len(result)
                print(f"\r  sealed and inserted {done:,}/{count:,}", end="", flush=True)
        print()
        db.session.commit()
        # What autovacuum does to a table after a burst of inserts: without it PostgreSQL
        # cannot answer from the index alone (visibility map), which is not the steady state.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE reports"))
    return time.perf_counter() - started


def make_caseworker(app: Any) -> tuple[str, str, str, str]:
    import datetime as dt

    import pyotp

    from incident_service.auth import accounts, enrolment, teams
    from incident_service.models import Organisation, db

    with app.app_context():
        organisation = db.session.scalars(sa.select(Organisation)).one()
        created = enrolment.create_user(
            email="bench.caseworker@example.org", role=Role.CASEWORKER, organisation=organisation
        )
        secret = accounts.begin_totp_enrolment(created.user)
        earlier = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
        password, passphrase = "bench password 1234", "bench passphrase 5678"
        enrolment.complete_first_login(
            user=created.user,
            code=pyotp.TOTP(secret).at(earlier),
            new_password=password,
            confirm_password=password,
            passphrase=passphrase,
            confirm_passphrase=passphrase,
        )
        team_private = teams.load_bootstrap_key(organisation, Path(app.config["KEYS_DIR"]))
        assert team_private is not None
        teams.grant_team_key(user=created.user, team_private_key=team_private)
        db.session.commit()
        return created.user.email, password, passphrase, secret


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p90_ms(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.9) - 1] * 1000


def run(reports: int, runs: int, cold_runs: int, profile: bool = False) -> None:
    from incident_service import create_app
    from incident_service.auth import teams
    from incident_service.cases import queue as case_queue
    from incident_service.cases import queue_index
    from incident_service.models import QueueIndexChunk, Report, db

    engine = sa.create_engine(POSTGRES_URL)
    schema = "bench_queue_" + secrets.token_hex(4)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        server_version = connection.execute(sa.text("SHOW server_version")).scalar_one()
    try:
        with tempfile.TemporaryDirectory() as instance:
            config = Config(
                INCIDENT_ENV="testing",
                INSTANCE_PATH=instance,
                DATABASE_URL=POSTGRES_URL,
                KEYS_DIR=str(Path(instance) / "keys"),
                CELERY_EAGER=True,
                RATELIMIT_STORAGE_URI="memory://",
            )
            app = create_app(config, DATABASE_SCHEMA=schema, WTF_CSRF_ENABLED=False)
            with app.app_context():
                db.create_all()
                teams.ensure_organisation()
                db.session.commit()
            _add_baseline_column(app)
            print(f"seeding {reports:,} reports into schema {schema} ...")
            seconds = seed_reports(app, reports)
            print(f"  seeding took {seconds:.0f} s")
            _index_baseline(app)
            with app.app_context():
                open_count = db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Report)
                    .where(Report.status.in_([s.value for s in case_queue.OPEN_STATUSES]))
                )
            email, password, passphrase, secret = make_caseworker(app)
            client = app.test_client()
            response = client.post(
                "/login",
                data={"email": email, "password": password, "code": pyotp.TOTP(secret).now()},
            )
            assert response.status_code == 302, "benchmark login refused"
            assert client.post("/unlock", data={"passphrase": passphrase}).status_code == 302

            with app.app_context():
                from incident_service.models import User

                viewer = db.session.scalars(sa.select(User)).one()
                organisation_id, viewer_id = viewer.organisation_id, viewer.id
            open_statuses = [status.value for status in case_queue.OPEN_STATUSES]
            baseline = sa.text(
                "SELECT * FROM reports WHERE organisation_id = :o AND status = ANY(:s) "
                "ORDER BY baseline_priority DESC, received_on DESC, id DESC LIMIT 51"
            )

            def plaintext_query() -> float:
                with app.app_context():
                    began = time.perf_counter()
                    rows = db.session.execute(
                        baseline, {"o": organisation_id, "s": open_statuses}
                    ).all()
                    took = time.perf_counter() - began
                    assert len(rows) == case_queue.PAGE_SIZE + 1
                    db.session.remove()
                return took

            def candidates_query() -> float:
                with app.app_context():
                    statement = case_queue.candidates_statement(
                        organisation_id=organisation_id,
                        filters=case_queue.QueueFilters(),
                        viewer_id=viewer_id,
                        dialect="postgresql",
                    )
                    began = time.perf_counter()
                    ids = set(db.session.execute(statement).scalar_one().split(","))
                    took = time.perf_counter() - began
                    assert len(ids) > case_queue.PAGE_SIZE
                    db.session.remove()
                return took

            def counts_query() -> float:
                """The counts above the queue (issue 13), which the first version had not."""
                with app.app_context():
                    began = time.perf_counter()
                    case_queue.queue_counts(organisation_id=organisation_id, viewer_id=viewer_id)
                    took = time.perf_counter() - began
                    db.session.remove()
                return took

            def page(cold: bool, first_ever: bool = False) -> float:
                if cold:
                    queue_index.CACHE.clear()
                if first_ever:
                    with app.app_context():
                        db.session.execute(sa.delete(QueueIndexChunk))
                        db.session.commit()
                began = time.perf_counter()
                response = client.get("/cases/")
                took = time.perf_counter() - began
                body = response.get_data(as_text=True)
                assert response.status_code == 200
                assert body.count('href="/cases/') - body.count('href="/cases/?') >= 50
                assert "Cannot be opened" not in body
                return took

            first_ever = page(True, first_ever=True)  # no chunks yet: every report opened
            for _ in range(3):  # warm connections, templates and the index cache
                plaintext_query(), candidates_query(), page(False)
            samples: dict[str, list[float]] = {
                "plain": [],
                "candidates": [],
                "counts": [],
                "warm": [],
                "cold": [],
            }
            for number in range(runs):  # interleaved, so that load from elsewhere hits all
                samples["plain"].append(plaintext_query())
                samples["candidates"].append(candidates_query())
                samples["counts"].append(counts_query())
                samples["warm"].append(page(False))
                if number < cold_runs:
                    samples["cold"].append(page(True))

            if profile:
                import cProfile
                import pstats

                statements: dict[str, list[float]] = {}
                with app.app_context():
                    engine_ = db.engine

                @sa.event.listens_for(engine_, "before_cursor_execute")
                def _began(conn, cursor, statement, parameters, context, executemany):
                    conn.info["began"] = time.perf_counter()

                @sa.event.listens_for(engine_, "after_cursor_execute")
                def _ended(conn, cursor, statement, parameters, context, executemany):
                    took = time.perf_counter() - conn.info.pop("began")
                    statements.setdefault(" ".join(statement.split())[:90], []).append(took)

                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(10):
                    page(False)
                profiler.disable()
                print("\nwarm page, 10 requests under cProfile, by own time:")
                pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
                print("SQL per warm page (10 pages), total ms by statement:")
                for text_, took in sorted(statements.items(), key=lambda kv: -sum(kv[1])):
                    print(f"  {sum(took) * 100:7.2f} ms/page  {len(took):3}x  {text_}")
            print()
            print(
                f"queue page over {reports:,} reports ({open_count:,} open), PostgreSQL "
                f"{server_version}, {os.cpu_count()} cores; median [p90] in ms"
            )
            rows = [
                ("baseline: plaintext urgency query (51 rows)", "plain"),
                ("candidates query (open report ids)", "candidates"),
                ("counts per status (issue 13; not in the first page)", "counts"),
                ("warm page (entries in memory)", "warm"),
                ("page after a restart (sealed chunks opened)", "cold"),
            ]
            for label, key in rows:
                values = samples[key]
                print(
                    f"  {label:52} {median_ms(values):9.1f} [{p90_ms(values):9.1f}]"
                    f"  ({len(values)} runs)"
                )
            print(f"  {'very first view (every open report opened)':52} {first_ever * 1000:9.1f}")
            warm = median_ms(samples["warm"])
            print(
                f"  warm page / baseline query {warm / median_ms(samples['plain']):.1f}x; "
                f"target (< 300 ms): {'met' if warm < 300 else 'NOT met'}"
            )
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of ten warm pages"
    )
    args = parser.parse_args()
    run(args.reports, args.runs, args.cold_runs, args.profile)


if __name__ == "__main__":
    main()
