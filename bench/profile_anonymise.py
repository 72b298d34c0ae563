"""Where the anonymiser's time goes, per report: CPU of this process and of its PostgreSQL
backends, phase by phase, with the open-only floor beside it (issue 14), and the wall time
each thread of the flush spent in each phase.

Files a backlog through the intake sealing code into a schema of its own, then flushes it
in-process several times (re-queued in between), alternating the one-chunk-after-the-other
loop (`_flush_chunks_serial`, where each phase's CPU is its own) with the pipelined one that
PostgreSQL uses (`_flush_chunks`, where the phases overlap and only the totals mean much).
CPU comes from `time.process_time()` (all threads of this process) and from /proc for the
backends of this process's connections, so it says little about wall time on a busy machine
but much about what each report costs wherever it runs. Wall time (`time.perf_counter()`) is
summed per phase and per thread (the opening thread, the writing thread and, where there is
one, the prefetching thread); what a thread spent outside every phase is printed as its
remainder: for the opening thread that is the time between opens it waited for nothing timed
here (thread hand-off, bookkeeping), for the writing thread its idle time. `Future.result` is
a thread waiting for another; `Session.commit` is timed on its own and inside its phase.

    .venv/bin/python bench/profile_anonymise.py [--reports 3000] [--runs 4]
        [--mode alternate|serial|pipelined] [--no-month-triggers]

`--no-month-triggers` drops the statistical tables' statement triggers (`month_versions`) in
the benchmark's schema, to see what they cost the COPY and the settling.
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
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import Future  # noqa: E402
from typing import Any  # noqa: E402

import sqlalchemy as sa  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pipeline as bench  # noqa: E402

from bench.backend_cpu import backend_cpu, on_connect  # noqa: E402
from incident_service import create_app, month_versions  # noqa: E402
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
# Timed for wall time only, per thread (their CPU is in the phases above or is waiting).
WALL_ONLY = ("_write_and_settle", "_take_chunk")
TIMES: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
# (thread, phase) -> wall seconds
WALL: dict[tuple[str, str], float] = collections.defaultdict(float)


def _thread() -> str:
    name = threading.current_thread().name
    if name.startswith("flush-writer"):
        return "writer"
    if name.startswith("flush-prefetch"):
        return "prefetch"
    return "opener" if threading.current_thread() is threading.main_thread() else name


def _timed(name: str, owner: Any = None, *, cpu_too: bool = True) -> None:
    owner = owner if owner is not None else flushing
    attribute = name.rsplit(".", 1)[-1]
    function = getattr(owner, attribute)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        phase = name
        if name == "Future.result":
            # Which thread the opening thread waits for: the writer (in `finish`) or the
            # chunk being locked and fetched (in the loop, once prefetching).
            caller = sys._getframe(1).f_code.co_name
            phase = "waiting for the writer" if caller == "finish" else "waiting for the lock"
        if cpu_too:
            cpu, db_cpu = time.process_time(), backend_cpu()
        try:
            return function(*args, **kwargs)
        finally:
            WALL[_thread(), phase] += time.perf_counter() - started
            if cpu_too:
                TIMES[name][0] += time.process_time() - cpu
                TIMES[name][1] += backend_cpu() - db_cpu

    setattr(owner, attribute, wrapper)


def _track_functions(connection: Any, _record: Any) -> None:
    """Have PostgreSQL time the triggers' PL/pgSQL functions (this session only)."""
    with connection.cursor() as cursor:
        cursor.execute("SET track_functions = 'pl'")
    connection.commit()  # a SET rolled back with its transaction would be undone


def _trigger_seconds(schema: str) -> tuple[int, float]:
    """Calls and total seconds of the schema's trigger functions so far. A backend reports
    its counts when it exits, so the engine's connections are closed first."""
    db.session.remove()
    db.engine.dispose()
    time.sleep(0.2)
    with db.engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        calls, total = connection.execute(
            sa.text(
                "SELECT coalesce(sum(calls), 0), coalesce(sum(total_time), 0) "
                "FROM pg_stat_user_functions WHERE schemaname = :schema"
            ),
            {"schema": schema},
        ).one()
    return int(calls), float(total) / 1000


def _print_wall(wall: float, us: float) -> None:
    """Per thread: wall µs a report in each phase, and the rest of the flush's wall time."""
    for thread in ("opener", "prefetch", "writer"):
        phases = {phase: seconds for (who, phase), seconds in WALL.items() if who == thread}
        if not phases:
            continue
        if thread == "writer":
            busy = phases.get("_write_and_settle", 0.0)
        elif thread == "prefetch":
            busy = phases.get("_take_chunk", 0.0)
        else:
            # Every phase of the opening thread that is not inside another (serially, the
            # writing phases and the commits are on it too).
            busy = sum(
                seconds
                for phase, seconds in phases.items()
                if phase in PHASES or phase.startswith("waiting") or phase == "Session.commit"
            )
        print(
            f"    wall, {thread} thread: "
            + ", ".join(
                f"{phase} {seconds * us:.1f}"
                for phase, seconds in sorted(phases.items(), key=lambda item: -item[1])
            )
            + f"; outside these {max(wall - busy, 0.0) * us:.1f} us a report"
        )


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
    parser.add_argument("--mode", choices=("alternate", "serial", "pipelined"), default="alternate")
    parser.add_argument("--no-month-triggers", action="store_true")
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="the GIL's switch interval for the flushes, s (flush.GIL_SWITCH_INTERVAL if any)",
    )
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
            sa.event.listen(db.engine, "connect", _track_functions)
            db.create_all()
            if args.no_month_triggers:
                with db.engine.begin() as connection:  # the schema's search path
                    month_versions.uninstall(connection)
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
            for name in WALL_ONLY:
                if hasattr(flushing, name):
                    _timed(name, cpu_too=False)
            _timed("Future.result", Future, cpu_too=False)
            _timed("Session.commit", sa.orm.Session, cpu_too=False)
            pipelined = flushing._flush_chunks
            serial = getattr(
                flushing, "_flush_chunks_serial", pipelined
            )  # before issue 14: one loop
            for run in range(args.runs):
                if run:
                    bench._requeue_backlog()
                mode = args.mode
                if mode == "alternate":
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
                triggers = _trigger_seconds(schema)
                TIMES.clear()
                WALL.clear()
                started, cpu, db_cpu = time.perf_counter(), time.process_time(), backend_cpu()
                if args.switch_interval and hasattr(flushing, "GIL_SWITCH_INTERVAL"):
                    flushing.GIL_SWITCH_INTERVAL = args.switch_interval  # the flush sets it
                elif args.switch_interval:
                    sys.setswitchinterval(args.switch_interval)
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
                _print_wall(wall, us)
                calls, seconds = _trigger_seconds(schema)
                calls, seconds = calls - triggers[0], seconds - triggers[1]
                print(
                    f"    month-version triggers (in PostgreSQL, within the phases above): "
                    f"{calls} calls, {seconds * us:.1f} us a report"
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
