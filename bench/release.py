"""Benchmark: a quarterly release (all formats) from 1,000,000 statistical records on PostgreSQL.

Measures, in the same run and interleaved so that machine noise hits both alike:

  plain queries   the GROUP BY queries a release needs, written out as SQL and run directly
  release stages  what `generate_release` does, stage by stage, with the same functions:
                    1 count         `count_records` (aggregate cubes) and `count_cases` (with
                                    published releases to compare, every month they cover)
                    2 protect       threshold rule, secondary suppression, integer-programming
                                    audit, differencing check
                    3 html/csv/json documents in three languages with SVG charts, CSV, JSON,
                                    audit
                    4 pdf           three PDFs laid out by WeasyPrint from the HTML files, in
                                    child processes (one per language) where forking is safe
                    5 sign          manifest and Ed25519 signature
  end to end      one call of `generate_release` (everything, stored in the database)

Targets: all formats under 10 s with the PDF no longer half of it (issue 14; issue 6 asked for
30 s); counting + protection + HTML/CSV/JSON within 3x the plain queries (issue 6). Records are
synthetic (never real cases), written with COPY into a schema of their own that is dropped
afterwards.

With `--published-history` (issue 15) the quarter is generated after a year of releases was
published through the lifecycle functions (`generate_release`, `publish_release`): the twelve
months of 2024, the quarters 2023-Q4, 2024-Q1, 2024-Q2 and 2024-Q3, and the year 2024, in the
order a year's releases come out. The joint audit then solves the quarter with every one of
them of its year (2023-Q4 is of another year and shares no period with it: it is not
compared). Each run times the quarter twice, alternating which goes first: with the history,
and the same release with the history hidden (its rows set to draft inside the transaction,
rolled back after), the same-run baseline. The joint audit's own time is shown apart: the
counts of every month involved (the difference it makes to "1 count": `_counts_and_joint`
counts them with the quarter) and the integer programs (`joint_audit`, inside "2 protect").
The twelve months before the quarter get `--history-records` records each (default: a third
of `--records`, as many as each month of the quarter), so the year 2024 holds four times the
quarter's records.

Each month's counts are stored by the release that counted them and used again while the
month's records are unchanged (`releases.month_cache`). `--stored` says which of them a
timed release finds: `closed` (the default: every month but the quarter's own three, as when
batches keep arriving in the months of the quarter), `all` (nothing written since the history
was published) or `none` (as before any release, or before the cache existed).

    .venv/bin/python bench/release.py [--records 1000000] [--runs 3]
    .venv/bin/python bench/release.py --published-history [--history-records N] [--keep SCHEMA]
        [--stored closed|all|none]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a queue.py: drop this directory from the path before anything imports the
# standard library's `queue` (Celery does).
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask import current_app  # noqa: E402

from incident_service import create_app, taxonomy  # noqa: E402
from incident_service.auth.teams import ensure_organisation  # noqa: E402
from incident_service.constants import ReleaseMethod, ReleaseStatus, Role  # noqa: E402
from incident_service.models import Release, StatisticalMonthCounts, User, db  # noqa: E402
from incident_service.releases import content as release_content  # noqa: E402
from incident_service.releases import lifecycle as releases  # noqa: E402
from incident_service.releases import month_cache  # noqa: E402
from incident_service.releases.counts import count_cases  # noqa: E402
from incident_service.releases.documents import manifest, render  # noqa: E402
from incident_service.releases.parameters import normalise_parameters, parameters_digest  # noqa: E402
from incident_service.releases.periods import parse_period  # noqa: E402
from incident_service.settings import Config  # noqa: E402

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PERIOD = "2024-Q4"
MONTHS = ["2024-10", "2024-11", "2024-12"]
TODAY = dt.date(2025, 2, 1)
# Months before the quarter that hold records when the published history is wanted.
HISTORY_MONTHS = ["2023-10", "2023-11", "2023-12"] + [f"2024-{m:02d}" for m in range(1, 10)]
# Published before the quarter is generated, in the order a year's releases come out.
HISTORY = [
    "2023-Q4",
    "2024-01", "2024-02", "2024-03", "2024-Q1",
    "2024-04", "2024-05", "2024-06", "2024-Q2",
    "2024-07", "2024-08", "2024-09", "2024-Q3",
    "2024-10", "2024-11", "2024-12", "2024",
]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Synthetic records, written with COPY


# Shapes of the synthetic data (never real cases): value lists and relative weights.
SHAPES: dict[str, tuple[list[Any], list[float]]] = {
    "sex": (["M", "F", "MIX", "X", None], [70, 15, 8, 2, 5]),
    "age_band": (
        ["18-24", "25-34", "35-44", "45-54", "55+", "0-17", None],
        [20, 35, 22, 10, 3, 1, 9],
    ),
    "legal_status": (
        ["PAT", "TRP", "RP", "NAT", "EAEU", "IRR", "STU", None],
        [40, 10, 5, 10, 15, 10, 2, 8],
    ),
    "duration_band": (
        ["<3h", "3-12h", "12-48h", "2-7d", "7-30d", ">30d", "UNK"],
        [25, 25, 15, 10, 5, 3, 17],
    ),
    "outcome": (["REL", "DEP", "DEN", "DET", "SIG", "UNK"], [50, 15, 10, 8, 1, 16]),
    "reporter_role": (["SELF", "RELATIVE", "WITNESS", "COMMUNITY", "UNK"], [60, 15, 10, 10, 5]),
}
FLAG_SHARES = {
    "women_involved": 0.2,
    "children_involved": 0.05,
    "contract_offered": 0.04,
    "contract_signed": 0.005,
    "citizenship_promised": 0.02,
    "payment_offered": 0.01,
}


def _pick(rng: np.random.Generator, values: list[Any], weights: list[float], n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(np.array(values, dtype=object), size=n, p=p / p.sum())


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool | np.bool_):
        return "t" if value else "f"
    return str(value)


def load_records(
    connection: Any, schema: str, n: int, seed: int = 6, history_per_month: int = 0
) -> dict[str, int]:
    """`n` records in the quarter's months, and `history_per_month` in each of HISTORY_MONTHS."""
    rng = np.random.default_rng(seed)
    in_quarter = n
    n += history_per_month * len(HISTORY_MONTHS)
    regions = taxonomy.REGIONS.codes()
    region_weights = [30.0, 20.0, 15.0] + [35.0 / (len(regions) - 3)] * (len(regions) - 3)
    airport_codes = taxonomy.AIRPORTS.codes()
    airport_weights = [25.0, 15.0, 15.0, 15.0, 5.0] + [25.0 / (len(airport_codes) - 5)] * (
        len(airport_codes) - 5
    )
    at_airport = rng.random(n) < 0.3
    airport = np.where(at_airport, _pick(rng, airport_codes, airport_weights, n), None)
    region = _pick(rng, [*regions, None], [*region_weights, 5.0], n)
    region = np.where(
        at_airport, np.array([taxonomy.airport_region(a) if a else None for a in airport]), region
    )
    elsewhere = _pick(rng, ["RU", "KZ", "TJ", "UZ"], [8, 1, 1, 1], n)
    country = np.where(np.array([r is not None for r in region]), "RU", elsewhere)
    district = np.array([taxonomy.region_district(r) if r else None for r in region], dtype=object)
    location = np.where(
        at_airport,
        "AIR",
        _pick(rng, ["WRK", "RES", "PUB", "POL", "DTC", None], [5, 4, 3, 2, 1, 2], n),
    )
    sizes = rng.choice([1, 1, 1, 2, 3, 5, 8, 12, 20, 30, 60], size=n)
    columns = {
        "month": np.concatenate(
            [
                _pick(rng, MONTHS, [1, 1, 1], in_quarter),
                np.repeat(np.array(HISTORY_MONTHS, dtype=object), history_per_month),
            ]
        ),
        "country": country,
        "federal_district": district,
        "region": region,
        "airport": airport,
        "location_type": location,
        "group_size_band": np.array([taxonomy.group_size_band(int(s)) for s in sizes]),
        "persons_affected": np.array([taxonomy.persons_affected(int(s)) for s in sizes]),
        **{name: _pick(rng, values, weights, n) for name, (values, weights) in SHAPES.items()},
        **{name: rng.random(n) < share for name, share in FLAG_SHARES.items()},
    }
    names = list(columns)
    buffer = io.StringIO()
    for i in range(n):
        fields = [f"{i:032x}", f"\\\\x{i:064x}"] + [_text(columns[c][i]) for c in names]
        buffer.write("\t".join(fields) + "\n")
    cursor = connection.cursor()
    with cursor.copy(
        f'COPY "{schema}".statistical_records (id, withdrawal_tag, {", ".join(names)}) FROM STDIN'
    ) as copy:
        copy.write(buffer.getvalue())

    act_codes = taxonomy.ACTS.codes()
    group_weight = {"DET": 5, "BRD": 6, "MIL": 2, "DEP": 3, "VIO": 2, "EXT": 2, "CIT": 1, "LAB": 1}
    code_weights = [
        group_weight[taxonomy.act_group(c)] / len(taxonomy.ACTS.children(taxonomy.act_group(c)))
        for c in act_codes
    ]
    firsts = _pick(rng, act_codes, code_weights, n)
    seconds = _pick(rng, act_codes, code_weights, n)
    has_second = rng.random(n) < 0.4
    acts = io.StringIO()
    child_rows = {"acts": 0, "perpetrators": 0, "citizenships": 0, "indicators": 0}
    perpetrators = io.StringIO()
    citizenships = io.StringIO()
    indicators = io.StringIO()
    perpetrator_codes = _pick(
        rng, ["POL", "MIG", "BRD", "MIL", "EMP", "VIG", "UNK"], [30, 15, 25, 5, 10, 5, 10], n
    )
    has_perpetrator = rng.random(n) < 0.85
    citizenship_codes = _pick(
        rng, ["TJK", "UZB", "KGZ", "KAZ", "TKM", "AFG"], [50, 30, 15, 2, 2, 1], n
    )
    for i in range(n):
        record = f"{i:032x}"
        codes = {firsts[i]} | ({seconds[i]} if has_second[i] else set())
        for code in codes:
            acts.write(f"{record}\t{code}\t{taxonomy.act_group(code)}\n")
            child_rows["acts"] += 1
        if has_perpetrator[i]:
            perpetrators.write(f"{record}\t{perpetrator_codes[i]}\n")
            child_rows["perpetrators"] += 1
        code = citizenship_codes[i]
        citizenships.write(f"{record}\t{code}\t{taxonomy.citizenship_origin(code)}\n")
        child_rows["citizenships"] += 1
        if any(taxonomy.act_group(c) == "LAB" for c in codes):
            indicators.write(f"{record}\tFL08\n")
            child_rows["indicators"] += 1
    for table, columns_sql, data in (
        ("statistical_acts", "record_id, act_code, act_group", acts),
        ("statistical_perpetrators", "record_id, perpetrator", perpetrators),
        ("statistical_citizenships", "record_id, citizenship, origin_region", citizenships),
        ("statistical_indicators", "record_id, indicator", indicators),
    ):
        with cursor.copy(f'COPY "{schema}".{table} ({columns_sql}) FROM STDIN') as copy:
            copy.write(data.getvalue())
    connection.commit()
    cursor.execute(f'ANALYZE "{schema}".statistical_records')
    for table in ("statistical_acts", "statistical_perpetrators", "statistical_citizenships"):
        cursor.execute(f'ANALYZE "{schema}".{table}')
    connection.commit()
    return {"records": n, **child_rows}


# --------------------------------------------------------------------------------------------
# The plain queries (the baseline)

IN_PERIOD = "r.month IN ('2024-10', '2024-11', '2024-12')"
SINGLE = ("month", "location_type", "sex", "age_band", "legal_status", "group_size_band",
          "duration_band", "outcome", "reporter_role")  # fmt: skip
FLAGS = "women_involved, children_involved, contract_offered, contract_signed, " \
    "citizenship_promised, payment_offered"  # fmt: skip
CHILDREN = (
    ("statistical_acts", "act_code"),
    ("statistical_perpetrators", "perpetrator"),
    ("statistical_citizenships", "citizenship"),
    ("statistical_indicators", "indicator"),
)


def plain_queries() -> list[str]:
    """The figures a release needs as plain statements, written out: one aggregate, one GROUP
    BY per one-way table, persons per group-size band, places, flag patterns, and per child
    table the reports per set of codes (what `count_records` sent before it used cubes)."""
    records = "statistical_records r"
    queries = [f"SELECT count(*), sum(r.persons_affected) FROM {records} WHERE {IN_PERIOD}"]
    queries += [
        f"SELECT r.{c}, count(*) FROM {records} WHERE {IN_PERIOD} GROUP BY r.{c}" for c in SINGLE
    ]
    queries.append(
        f"SELECT r.group_size_band, sum(r.persons_affected) FROM {records} "
        f"WHERE {IN_PERIOD} GROUP BY r.group_size_band"
    )
    place = "r.country, r.federal_district, r.region, r.airport, r.location_type"
    queries.append(f"SELECT {place}, count(*) FROM {records} WHERE {IN_PERIOD} GROUP BY {place}")
    queries.append(f"SELECT {FLAGS}, count(*) FROM {records} WHERE {IN_PERIOD} GROUP BY {FLAGS}")
    for table, code in CHILDREN:
        per_record = (
            f"SELECT c.record_id, string_agg(c.{code}, ',') AS codes FROM {table} c "
            f"JOIN {records} ON r.id = c.record_id WHERE {IN_PERIOD} GROUP BY c.record_id"
        )
        queries.append(f"SELECT codes, count(*) FROM ({per_record}) d GROUP BY codes")
    return queries


def run_plain_queries() -> None:
    for query in plain_queries():
        db.session.execute(sa.text(query)).all()


# --------------------------------------------------------------------------------------------


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


# Time spent in the joint audit's integer programs, summed over its calls (it runs in turn
# with the single-release protection until both agree).
JOINT_AUDIT_TIME = [0.0]


def _timed_joint_audit(**kwargs: Any) -> Any:
    start = time.perf_counter()
    try:
        return _joint_audit(**kwargs)
    finally:
        JOINT_AUDIT_TIME[0] += time.perf_counter() - start


_joint_audit = release_content.joint_audit
release_content.joint_audit = _timed_joint_audit


STORED = ["closed"]  # --stored


def _set_stored_counts() -> None:
    """Leave the months' stored counts as `--stored` says, committed: the counting reads on
    connections that share this session's snapshot, which see only committed rows."""
    if STORED[0] == "all":
        month_cache.counts_by_month([*HISTORY_MONTHS, *MONTHS, "2024", "2023"])
    else:
        forget = sa.delete(StatisticalMonthCounts)
        if STORED[0] == "closed":
            forget = forget.where(StatisticalMonthCounts.month.in_(MONTHS))
        db.session.execute(forget)
    db.session.commit()


def one_release_by_stage() -> dict[str, float]:
    """The stages of `generate_release` for the quarter, against whatever is published now:
    the earlier releases it is compared with are read as `_draft_content` reads them."""
    period = parse_period(PERIOD, today=TODAY)
    parameters = normalise_parameters(ReleaseMethod.SUPPRESSION, None)
    digest = parameters_digest(ReleaseMethod.SUPPRESSION, parameters)
    times: dict[str, float] = {}
    # With published releases of the year, `_counts_and_joint` counts every month involved
    # in one pass and sums the quarter's months; without, it is `count_records` of the quarter.
    times["1 count"], ((counts, joint), cases, overlapping) = timed(
        lambda: (
            releases._counts_and_joint(period, parameters["zero_sensitive_tables"]),
            count_cases(period.start, period.end),
            releases._published_releases(period),
        )
    )
    JOINT_AUDIT_TIME[0] = 0.0
    times["2 protect"], result = timed(
        lambda: release_content.suppression_content(
            period=period,
            parameters=parameters,
            counts=counts,
            cases=cases,
            generated_on=TODAY,
            published_overlapping=overlapping,
            joint=joint,
        )
    )
    times["  of which joint solving"] = JOINT_AUDIT_TIME[0]
    assert result.audit["passed"]
    result.content["comparison"] = release_content.comparison(
        result.content, None, previous_release_id=None, min_base=30
    )

    def text_files() -> tuple[Any, Any]:
        html = render.render_html(render.document_views(result.content, digest=digest))
        return html, render.render_text_files(
            result.content, result.audit, digest=digest, html=html
        )

    times["3 html/csv/json"], (html, text) = timed(text_files)
    # Laid out from the HTML files, one child process per language where forking is safe
    # (`generate_release` also writes the CSV/JSON meanwhile; here the stages are apart).
    times["4 pdf"], pdfs = timed(
        lambda: render.render_pdf_files(result.content, digest=digest, html=html)
    )
    key = current_app.extensions["incident_keys"].require_signing_key()

    def sign() -> bytes:
        document = manifest.build_manifest(
            period=PERIOD,
            method="suppression",
            parameters=parameters,
            parameters_digest=digest,
            generated_on=TODAY,
            files=text + pdfs,
            verify_key=key.verify_key,
        )
        return manifest.sign_manifest(document, key)

    times["5 sign"], _signature = timed(sign)
    return times


def _reset_releases(history: bool, supervisor_email: str) -> list[int]:
    """Leave only the published history (publishing it first where it is not all there), or
    nothing; return the published history's release ids."""
    if history:
        published = dict(
            db.session.execute(
                sa.select(Release.period, Release.id).where(
                    Release.status == ReleaseStatus.PUBLISHED.value,
                    Release.method == ReleaseMethod.SUPPRESSION.value,
                )
            ).all()
        )
        if set(published) == set(HISTORY):
            ids = list(published.values())
            db.session.execute(sa.delete(Release).where(Release.id.not_in(ids)))
            db.session.commit()
            return ids
    db.session.execute(sa.delete(Release))
    db.session.commit()
    if not history:
        return []
    supervisor = db.session.scalar(sa.select(User).where(User.email == supervisor_email))
    if supervisor is None:
        supervisor = User(
            organisation_id=ensure_organisation().id,
            email=supervisor_email,
            role=Role.SUPERVISOR.value,
            password_hash="not-a-real-hash",
            must_change_password=False,
            totp_secret_sealed=b"not-a-real-secret",
            active=True,
        )
        db.session.add(supervisor)
        db.session.commit()
    ids = []
    for label in HISTORY:
        took, release = timed(
            lambda label=label: releases.generate_release(period=label, today=TODAY)
        )
        releases.publish_release(release.id, actor=supervisor)
        db.session.commit()
        hidden = len(json.loads(release.disclosure_audit).get("joint", {}).get("cells_hidden", []))
        print(f"  published {label:<8} in {took:5.1f} s (joint audit hid {hidden} figures)")
        ids.append(release.id)
    return ids


def _hide_history(ids: list[int]) -> None:
    """The same-run baseline: the history's rows are drafts for the rest of the transaction."""
    db.session.execute(
        sa.update(Release).where(Release.id.in_(ids)).values(status=ReleaseStatus.DRAFT.value)
    )


def _show_history(ids: list[int]) -> None:
    db.session.execute(
        sa.update(Release).where(Release.id.in_(ids)).values(status=ReleaseStatus.PUBLISHED.value)
    )
    db.session.commit()


def end_to_end(history_ids: list[int], *, with_history: bool) -> tuple[float, float, float, Any]:
    """One stored `generate_release` of the quarter (with or without the published history),
    its joint audit time, and the time to publish it (rolled back; -1 without history). The
    release is deleted afterwards, and the history shown again."""
    JOINT_AUDIT_TIME[0] = 0.0
    _set_stored_counts()
    if history_ids and not with_history:
        _hide_history(history_ids)  # committed by generate_release: shown again below
    try:
        took, release = timed(lambda: releases.generate_release(period=PERIOD, today=TODAY))
        joint_time = JOINT_AUDIT_TIME[0]
        publish = -1.0
        if with_history and history_ids:
            actor = db.session.scalar(sa.select(User).where(User.role == Role.SUPERVISOR.value))
            publish, _ = timed(lambda: releases.publish_release(release.id, actor=actor))
            db.session.rollback()
        files = len(release.files)
        db.session.execute(sa.delete(Release).where(Release.id == release.id))
        db.session.commit()
    finally:
        db.session.rollback()
        if history_ids:
            _show_history(history_ids)
    return took, joint_time, publish, files


def _median_stages(stages: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(run[name] for run in stages) for name in stages[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", metavar="SCHEMA", help="keep (or reuse) this schema's records")
    parser.add_argument(
        "--published-history",
        action="store_true",
        help="publish 12 months, 4 quarters and a year first; time the quarter with and without",
    )
    parser.add_argument(
        "--history-records",
        type=int,
        default=None,
        help="records in each month before the quarter (default: a third of --records)",
    )
    parser.add_argument(
        "--stored",
        choices=["closed", "all", "none"],
        default="closed",
        help="months whose stored counts a timed release finds (default: all but the quarter's)",
    )
    args = parser.parse_args()
    STORED[0] = args.stored
    history = args.published_history
    per_month = args.records // 3 if args.history_records is None else args.history_records
    per_month = per_month if history else 0

    schema = args.keep or "bench_release_" + secrets.token_hex(4)
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"),
            {"s": schema},
        ).first()
        if exists is None:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    instance = tempfile.mkdtemp(prefix="bench-release-")
    config = Config(
        INCIDENT_ENV="testing",
        INSTANCE_PATH=instance,
        DATABASE_URL=POSTGRES_URL,
        KEYS_DIR=str(Path(instance) / "keys"),
        CELERY_EAGER=True,
        RATELIMIT_STORAGE_URI="memory://",
    )
    app = create_app(config, DATABASE_SCHEMA=schema)
    try:
        with app.app_context():
            if exists is None:
                db.create_all()
                raw = db.engine.raw_connection()
                load_time, loaded = timed(
                    lambda: load_records(
                        raw.driver_connection, schema, args.records, history_per_month=per_month
                    )
                )
                raw.close()
                print(f"loaded {loaded} with COPY in {load_time:.1f} s (schema {schema})")
            elif history and not db.session.scalar(
                sa.text("SELECT count(*) FROM statistical_records WHERE month = :m"),
                {"m": HISTORY_MONTHS[-1]},
            ):
                raise SystemExit(f"schema {schema} has no records before {PERIOD}: seed a new one")
            # The signing key lives in the instance folder: a kept schema's history was signed
            # with another run's key, which is only checked when a release is published again.
            history_ids = _reset_releases(history, f"bench-supervisor@{schema}.example.org")
            run_plain_queries()  # warm the cache once, for both sides alike
            plain: list[float] = []
            stages: list[dict[str, float]] = []
            baseline: list[dict[str, float]] = []
            for run in range(args.runs):
                plain.append(timed(run_plain_queries)[0])
                order = [True, False] if (run % 2 == 0 or not history) else [False, True]
                for with_history in order if history else [True]:
                    _set_stored_counts()
                    if not with_history:
                        _hide_history(history_ids)
                    (stages if with_history else baseline).append(one_release_by_stage())
                    db.session.rollback()
            ends: list[tuple[float, float, float, Any]] = []
            ends_baseline: list[tuple[float, float, float, Any]] = []
            for run in range(args.runs if history else 1):
                order = [True, False] if run % 2 == 0 else [False, True]
                for with_history in order if history else [True]:
                    outcome = end_to_end(history_ids, with_history=with_history)
                    (ends if with_history else ends_baseline).append(outcome)
            median_plain = statistics.median(plain)
            median = _median_stages(stages)
            base = _median_stages(baseline) if baseline else None
            names = list(median)
            summed = [n for n in names if not n.startswith(" ")]
            print(f"\n{args.records:,} records, {PERIOD}, median of {args.runs} runs (seconds)")
            print(f"  stored counts found: {args.stored}")
            if history:
                print(f"  history: {', '.join(HISTORY)} published; {per_month:,} records a month")
                print(f"  {'':<28}{'with':>8}{'without':>9}   (history hidden, same runs)")
            print(f"  plain GROUP BY queries ({len(plain_queries())}) {median_plain:8.2f}")
            for name in names:
                other = f"{base[name]:9.2f}" if base else ""
                print(f"  {name:<28}{median[name]:8.2f}{other}")
            all_formats = sum(median[n] for n in summed)
            html_csv_json = median["1 count"] + median["2 protect"] + median["3 html/csv/json"]
            other = f"{sum(base[n] for n in summed):9.2f}" if base else ""
            print(
                f"  {'all formats (sum of stages)':<28}{all_formats:8.2f}{other}   target < 10; "
                f"pdf {median['4 pdf'] / all_formats:.0%} of it (target < 50 %)"
            )
            if not history:
                print(
                    f"  {'count+protect+html/csv/json':<28}{html_csv_json:8.2f}   "
                    f"= {html_csv_json / median_plain:.2f} x plain queries (target <= 3)"
                )
            else:
                assert base is not None
                counting = median["1 count"] - base["1 count"]
                joint = counting + median["  of which joint solving"]
                print(
                    f"  {'joint audit':<28}{joint:8.2f}   = counting {counting:.2f} (1 count, "
                    f"with - without) + solving {median['  of which joint solving']:.2f}: "
                    f"{joint / all_formats:.0%} of the sum of stages"
                )
            e2e = statistics.median(e[0] for e in ends)
            other = f"{statistics.median(e[0] for e in ends_baseline):9.2f}" if history else ""
            print(
                f"  {'generate_release, stored':<28}{e2e:8.2f}{other}   "
                f"({ends[0][3]} files; median of {len(ends)})"
            )
            if history:
                e2e_joint = statistics.median(e[1] for e in ends)
                publish = statistics.median(e[2] for e in ends)
                print(f"  {'  of which joint solving':<28}{e2e_joint:8.2f}")
                print(f"  {'publish_release (rolled back)':<28}{publish:8.2f}")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if not args.keep:
            with engine.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    main()
