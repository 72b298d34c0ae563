"""The anonymiser's per-report steps beside the open, before and after, in one process (issue 14).

Loads `incident_service/pipeline/anonymise.py` of an older checkout (`--before`, e.g. a
`git worktree add --detach ../before main`) next to this one and times, alternating, the
steps `_prepare` takes for each report besides the open: `generalise`, the JSON parse, the
withdrawal tag and the record's row tuple, over the benchmark's four report shapes and over
the 600 seeded sections of `tests/test_anonymise_golden.py` (richer: up to six acts and
three citizenships). CPU time, the least of nine runs: these steps take microseconds, and a
neighbour on a shared machine doubles one easily. Then, with PostgreSQL, what psycopg spends
on a list parameter of 500 report ids (the flush sends several per chunk) against one
comma-joined string, and the server's time for the tag look-up in its old and new form.

    .venv/bin/python bench/anonymise_steps.py --before ../before
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incident_service import create_app  # noqa: E402
from incident_service.crypto.keys import SymmetricKey  # noqa: E402
from incident_service.pipeline import anonymise as after  # noqa: E402
from incident_service.settings import Config  # noqa: E402

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def _load_before(checkout: Path) -> Any:
    """The older anonymise module, imported under another name beside the current one."""
    path = checkout / "incident_service" / "pipeline" / "anonymise.py"
    spec = importlib.util.spec_from_file_location("anonymise_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _least(step: Callable[[], Any], count: int, runs: int = 9) -> float:
    """Least CPU microseconds per item over `runs` runs of `step` (over `count` items)."""
    times = []
    for _ in range(runs):
        gc.collect()
        cpu = time.process_time()
        step()
        times.append(time.process_time() - cpu)
    return min(times) / count * 1e6


def _compare(label: str, before: Callable[[], Any], now: Callable[[], Any], count: int) -> None:
    old = new = float("inf")
    for _ in range(2):  # alternating, twice
        old = min(old, _least(before, count))
        new = min(new, _least(now, count))
    print(f"  {label:34s} before {old:6.2f} us   after {new:6.2f} us")


def _steps(before: Any, documents: list[dict[str, Any]]) -> None:
    count = len(documents)
    texts = [json.dumps(d, sort_keys=True, separators=(",", ":")) for d in documents]
    ids = [secrets.token_hex(16) for _ in documents]
    key = SymmetricKey("withdrawal", secrets.token_bytes(32))
    tag_of = after.bindings.withdrawal_tagger(key)
    valid = [d for d in documents if _accepted(d)]
    old_reports = [before.generalise(d) for d in valid]
    new_reports = [after.generalise(d) for d in valid]
    parse = after._parse
    _compare(
        "generalise (sections it accepts)",
        lambda: [before.generalise(d) for d in valid],
        lambda: [after.generalise(d) for d in valid],
        len(valid),
    )
    _compare(
        "JSON parse",
        lambda: [json.loads(t) for t in texts],
        lambda: [parse(t) for t in texts],
        count,
    )
    _compare(
        "withdrawal tag",
        lambda: [before.withdrawal_tag(i, key) for i in ids],
        lambda: [tag_of(i) for i in ids],
        count,
    )
    _compare(
        "record row tuple",
        lambda: [r.record_row() for r in old_reports],
        lambda: [r.record_row() for r in new_reports],
        len(valid),
    )


def _accepted(document: dict[str, Any]) -> bool:
    try:
        after.generalise(document)
    except Exception:
        return False
    return True


def _list_parameters() -> None:
    import psycopg

    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    ids = [secrets.token_hex(16) for _ in range(500)]
    with psycopg.connect(url) as connection:
        for label, binary, query, parameter in (
            ("a list of 500 ids, text", False, "SELECT cardinality(%s::text[])", ids),
            ("a list of 500 ids, binary", True, "SELECT cardinality(%b::text[])", ids),
            (
                "one comma-joined string",
                False,
                "SELECT cardinality(string_to_array(%s, ','))",
                None,
            ),
            ("nothing (SELECT 1)", False, "SELECT 1", None),
        ):
            with connection.cursor(binary=binary) as cursor:

                def run(
                    cursor: Any = cursor, query: str = query, parameter: Any = parameter
                ) -> None:
                    for _ in range(50):
                        if query == "SELECT 1":
                            cursor.execute(query)
                        else:
                            value = parameter if parameter is not None else ",".join(ids)
                            cursor.execute(query, (value,))

                print(f"  {label:34s} {_least(run, 50 * 500):6.2f} us client CPU per id")


def _tag_lookups() -> None:
    """The flush's tag look-up on the server: 500 tags against 10,000 records, as a binary
    bytea[] parameter (before) and as joined hex inside `= ANY(ARRAY(...))` (after)."""
    import statistics

    import psycopg

    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    schema = "anonymise_steps_" + secrets.token_hex(4)
    before = "SELECT withdrawal_tag FROM statistical_records WHERE withdrawal_tag = ANY(%b)"
    after_sql = (
        "SELECT withdrawal_tag FROM statistical_records WHERE withdrawal_tag = ANY(ARRAY("
        "SELECT decode(tag, 'hex') FROM unnest(string_to_array(%s, ',')) AS tag))"
    )
    with psycopg.connect(url, autocommit=True) as connection, connection.cursor(binary=True) as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
        try:
            cur.execute(f'SET search_path = "{schema}"')
            cur.execute(
                "CREATE TABLE statistical_records (id text PRIMARY KEY, "
                "withdrawal_tag bytea UNIQUE, month text)"
            )
            tags = [secrets.token_bytes(32) for _ in range(10_000)]
            with cur.copy("COPY statistical_records FROM STDIN") as copy:
                for tag in tags:
                    copy.write_row((secrets.token_hex(16), tag, "2025-01"))
            cur.execute("VACUUM ANALYZE statistical_records")

            def server_ms(query: str, parameter: Any) -> tuple[float, str]:
                runs = []
                for _ in range(7):
                    cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query, (parameter,))
                    plan = cur.fetchone()[0][0]  # type: ignore[index]
                    runs.append((plan["Planning Time"] + plan["Execution Time"], plan["Plan"]))
                return statistics.median(t for t, _ in runs), runs[0][1]["Node Type"]

            for label, wanted in (
                ("none present", [secrets.token_bytes(32) for _ in range(500)]),
                ("all present", tags[:500]),
            ):
                old_ms, old_plan = server_ms(before, wanted)
                new_ms, new_plan = server_ms(after_sql, ",".join(t.hex() for t in wanted))
                print(
                    f"  500 tags, {label:12s} before {old_ms:.2f} ms ({old_plan}), "
                    f"after {new_ms:.2f} ms ({new_plan})"
                )
        finally:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the older code")
    parser.add_argument("--skip-postgresql", action="store_true")
    args = parser.parse_args()
    before = _load_before(args.before.resolve())
    workdir = Path(tempfile.mkdtemp(prefix="anonymise-steps-"))
    config = Config(
        INCIDENT_ENV="testing",
        INSTANCE_PATH=str(workdir),
        DATABASE_URL=f"sqlite:///{workdir / 'steps.db'}",
        KEYS_DIR=str(workdir / "keys"),
        CELERY_EAGER=True,
    )
    with create_app(config).app_context():
        sys.path.insert(0, str(ROOT / "bench"))
        import pipeline as bench

        from tests.test_anonymise_golden import seeded_sections

        shapes = [json.loads(json.dumps(v.statistical_section())) for v in bench._variants()]
        print(f"before: {args.before}; after: {ROOT}; CPU per report, least of 9 runs x 2")
        print("The benchmark's four report shapes (600 each):")
        _steps(before, shapes * 600)
        print("The 600 seeded sections of tests/test_anonymise_golden.py (x 4):")
        _steps(before, seeded_sections() * 4)
    if not args.skip_postgresql:
        print("psycopg, the flush's id lists (500 ids):")
        _list_parameters()
        print("PostgreSQL, the tag look-up (server time, median of 7, EXPLAIN ANALYZE):")
        _tag_lookups()


if __name__ == "__main__":
    main()
