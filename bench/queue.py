"""Benchmark: the caseworker's queue page over 100,000 reports in PostgreSQL.

Measures, in the same run and interleaved so that noise hits all three alike:

  query only      the page's SQL (51 rows, urgency order), rows loaded, nothing decrypted
  page, no crypto the whole GET /cases/ request with the per-row decryption switched off
  full page       the whole GET /cases/ request: 50 rows, each row's coded answers decrypted

Target (issue 5): full page within 3x the query-only time and under 300 ms median.

Every report is sealed properly (its own content keys, bound to its own id), in parallel worker
processes, and inserted in bulk; the benchmark uses its own PostgreSQL schema and drops it.

    .venv/bin/python bench/queue.py [--reports 100000] [--runs 40]
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
    from incident_service.crypto.bindings import facet_tag
    from incident_service.crypto.bindings import report_section as section_context
    from incident_service.intake.storage import report_facets
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
            "priority": taxonomy.urgency(
                outcome=submission.outcome, acts=submission.acts, children=children
            ),
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
        tags = [
            facet_tag(_worker["index"], _worker["organisation_id"], facet, value)
            for facet, value in report_facets(submission)
        ]
        rows.append((row, tags))
    return rows


def seed_reports(app: Any, count: int) -> float:
    from incident_service.auth.teams import team_public_key
    from incident_service.keystore import KeyRing
    from incident_service.models import Organisation, Report, ReportFacet, db

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
            "index": ring.require_index_key().secret,
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
                    sa.insert(ReportFacet.__table__),
                    [{"report_id": row["id"], "tag": tag} for row, tags in result for tag in tags],
                )
                db.session.commit()
                done += len(result)
                print(f"\r  sealed and inserted {done:,}/{count:,}", end="", flush=True)
        print()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
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


def run(reports: int, runs: int) -> None:
    from incident_service import create_app
    from incident_service.auth import teams
    from incident_service.cases import queue as case_queue
    from incident_service.models import db

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
            print(f"seeding {reports:,} reports into schema {schema} ...")
            seconds = seed_reports(app, reports)
            print(f"  seeding took {seconds:.0f} s")
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
                index_key = app.extensions["incident_keys"].require_index_key().secret

            def query_only() -> float:
                with app.app_context():
                    statement = case_queue.queue_statement(
                        organisation_id=organisation_id,
                        filters=case_queue.QueueFilters(),
                        viewer_id=viewer_id,
                        index_key=index_key,
                        page=1,
                    )
                    began = time.perf_counter()
                    rows = list(db.session.scalars(statement))
                    took = time.perf_counter() - began
                    assert len(rows) == case_queue.PAGE_SIZE + 1
                    db.session.remove()
                return took

            real_summarise = case_queue.summarise

            def page(decrypt: bool) -> float:
                case_queue.summarise = real_summarise if decrypt else (lambda report, key: None)
                began = time.perf_counter()
                response = client.get("/cases/")
                took = time.perf_counter() - began
                case_queue.summarise = real_summarise
                body = response.get_data(as_text=True)
                assert response.status_code == 200
                assert body.count('href="/cases/') - body.count('href="/cases/?') >= 50
                assert ("Cannot be opened" in body) is not decrypt
                return took

            def measure() -> dict[str, list[float]]:
                for _ in range(5):  # warm caches, connections and templates
                    query_only(), page(False), page(True)
                samples: dict[str, list[float]] = {"query": [], "plain": [], "full": []}
                for _ in range(runs):  # interleaved, so that load from elsewhere hits all three
                    samples["query"].append(query_only())
                    samples["plain"].append(page(False))
                    samples["full"].append(page(True))
                return samples

            with_index = measure()
            # The same page on the foundation's indexes alone, to show what the urgency index
            # buys: without it PostgreSQL sorts every open report to find the first 50.
            with app.app_context():
                db.session.execute(sa.text("DROP INDEX ix_reports_urgency"))
                db.session.execute(sa.text("ANALYZE reports"))
                db.session.commit()
            without_index = measure()

            print()
            print(
                f"queue page over {reports:,} reports, PostgreSQL {server_version}, "
                f"{os.cpu_count()} cores; {runs} runs each, median [p90] in ms"
            )
            print(f"  {'':40} {'with ix_reports_urgency':>24} {'without it':>16}")
            rows = [
                ("query only (51 rows, no decryption)", "query"),
                ("page without decryption", "plain"),
                ("full page (50 rows decrypted)", "full"),
            ]
            for label, key in rows:
                a, b = with_index[key], without_index[key]
                print(
                    f"  {label:40} {median_ms(a):12.1f} [{p90_ms(a):7.1f}]"
                    f" {median_ms(b):8.1f} [{p90_ms(b):6.1f}]"
                )
            for name, samples in (("with the index", with_index), ("without it", without_index)):
                query, plain, full = (median_ms(samples[k]) for k in ("query", "plain", "full"))
                verdict = "met" if full <= 3 * query and full < 300 else "NOT met"
                print(
                    f"  {name}: full/query {full / query:.1f}x, full/page-without-decryption "
                    f"{full / plain:.1f}x; target (<= 3x query only, < 300 ms): {verdict}"
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
    args = parser.parse_args()
    run(args.reports, args.runs)


if __name__ == "__main__":
    main()
