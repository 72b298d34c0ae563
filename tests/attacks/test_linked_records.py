"""Attack: a database dump, searched for the report behind each statistical record.

Promise (design §10, issue 11 item 1): from any dump of the database, no attacker links a
statistical record to its report better than by choosing at random among the reports of the
record's own mixing batch. A record's coded answers (citizenship, sex, age, legal status,
"signed a military contract", outcome) must not lead back to a report id, and through it to the
case, its thread and its contact.

Setting: 500 reports of realistic variety, anonymised in 25 batches of 20. The attacker holds
every row of every table. We grant them more than they could learn: they know which records and
which reports form each batch, and which plaintext of the report tables encodes which feature
of the records (what ranking deterministic tags by frequency decoded, 10 of the 10 most common,
on the first version). Two attacks run on the dump:

1. Frequency decoding: every report-side value that repeats across reports (a deterministic
   tag, a level) is ranked by how many reports carry it and matched, rank for rank, to the
   record features' own frequencies; the decoded (report, feature) pairs are counted.
2. Unique-combination matching: for each record, the attacker keeps the reports of its batch
   whose report-side plaintext (column values, and the lengths of sealed columns) agrees with
   everything the record reveals, and picks one of them at random.

The expected number of correct links must stay within a small margin of random choice within
a batch (one in 20 per record).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable
from typing import Any

import pytest

from incident_service import taxonomy
from incident_service.crypto import bindings
from incident_service.models import db
from incident_service.pipeline.anonymise import withdrawal_key
from incident_service.pipeline.flush import flush
from tests.attacks.dumps import database_dump
from tests.conftest import build_app
from tests.factories import submit

REPORTS = 500
BATCH = 20
# Columns whose values are unique per report (ids, keys, hashes): they join tables, never
# records, and their lengths are fixed.
JOIN_COLUMNS = {"id", "report_id"}


@pytest.fixture(params=["sqlite", "postgresql"])
def batch_app(request, tmp_path):
    yield from build_app(tmp_path, request.param, ANONYMISE_MIN_BATCH=BATCH)


def _payload(rng: random.Random) -> dict[str, Any]:
    """One synthetic report, after the situations in docs/context (never a real case)."""
    outcome = rng.choices(["REL", "DET", "DEP", "DEN", "SIG", "UNK"], [40, 15, 20, 10, 5, 10])[0]
    group = rng.choices(
        ["BRD", "DET", "VIO", "MIL", "DEP", "EXT", "CIT"], [30, 20, 15, 10, 10, 10, 5]
    )[0]
    pool = [code for code in taxonomy.ACTS.codes() if code.startswith(group)]
    acts = sorted(set(rng.sample(pool, rng.randint(1, min(3, len(pool))))))
    if rng.random() < 0.3:
        acts = sorted(set(acts) | {rng.choice(taxonomy.ACTS.codes())})
    country = rng.choices(["RU", "KZ", "BY"], [85, 10, 5])[0]
    at_airport = country == "RU" and rng.random() < 0.4
    airport = rng.choice(taxonomy.AIRPORTS.codes()[:6]) if at_airport else None
    region = None
    if country == "RU" and not at_airport and rng.random() < 0.8:
        region = rng.choice(taxonomy.REGIONS.codes()[:12])
    return {
        "acts": acts,
        "perpetrators": [rng.choice(["POL", "MIG", "BRD", "MIL"])],
        "location_type": "AIR" if at_airport else rng.choice(["WRK", "RES", "PUB", "POL"]),
        "country": country,
        "region": region,
        "airport": airport,
        "outcome": outcome,
        "duration_hours": rng.choice([1, 3, 6, 12, 30, 80]),
        "people": {
            "sex": rng.choice(["M", "M", "M", "F", "MIX"]),
            "age_band": rng.choice(["18-24", "25-34", "35-44", "45-54"]),
            "legal_status": rng.choice(["PAT", "PAT", "TRP", "RP", "IRR"]),
            "group_size": rng.choice([1, 1, 2, 4, 12, 30]),
            "children_involved": rng.random() < 0.1,
            "women_involved": rng.random() < 0.3,
        },
        "coercion": {"contract_offered": outcome == "SIG", "contract_signed": outcome == "SIG"},
    }


def _file_in_batches(app) -> tuple[dict[str, Any], dict[str, str], dict[str, int]]:
    """File the reports and anonymise them batch by batch. Returns the dump, the truth (record
    id → report id, known to the test through the withdrawal key, never to the attacker) and
    each record's and report's batch number."""
    rng = random.Random(20241114)
    batch_of: dict[str, int] = {}
    with app.app_context():
        for number in range(REPORTS // BATCH):
            for _ in range(BATCH):
                batch_of[submit(**_payload(rng)).report_id] = number
            db.session.commit()
            flush(force=True)
            db.session.commit()
            for record in database_dump(db.engine)["statistical_records"]:
                batch_of.setdefault(record["id"], number)
        dump = database_dump(db.engine)
        key = withdrawal_key()
        tags = {bindings.withdrawal_tag(key, report_id): report_id for report_id in batch_of}
    truth = {
        record["id"]: tags[bytes(record["withdrawal_tag"])]
        for record in dump["statistical_records"]
    }
    assert len(truth) == REPORTS, "every report must have become one record"
    return dump, truth, batch_of


# --------------------------------------------------------------------------------------------
# What each side of the dump offers


def _record_features(dump: dict[str, Any]) -> dict[str, dict[str, Hashable]]:
    """Per record, everything it says that a report row could encode: each column, and the
    derived features the first version stored on reports (urgency, act groups, place)."""
    acts: dict[str, set[str]] = defaultdict(set)
    for row in dump["statistical_acts"]:
        acts[row["record_id"]].add(row["act_code"])
    features = {}
    for record in dump["statistical_records"]:
        own = {k: v for k, v in record.items() if k not in JOIN_COLUMNS | {"withdrawal_tag"}}
        record_acts = sorted(acts[record["id"]])
        groups = frozenset(taxonomy.act_group(code) for code in record_acts)
        own["acts"] = frozenset(record_acts)
        own["act_groups"] = groups
        own["urgency"] = taxonomy.urgency(
            outcome=record["outcome"], acts=record_acts, children=record["children_involved"]
        )
        own["place"] = (record["country"], record["region"], groups)
        own["everything"] = (own["place"], own["urgency"], record["airport"])
        features[record["id"]] = own
    return features


def _report_features(dump: dict[str, Any], report_ids: set[str]) -> dict[str, dict[str, Hashable]]:
    """Per report, every plaintext value of the reports table and of each table that refers to
    a report: values as they are, sealed columns by their length, side tables as sets."""

    def plain(value: Any) -> Hashable:
        if isinstance(value, bytes | bytearray | memoryview):
            return ("sealed-or-tag", bytes(value))
        return value if isinstance(value, Hashable) else repr(value)

    features: dict[str, dict[str, Hashable]] = {report_id: {} for report_id in report_ids}
    for row in dump["reports"]:
        for column, value in row.items():
            if column in JOIN_COLUMNS:
                continue
            features[row["id"]][f"reports.{column}"] = plain(value)
            if isinstance(value, bytes | bytearray | memoryview):
                features[row["id"]][f"len(reports.{column})"] = len(value)
    for table, rows in dump.items():
        if table == "reports" or not rows or "report_id" not in rows[0]:
            continue
        collected: dict[str, dict[str, set[Hashable]]] = defaultdict(lambda: defaultdict(set))
        for row in rows:
            for column, value in row.items():
                if column in JOIN_COLUMNS:
                    continue
                collected[row["report_id"]][f"{table}.{column}"].add(plain(value))
                if isinstance(value, bytes | bytearray | memoryview):
                    collected[row["report_id"]][f"len({table}.{column})"].add(len(value))
        for report_id, columns in collected.items():
            if report_id in features:
                for name, values in columns.items():
                    features[report_id][name] = frozenset(values)
    return features


def _encodings(
    truth: dict[str, str],
    records: dict[str, dict[str, Hashable]],
    reports: dict[str, dict[str, Hashable]],
) -> list[tuple[str, str, Callable[[str], Hashable]]]:
    """The (report column, record feature) pairs where the column is a function of the feature
    across all true pairs and tells reports apart: what perfect frequency decoding would give
    the attacker. The test computes these with the truth, to grant the attacker the best case."""
    columns = sorted({name for values in reports.values() for name in values})
    feature_names = sorted({name for values in records.values() for name in values})
    found = []
    for column in columns:
        values = [reports[report_id].get(column) for report_id in truth.values()]
        if len(set(values)) < 2 or len(set(values)) > len(values) // 2:
            continue  # constant, or nearly unique per report (keys, hashes, random sealing)
        for feature in feature_names:
            mapping: dict[Hashable, Hashable] = {}
            consistent = True
            for record_id, report_id in truth.items():
                key = records[record_id][feature]
                value = reports[report_id].get(column)
                if mapping.setdefault(key, value) != value:
                    consistent = False
                    break
            if consistent and len(set(mapping.values())) > 1:
                found.append(
                    (
                        column,
                        feature,
                        lambda record_id, m=mapping, f=feature: m[records[record_id][f]],
                    )
                )
    return found


def _frequency_decoding(
    truth: dict[str, str],
    records: dict[str, dict[str, Hashable]],
    reports: dict[str, dict[str, Hashable]],
) -> tuple[int, int]:
    """Attack 1: rank each side table's repeated values (tags) by frequency and match them to
    the record features' values ranked the same way. Returns (pairs decoded right, pairs)."""
    right = total = 0
    record_of = {report_id: record_id for record_id, report_id in truth.items()}
    for column in sorted({name for values in reports.values() for name in values}):
        tag_counts: Counter[Hashable] = Counter()
        for values in reports.values():
            held = values.get(column)
            if isinstance(held, frozenset):
                tag_counts.update(v for v in held if isinstance(v, tuple))
        repeated = [tag for tag, count in tag_counts.most_common() if count > 1]
        if not repeated:
            continue
        for feature in ("act_groups", "region", "country"):
            feature_counts: Counter[Hashable] = Counter()
            for values in records.values():
                value = values[feature]
                feature_counts.update(value if isinstance(value, frozenset) else [value])
            decoded = dict(
                zip(repeated, [v for v, _ in feature_counts.most_common()], strict=False)
            )
            for report_id, values in reports.items():
                held = values.get(column)
                if not isinstance(held, frozenset) or report_id not in record_of:
                    continue
                actual = records[record_of[report_id]][feature]
                actual_set = actual if isinstance(actual, frozenset) else {actual}
                for tag in held:
                    if tag in decoded:
                        total += 1
                        right += decoded[tag] in actual_set
    return right, total


def _expected_links(
    truth: dict[str, str],
    batch_of: dict[str, int],
    reports: dict[str, dict[str, Hashable]],
    encodings: list[tuple[str, str, Callable[[str], Hashable]]],
) -> float:
    """Attack 2: for each record, the reports of its batch whose encoded columns agree with
    the record; one of them picked at random. Returns the expected number of correct links."""
    by_batch: dict[int, list[str]] = defaultdict(list)
    for report_id in truth.values():
        by_batch[batch_of[report_id]].append(report_id)
    expected = 0.0
    for record_id, report_id in truth.items():
        candidates = [
            candidate
            for candidate in by_batch[batch_of[record_id]]
            if all(
                reports[candidate].get(column) == encode(record_id)
                for column, _, encode in encodings
            )
        ]
        if report_id in candidates:
            expected += 1 / len(candidates)
    return expected


def test_can_a_database_dump_link_statistical_records_to_their_reports(batch_app):
    dump, truth, batch_of = _file_in_batches(batch_app)
    records = _record_features(dump)
    reports = _report_features(dump, set(truth.values()))

    decoded_right, decoded_total = _frequency_decoding(truth, records, reports)
    encodings = _encodings(truth, records, reports)
    links = _expected_links(truth, batch_of, reports, encodings)
    random_choice = REPORTS / BATCH  # one in 20 per record

    assert decoded_right <= max(2, decoded_total // 10), (
        f"frequency decoding read {decoded_right} of {decoded_total} report tags"
    )
    assert links <= random_choice * 1.2 + 2, (
        f"{links:.0f} expected correct links against {random_choice:.0f} by random choice, "
        f"through {[(column, feature) for column, feature, _ in encodings]}"
    )
