"""Benchmark of the anonymisation pipeline and the aggregation, each next to its floor.

1. Anonymise: one worker process (`celery -A workers.celery_app worker --concurrency 1`) works
   through a backlog of reports in PostgreSQL, nudged once through Redis. Its rate is printed
   next to the rate of the HPKE opens alone (open every statistical section, nothing else, on
   one core), measured in the same run on the same sections. Target (issue 14): at least 60 %
   of the open-only rate. The worker's flush writes on a second thread while it opens the next
   chunk, so the CPU its process used is printed too (cores busy on average, from /proc), and
   the rate per core it kept busy, which is the figure to compare with the one-core floor.
2. Aggregate: `aggregate.cube()` with every margin over a million statistical records, next to a
   plain `SELECT ... GROUP BY` of the same dimensions over the same rows. Target: within 2x.

Everything lives in a dedicated PostgreSQL schema that is dropped at the end.

    .venv/bin/python bench/pipeline.py [--reports 10000] [--records 1000000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Python puts bench/ first on sys.path, where bench/queue.py would shadow the standard
# library's queue module that Celery imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import sqlalchemy as sa  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incident_service import create_app, taxonomy  # noqa: E402
from incident_service.auth.teams import ensure_organisation  # noqa: E402
from incident_service.constants import Section  # noqa: E402
from incident_service.crypto.bindings import report_section  # noqa: E402
from incident_service.crypto.envelopes import open_envelope  # noqa: E402
from incident_service.crypto.receipts import new_submission_token  # noqa: E402
from incident_service.intake.storage import record_report  # noqa: E402
from incident_service.intake.validation import parse_report  # noqa: E402
from incident_service.models import MixingPoolEntry, Report, StatisticalRecord, db  # noqa: E402
from incident_service.pipeline import dispatch  # noqa: E402
from incident_service.pipeline.anonymise import statistics_key  # noqa: E402
from incident_service.releases.aggregate import Dimension, cube  # noqa: E402
from incident_service.releases.periods import ReleasePeriod  # noqa: E402
from incident_service.settings import Config  # noqa: E402

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get(
    "BENCH_REDIS_URL", os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
)
REPEATS = 5
sys.stdout.reconfigure(line_buffering=True)  # progress shows up when output is a file


def _variants() -> list[Any]:
    """A few differently shaped reports, so sections and records are not all alike."""
    from tests.factories import report_payload

    shapes = [
        {},
        {
            "acts": ["DET.01", "DET.03", "MIL.01", "MIL.02"],
            "airport": None,
            "region": "RU-MOS",
            "location_type": "WRK",
            "perpetrators": ["POL", "VIG"],
            "outcome": "DET",
            "people": {"citizenship": ["TJK", "UZB"], "group_size": 4},
        },
        {
            "acts": ["BRD.06"],
            "region": "RU-TA",
            "airport": "KZN",
            "duration_hours": 20,
            "forced_labour_indicators": ["FL06"],
            "people": {"sex": "F", "group_size": 1},
        },
        {
            "acts": ["EXT.01", "DEP.01"],
            "region": None,
            "airport": None,
            "country": "RU",
            "location_type": "PUB",
            "date_precision": "month",
            "incident_date": "2024-03",
        },
    ]
    return [parse_report(report_payload(**shape)) for shape in shapes]


def _timed(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _median_time(function: Callable[[], Any], repeats: int = REPEATS) -> float:
    function()  # warm caches and plans
    return statistics.median(_timed(function) for _ in range(repeats))


# --------------------------------------------------------------------------------------------
# Anonymise


def _delete_statistical_records() -> None:
    """Empty the statistical tables (children first); the caller commits."""
    for table in (
        "statistical_acts",
        "statistical_perpetrators",
        "statistical_citizenships",
        "statistical_indicators",
        "statistical_records",
    ):
        db.session.execute(sa.text(f"DELETE FROM {table}"))


def _requeue_backlog() -> None:
    """Put every report back into the mixing pool, as before the first run, and vacuum."""
    _delete_statistical_records()
    db.session.execute(
        sa.text(
            "INSERT INTO mixing_pool (report_id, queued_on) SELECT id, CURRENT_DATE FROM reports"
        )
    )
    db.session.execute(sa.text("UPDATE reports SET statistics_state = 'waiting'"))
    db.session.commit()
    _vacuum()


def _vacuum() -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))


def _start_worker(schema: str, workdir: Path) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")},
        "INCIDENT_ENV": "testing",
        "PROCESS_ROLE": "worker",
        "INSTANCE_PATH": str(workdir),
        "KEYS_DIR": str(workdir / "keys"),
        "DATABASE_URL": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}",
        "REDIS_URL": REDIS_URL,
        "CELERY_EAGER": "0",
        "PYTHONPATH": str(ROOT),
    }
    log_path = workdir / "worker.log"
    argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker"]
    argv += ["--loglevel", "INFO", "--concurrency", "1", "-n", f"bench-{schema}@%h"]
    argv += ["--without-mingle", "--without-gossip"]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while " ready." not in log_path.read_text(errors="replace"):
        if time.monotonic() > deadline or worker.poll() is not None:
            worker.kill()
            raise SystemExit("worker did not start:\n" + log_path.read_text()[-2000:])
        time.sleep(0.2)
    return worker


def _process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live descendants, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
        pending.extend(children.get(current, []))
    return total


def _one_worker_run(count: int, worker_pid: int) -> tuple[float, float]:
    """Seconds from the nudge to an empty pool, with every report recorded exactly once, and
    the CPU seconds the worker's processes used meanwhile."""
    cpu_before = _process_tree_cpu(worker_pid)
    started = time.perf_counter()
    if not dispatch.enqueue(dispatch.TASK_PIPELINE_NUDGE):
        raise SystemExit(f"could not reach Redis at {REDIS_URL}")
    while True:
        db.session.rollback()
        waiting = db.session.scalar(sa.select(sa.func.count()).select_from(MixingPoolEntry))
        if not waiting:
            break
        if time.perf_counter() - started > 1800:
            raise SystemExit("the worker did not finish within 30 minutes")
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    cpu = _process_tree_cpu(worker_pid) - cpu_before
    records = db.session.scalar(sa.select(sa.func.count()).select_from(StatisticalRecord))
    tags = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(StatisticalRecord.withdrawal_tag)))
    )
    if records != count or tags != count:
        raise SystemExit(f"expected {count} records, found {records} ({tags} distinct tags)")
    return seconds, cpu


def bench_anonymise(
    app: Any, schema: str, count: int, workdir: Path, runs: int
) -> dict[str, list[float]]:
    """Worker runs over the same backlog (re-queued and vacuumed in between), each preceded
    by a measurement of the open-only floor over the same sections."""
    variants = _variants()
    with app.app_context():
        organisation = ensure_organisation()
        started = time.perf_counter()
        for index in range(count):
            record_report(
                variants[index % len(variants)],
                submission_token=new_submission_token(),
                organisation=organisation,
            )
            if index % 500 == 499:
                db.session.commit()
        db.session.commit()
        _vacuum()
        print(f"  backlog of {count} reports filed in {time.perf_counter() - started:.1f} s")
        sections = db.session.execute(sa.select(Report.id, Report.statistical_section)).all()
        db.session.rollback()
        key = statistics_key()

    def open_all() -> None:
        for report_id, envelope in sections:
            open_envelope(
                envelope, context=report_section(report_id, Section.STATISTICAL), private_key=key
            )

    worker = _start_worker(schema, workdir)
    figures: dict[str, list[float]] = {"open_rate": [], "anonymise_rate": [], "cores": []}
    try:
        with app.app_context():
            for run in range(runs):
                if run:
                    _requeue_backlog()
                figures["open_rate"].append(len(sections) / _timed(open_all))
                seconds, cpu = _one_worker_run(count, worker.pid)
                figures["anonymise_rate"].append(count / seconds)
                figures["cores"].append(cpu / seconds)
                print(
                    f"  run {run + 1}: open-only {figures['open_rate'][-1]:7.0f} /s, "
                    f"anonymise {figures['anonymise_rate'][-1]:6.0f} /s ({seconds:.2f} s), "
                    f"worker CPU {cpu / count * 1e6:.0f} us/report, "
                    f"{cpu / seconds:.2f} cores busy"
                )
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    return figures


# --------------------------------------------------------------------------------------------
# Aggregate


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{value}'" for value in values) + "]"


def _fill_records(count: int) -> None:
    """A million synthetic records over two years, skewed towards the Moscow area as reports
    are, with one to three acts and one or two citizenships each."""
    regions = taxonomy.REGIONS.codes()
    weighted = ["RU-MOW"] * 30 + ["RU-MOS"] * 20 + ["RU-SPE"] * 15 + regions
    districts = [taxonomy.region_district(region) for region in weighted]
    acts = taxonomy.ACTS.codes()
    citizenships = ["TJK"] * 6 + ["UZB"] * 3 + ["KGZ"] * 2 + taxonomy.CITIZENSHIPS.codes()
    origins = [taxonomy.citizenship_origin(code) for code in citizenships]

    def pick(array: list[str], salt: str) -> str:
        return f"({_sql_array(array)})[1 + floor(random() * {len(array)} + 0 * ({salt}))::int]"

    statements = [
        f"""
        INSERT INTO statistical_records (id, withdrawal_tag, month, country, federal_district,
            region, airport, location_type, sex, age_band, legal_status, group_size_band,
            persons_affected, duration_band, women_involved, children_involved,
            contract_offered, contract_signed, citizenship_promised, payment_offered, outcome,
            reporter_role)
        SELECT md5(g::text || 'id'),
               decode(md5(g::text), 'hex') || decode(md5(g::text || 'tag'), 'hex'),
               to_char(date '2023-01-01' + floor(random() * 730)::int, 'YYYY-MM'),
               'RU', ({_sql_array(districts)})[p.i], ({_sql_array(weighted)})[p.i], NULL,
               {pick(taxonomy.LOCATION_TYPES.codes(), "g")},
               {pick(["M", "M", "M", "F", "X"], "g")},
               {pick(taxonomy.AGE_BANDS.codes(), "g")},
               {pick(taxonomy.LEGAL_STATUSES.codes(), "g")},
               {pick(taxonomy.GROUP_SIZE_BANDS.codes(), "g")},
               1 + floor(random() * 5)::int,
               {pick(taxonomy.DURATION_BANDS.codes(), "g")},
               random() < 0.2, random() < 0.1, random() < 0.1, random() < 0.02,
               random() < 0.05, random() < 0.03,
               {pick(taxonomy.OUTCOMES.codes(), "g")},
               {pick(taxonomy.REPORTER_ROLES.codes(), "g")}
        FROM generate_series(1, {count}) AS g
        CROSS JOIN LATERAL (SELECT 1 + floor(random() * {len(weighted)} + 0 * g)::int AS i) p
        """,
        f"""
        INSERT INTO statistical_acts (record_id, act_code, act_group)
        SELECT DISTINCT r.id, a.code, left(a.code, 3)
        FROM statistical_records r
        CROSS JOIN LATERAL (
            SELECT {pick(acts, "length(r.id) + n")} AS code
            FROM generate_series(1, 1 + floor(random() * 3 + 0 * length(r.id))::int) AS n
        ) a
        """,
        f"""
        INSERT INTO statistical_citizenships (record_id, citizenship, origin_region)
        SELECT DISTINCT r.id, ({_sql_array(citizenships)})[c.i], ({_sql_array(origins)})[c.i]
        FROM statistical_records r
        CROSS JOIN LATERAL (
            SELECT 1 + floor(random() * {len(citizenships)} + 0 * length(r.id) + 0 * n)::int AS i
            FROM generate_series(1, 1 + (random() < 0.1 + 0 * length(r.id))::int) AS n
        ) c
        """,
    ]
    for statement in statements:
        db.session.execute(sa.text(statement))
    db.session.commit()


# Two whole years, year-only values included: one range from "2023" to "2024-12" in SQL.
MONTHS = [
    *ReleasePeriod.from_label("2023").record_months,
    *ReleasePeriod.from_label("2024").record_months,
]
SINGLE = [Dimension.MONTH, Dimension.FEDERAL_DISTRICT, Dimension.REGION, Dimension.LOCATION_TYPE]
PLAIN_SINGLE = """
    SELECT month, federal_district, region, location_type, count(*)
    FROM statistical_records WHERE month BETWEEN '2023-01' AND '2024-12'
    GROUP BY month, federal_district, region, location_type
"""
NAIVE_CUBE = """
    SELECT month, federal_district, region, location_type, count(*)
    FROM statistical_records WHERE month BETWEEN '2023-01' AND '2024-12'
    GROUP BY CUBE (month, federal_district, region, location_type)
"""
MULTI = [Dimension.MONTH, Dimension.FEDERAL_DISTRICT, Dimension.ACT_GROUP]
PLAIN_MULTI = """
    SELECT r.month, r.federal_district, a.act_group, count(*)
    FROM statistical_records r
    JOIN (SELECT DISTINCT record_id, act_group FROM statistical_acts) a ON a.record_id = r.id
    WHERE r.month BETWEEN '2023-01' AND '2024-12'
    GROUP BY r.month, r.federal_district, a.act_group
"""


def bench_aggregate(app: Any, count: int) -> dict[str, float]:
    with app.app_context():
        started = time.perf_counter()
        _fill_records(count)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
        rows = db.session.scalar(sa.text("SELECT count(*) FROM statistical_records"))
        acts = db.session.scalar(sa.text("SELECT count(*) FROM statistical_acts"))
        print(f"  {rows} records, {acts} acts generated in {time.perf_counter() - started:.1f} s")

        def run(sql: str) -> Callable[[], Any]:
            return lambda: db.session.execute(sa.text(sql)).all()

        figures = {
            "plain_single": _median_time(run(PLAIN_SINGLE)),
            "cube_single": _median_time(lambda: cube(months=MONTHS, dimensions=SINGLE)),
            "naive_cube": _median_time(run(NAIVE_CUBE), repeats=3),
            "plain_multi": _median_time(run(PLAIN_MULTI)),
            "cube_multi": _median_time(lambda: cube(months=MONTHS, dimensions=MULTI)),
        }
        # Same numbers, or the comparison means nothing.
        result = cube(months=MONTHS, dimensions=SINGLE, margins=False)
        plain = {tuple(row[:4]): row[4] for row in db.session.execute(sa.text(PLAIN_SINGLE))}
        assert result.finest() == plain, "cube and plain GROUP BY disagree"
        assert cube(months=MONTHS, dimensions=SINGLE).total == rows
    return figures


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="worker runs over the backlog")
    parser.add_argument("--skip-anonymise", action="store_true")
    parser.add_argument("--skip-aggregate", action="store_true")
    args = parser.parse_args()

    schema = "bench_pipeline_" + secrets.token_hex(4)
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    app = None
    try:
        config = Config(
            INCIDENT_ENV="testing",
            INSTANCE_PATH=str(workdir),
            DATABASE_URL=POSTGRES_URL,
            KEYS_DIR=str(workdir / "keys"),
            REDIS_URL=REDIS_URL,
            CELERY_EAGER=False,
            ARGON2_MEMORY_KIB=1024,
            ARGON2_TIME_COST=1,
        )
        app = create_app(config, DATABASE_SCHEMA=schema)
        with app.app_context():
            db.create_all()
            ensure_organisation()
            db.session.commit()
        print(f"schema {schema}; HPKE suite {config.HPKE_SUITE}; Redis {REDIS_URL}")

        if not args.skip_anonymise:
            print(f"\nAnonymise a backlog of {args.reports} reports (one worker process)")
            runs = bench_anonymise(app, schema, args.reports, workdir, args.runs)
            open_rate = statistics.median(runs["open_rate"])
            anonymise_rate = statistics.median(runs["anonymise_rate"])
            share = anonymise_rate / open_rate
            cores = statistics.median(runs["cores"])
            per_core = statistics.median(
                rate / max(busy, 1.0)
                for rate, busy in zip(runs["anonymise_rate"], runs["cores"], strict=True)
            )
            print(f"  open-only floor (HPKE + AES-GCM opens), median: {open_rate:8.0f} /s")
            print(f"  anonymise, end to end, median:                 {anonymise_rate:8.0f} /s")
            print(f"  worker concurrency 1; its processes kept {cores:.2f} cores busy (median)")
            print(f"  anonymise per busy worker core (at least 1):   {per_core:8.0f} /s")
            verdict = "met" if share >= 0.60 and per_core / open_rate >= 0.60 else "MISSED"
            print(
                f"  anonymise / open-only: {share:.0%}, per core {per_core / open_rate:.0%} "
                f"(target >= 60%: {verdict})"
            )

        if not args.skip_aggregate:
            with app.app_context():
                _delete_statistical_records()
                db.session.commit()
            print(f"\nAggregate {args.records} statistical records")
            figures = bench_aggregate(app, args.records)
            print(f"  plain GROUP BY, 4 dimensions, finest cells:  {figures['plain_single']:.3f} s")
            print(f"  cube(), same 4 dimensions, all 16 margins:   {figures['cube_single']:.3f} s")
            print(f"  plain GROUP BY CUBE over the rows (context): {figures['naive_cube']:.3f} s")
            ratio = figures["cube_single"] / figures["plain_single"]
            print(
                f"  cube / plain: {ratio:.2f}x (target <= 2x: {'met' if ratio <= 2 else 'MISSED'})"
            )
            multi_ratio = figures["cube_multi"] / figures["plain_multi"]
            print(f"  plain GROUP BY month x district x act group: {figures['plain_multi']:.3f} s")
            print(f"  cube(), same, all 8 margins:                 {figures['cube_multi']:.3f} s")
            print(f"  cube / plain with a multi-valued dimension: {multi_ratio:.2f}x")
    finally:
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
        print(f"\ndropped schema {schema}")


if __name__ == "__main__":
    main()
