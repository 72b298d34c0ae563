"""Where the anonymiser's time goes, per report: CPU of this process and of its PostgreSQL
backends, phase by phase, with the open-only floor beside it (issue 14).

Files a backlog through the intake sealing code into a schema of its own, then flushes it
in-process several times (re-queued in between), alternating the one-chunk-after-the-other
loop (`_flush_chunks_serial`, where each phase's CPU is its own) with the pipelined one that
PostgreSQL uses (`_flush_chunks`, where the phases overlap and only the totals mean much).
CPU comes from `time.process_time()` (all threads of this process) and from /proc for the
backends of this process's connections, so it says little about wall time on a busy machine
but much about what each report costs wherever it runs.

    .venv/bin/python bench/profile_anonymise.py [--reports 3000] [--runs 4]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import collections  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import secrets  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import sqlalchemy as sa  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pipeline as bench  # noqa: E402

from bench.backend_cpu import backend_cpu, on_connect  # noqa: E402
from incident_service import create_app  # noqa: E402
from incident_service.auth.teams import ensure_organisation  # noqa: E402
from incident_service.constants import Section  # noqa: E402
from incident_service.crypto.bindings import report_section  # noqa: E402
from incident_service.crypto.envelopes import open_envelope  # noqa: E402
from incident_service.crypto.receipts import new_submission_token  # noqa: E402
from incident_service.intake.storage import record_report  # noqa: E402
from incident_service.models import Report, db  # noqa: E402
from incident_service.pipeline import flush as flushing  # noqa: E402
from incident_service.pipeline.anonymise import statistics_key  # noqa: E402
from incident_service.settings import Config  # noqa: E402

PHASES = (
    "_next_chunk",
    "_lock_chunk",
    "_prepare",
    "_present_tags",
    "_insert_shuffled",
    "_lock_reports",
    "_apply_settlement",
)
TIMES: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])


def _timed(name: str) -> None:
    function = getattr(flushing, name)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        cpu, db_cpu = time.process_time(), backend_cpu()
        try:
            return function(*args, **kwargs)
        finally:
            TIMES[name][0] += time.process_time() - cpu
            TIMES[name][1] += backend_cpu() - db_cpu

    setattr(flushing, name, wrapper)


def _prepare_parts(sections: list[Any], key: Any) -> dict[str, float]:
    """CPU seconds of each step `_prepare` takes per report, each step alone over all the
    sections (the open once, the others the least of five runs): the open, the withdrawal
    tag, the JSON parse and `generalise`. (Before issue 14's second round the flush parsed
    with `json.loads` and tagged with `withdrawal_tag`; the script measures whichever the
    code it runs in has.)"""
    from incident_service.pipeline import anonymise

    context = [report_section(report_id, Section.STATISTICAL) for report_id, _ in sections]
    tag_key = anonymise.withdrawal_key()
    tagger = getattr(anonymise.bindings, "withdrawal_tagger", None)
    tag_of = tagger(tag_key) if tagger else functools.partial(_tag, key=tag_key)
    parse = getattr(anonymise, "_parse", json.loads)
    parts: dict[str, float] = {}

    cpu = time.process_time()
    plaintexts = [
        open_envelope(envelope, context=bound, private_key=key)
        for (_, envelope), bound in zip(sections, context, strict=True)
    ]
    parts["open"] = time.process_time() - cpu
    documents = [parse(plaintext.decode("utf-8")) for plaintext in plaintexts]
    steps: dict[str, Callable[[], Any]] = {
        "tag": lambda: [tag_of(report_id) for report_id, _ in sections],
        "JSON": lambda: [parse(plaintext.decode("utf-8")) for plaintext in plaintexts],
        "generalise": lambda: [anonymise.generalise(document) for document in documents],
    }
    for name, step in steps.items():
        # The least of five: a step of a few microseconds is easily doubled by a neighbour.
        runs = []
        for _ in range(5):
            gc.collect()
            cpu = time.process_time()
            step()
            runs.append(time.process_time() - cpu)
        parts[name] = min(runs)
    return parts


def _tag(report_id: str, key: Any) -> bytes:
    from incident_service.pipeline.anonymise import withdrawal_tag

    return withdrawal_tag(report_id, key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    count = args.reports
    schema = "profile_anon_" + secrets.token_hex(4)
    engine = sa.create_engine(bench.POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    workdir = Path(tempfile.mkdtemp(prefix="profile-anonymise-"))
    config = Config(
        INCIDENT_ENV="testing",
        INSTANCE_PATH=str(workdir),
        DATABASE_URL=bench.POSTGRES_URL,
        KEYS_DIR=str(workdir / "keys"),
        REDIS_URL=bench.REDIS_URL,
        CELERY_EAGER=False,
        ARGON2_MEMORY_KIB=1024,
        ARGON2_TIME_COST=1,
    )
    app = create_app(config, DATABASE_SCHEMA=schema)
    try:
        with app.app_context():
            sa.event.listen(db.engine, "connect", on_connect)
            db.create_all()
            organisation = ensure_organisation()
            db.session.commit()
            variants = bench._variants()
            for index in range(count):
                record_report(
                    variants[index % len(variants)],
                    submission_token=new_submission_token(),
                    organisation=organisation,
                )
            db.session.commit()
            bench._vacuum()
            sections = db.session.execute(sa.select(Report.id, Report.statistical_section)).all()
            db.session.rollback()
            key = statistics_key()
            for name in PHASES:
                _timed(name)
            pipelined = flushing._flush_chunks
            serial = getattr(
                flushing, "_flush_chunks_serial", pipelined
            )  # before issue 14: one loop
            for run in range(args.runs):
                if run:
                    bench._requeue_backlog()
                mode = "serial" if run % 2 == 0 else "pipelined"
                flushing._flush_chunks = serial if mode == "serial" else pipelined
                started, cpu = time.perf_counter(), time.process_time()
                for report_id, envelope in sections:
                    open_envelope(
                        envelope,
                        context=report_section(report_id, Section.STATISTICAL),
                        private_key=key,
                    )
                open_wall, open_cpu = time.perf_counter() - started, time.process_time() - cpu
                parts = _prepare_parts(sections, key)
                TIMES.clear()
                started, cpu, db_cpu = time.perf_counter(), time.process_time(), backend_cpu()
                flushing.flush(force=True)
                wall = time.perf_counter() - started
                cpu, db_cpu = time.process_time() - cpu, backend_cpu() - db_cpu
                us = 1e6 / count
                print(
                    f"run {run + 1} ({mode}): open-only {open_cpu * us:.0f} us CPU "
                    f"({count / open_wall:.0f} /s); flush {wall * us:.0f} us wall, "
                    f"{cpu * us:.0f} us CPU here + {db_cpu * us:.0f} us in PostgreSQL "
                    f"({count / wall:.0f} /s, {open_wall / wall:.0%} of open-only)"
                )
                print(
                    "    parts of _prepare, each alone over the same sections: "
                    + ", ".join(f"{name} {seconds * us:.1f}" for name, seconds in parts.items())
                    + " us CPU"
                )
                for name, (phase_cpu, phase_db) in sorted(TIMES.items(), key=lambda i: -i[1][0]):
                    print(
                        f"    {name:20s} {phase_cpu * us:6.1f} us CPU here, "
                        f"{phase_db * us:6.1f} us in PostgreSQL"
                    )
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    main()
