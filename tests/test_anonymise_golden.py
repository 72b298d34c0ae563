"""The anonymiser's output, pinned: a seeded set of sections, well-formed and malformed, must
generalise (and be refused) exactly as recorded in `tests/data/anonymise_golden.json`, and the
flush must store exactly those records.

The golden file was written by the generaliser as it was before the issue 14 speed-ups
(`python -m tests.test_anonymise_golden` writes it again; only do that for a deliberate change
of the output, and say so in the commit). A faster `generalise` that keeps a different value,
accepts a section the old one refused or refuses one it accepted fails here.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from incident_service import taxonomy
from incident_service.pipeline.anonymise import RECORD_COLUMNS, SectionInvalid, generalise

GOLDEN = Path(__file__).parent / "data" / "anonymise_golden.json"
# What a generalised report holds, by name (whatever class holds it).
FIELDS = (
    *RECORD_COLUMNS,
    "acts",
    "perpetrators",
    "citizenships",
    "indicators",
    "consented",
)
SEED = 14
COUNT = 600

# Values that are wrong somewhere: each malformed section carries one of them in one field.
_WRONG = [None, "", "XXX", "XXX.99", 3, 2.5, -1, True, False, [], {}, ["DET.01", 7], "2024-13-01"]


def _some(rng: random.Random, vocabulary: taxonomy.Vocabulary, most: int) -> list[str]:
    return rng.sample(vocabulary.codes(), rng.randint(0, most))


def _section(rng: random.Random) -> dict[str, Any]:
    """A section as intake writes it, over the whole vocabulary (and its edge values)."""
    precision = rng.choice(["day", "day", "month", "year"])
    day = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(4000))
    if precision == "month":
        day = day.replace(day=1)
    elif precision == "year":
        day = day.replace(month=1, day=1)
    country = rng.choice(["RU"] * 6 + taxonomy.COUNTRIES.codes())
    region = airport = None
    if country == "RU":
        airport = rng.choice([None, None, *taxonomy.AIRPORTS.codes()])
        region = rng.choice([None, *taxonomy.REGIONS.codes()])
        if airport is not None and rng.random() < 0.7:
            region = taxonomy.airport_region(airport)
    size = rng.choice([None, 0, 1, 2, 5, 6, 10, 11, 30, 31, 49, 50, 51, 400, 7.0])
    hours = rng.choice([None, 0, 0.5, 2.99, 3, 11.9, 12, 47, 48, 167, 168, 720, 721, 5000, 3.0])
    payment = rng.choice([None, 0, 0.0, 1, 5000, 2.5])
    return {
        "v": 1,
        "incident_date": day.isoformat(),
        "date_precision": precision,
        "acts": _some(rng, taxonomy.ACTS, 6) or ["DET.01"],
        "perpetrators": _some(rng, taxonomy.PERPETRATORS, 4),
        "location_type": rng.choice([None, *taxonomy.LOCATION_TYPES.codes()]),
        "country": country,
        "region": region,
        "airport": airport,
        "duration_hours": hours,
        "people": {
            "citizenship": _some(rng, taxonomy.CITIZENSHIPS, 3),
            "sex": rng.choice([None, *taxonomy.SEXES.codes()]),
            "age_band": rng.choice([None, *taxonomy.AGE_BANDS.codes()]),
            "legal_status": rng.choice([None, *taxonomy.LEGAL_STATUSES.codes()]),
            "group_size": size,
            "women_involved": rng.choice([True, False, None]),
            "children_involved": rng.choice([True, False]),
        },
        "forced_labour_indicators": _some(rng, taxonomy.FORCED_LABOUR_INDICATORS, 5),
        "coercion": {
            "contract_offered": rng.choice([True, False]),
            "contract_signed": rng.choice([True, False, None]),
            "citizenship_promised": rng.choice([True, False]),
            "payment_offered_rub": payment,
        },
        "outcome": rng.choice([None, *taxonomy.OUTCOMES.codes()]),
        "reporter_role": rng.choice([None, *taxonomy.REPORTER_ROLES.codes()]),
        "consent_statistics": rng.choice([True] * 9 + [False]),
    }


def _damage(rng: random.Random, section: dict[str, Any]) -> None:
    """Put a wrong value (or a duplicate, or nothing) in one place of the section."""
    where = rng.choice([section, section, section["people"], section["coercion"]])
    name = rng.choice(sorted(where))
    choice = rng.random()
    if choice < 0.1:
        del where[name]
    elif choice < 0.2 and isinstance(where[name], list) and where[name]:
        where[name] = [*where[name], where[name][0]]  # a duplicate code
    elif choice < 0.25:
        section[rng.choice(["people", "coercion"])] = rng.choice([None, [], "x", 3])
    else:
        where[name] = rng.choice(_WRONG)


def seeded_sections() -> list[dict[str, Any]]:
    """`COUNT` sections from `SEED`: two thirds as intake writes them, a third damaged."""
    rng = random.Random(SEED)
    sections = []
    for index in range(COUNT):
        section = _section(rng)
        if index % 3 == 2:
            _damage(rng, section)
        sections.append(json.loads(json.dumps(section)))  # as the worker reads it
    return sections


def outcome(section: dict[str, Any]) -> Any:
    """What `generalise` makes of a section, in JSON terms: its fields, "refused", or the
    name of any other exception it raised (none should: three sections with a list where a
    code belongs raised TypeError before, and stopped the flush; they are refused now)."""
    try:
        report = generalise(section)
    except SectionInvalid:
        return "refused"
    except Exception as error:  # the exception's kind is the outcome
        return type(error).__name__
    values = {name: getattr(report, name) for name in FIELDS}
    return json.loads(json.dumps(values))


def test_does_every_seeded_section_generalise_as_recorded():
    expected = json.loads(GOLDEN.read_text())
    actual = [outcome(section) for section in seeded_sections()]
    assert len(actual) == len(expected) == COUNT
    differing = [
        index for index, pair in enumerate(zip(actual, expected, strict=True)) if pair[0] != pair[1]
    ]
    assert differing == [], f"sections {differing[:10]} generalise differently"
    # The set is worth pinning: it holds both outcomes and every field in several values.
    assert 100 < sum(item == "refused" for item in expected) < COUNT - 300


def _stored(session: Any) -> Counter[str]:
    """Every stored record with its child rows, as comparable text (ids and tags left out)."""
    from incident_service.models import (
        StatisticalAct,
        StatisticalCitizenship,
        StatisticalIndicator,
        StatisticalPerpetrator,
        StatisticalRecord,
    )

    children: dict[str, dict[str, list[Any]]] = {}
    for model, name, columns in (
        (StatisticalAct, "acts", ("act_code", "act_group")),
        (StatisticalPerpetrator, "perpetrators", ("perpetrator",)),
        (StatisticalCitizenship, "citizenships", ("citizenship", "origin_region")),
        (StatisticalIndicator, "indicators", ("indicator",)),
    ):
        table = model.__table__
        for row in session.execute(sa.select(table.c.record_id, *(table.c[c] for c in columns))):
            children.setdefault(row[0], {}).setdefault(name, []).append(list(row[1:]))
    table = StatisticalRecord.__table__
    stored: Counter[str] = Counter()
    for row in session.execute(sa.select(table.c.id, *(table.c[c] for c in RECORD_COLUMNS))):
        kids = {name: sorted(rows) for name, rows in children.get(row[0], {}).items()}
        stored[json.dumps([list(row[1:]), kids], sort_keys=True)] += 1
    return stored


def _expected_rows(section_outcome: dict[str, Any]) -> str:
    kids = {}
    if section_outcome["acts"]:
        kids["acts"] = sorted([c, taxonomy.act_group(c)] for c in section_outcome["acts"])
    if section_outcome["perpetrators"]:
        kids["perpetrators"] = sorted([c] for c in section_outcome["perpetrators"])
    if section_outcome["citizenships"]:
        kids["citizenships"] = sorted(
            [c, taxonomy.citizenship_origin(c)] for c in section_outcome["citizenships"]
        )
    if section_outcome["indicators"]:
        kids["indicators"] = sorted([c] for c in section_outcome["indicators"])
    values = [section_outcome[column] for column in RECORD_COLUMNS]
    return json.dumps([values, kids], sort_keys=True)


def test_does_the_flush_store_exactly_the_recorded_records(app):
    """Through intake's sealing, the mixing pool and the real flush (both backends): the
    stored records and child rows are the golden ones, refused sections are marked failed."""
    from incident_service.auth.teams import ensure_organisation, team_public_key
    from incident_service.crypto.bindings import report_section
    from incident_service.crypto.envelopes import seal
    from incident_service.models import MixingPoolEntry, Report, db, random_id
    from incident_service.pipeline.flush import StatisticalSectionsUnusable, flush

    # Every seeded section goes in, including the three with a list where a code belongs,
    # which once raised TypeError and stopped the flush for every report after them.
    pairs = list(zip(seeded_sections(), json.loads(GOLDEN.read_text()), strict=True))
    assert all(item == "refused" or isinstance(item, dict) for _, item in pairs)
    sections = [section for section, _ in pairs]
    expected = [item for _, item in pairs]
    with app.app_context():
        ring = app.extensions["incident_keys"]
        recipients = [team_public_key(ensure_organisation()), ring.statistics_public]
        organisation_id = ensure_organisation().id
        ids = []
        for section in sections:
            report_id = random_id()
            ids.append(report_id)
            sealed = seal(
                json.dumps(section).encode(),
                context=report_section(report_id, "statistical"),
                recipients=recipients,
            )
            db.session.add(
                Report(
                    id=report_id,
                    organisation_id=organisation_id,
                    receipt_hash=secrets.token_bytes(32),
                    reporter_salt=secrets.token_bytes(16),
                    reporter_public_key=b"unused",
                    statistical_section=sealed,
                    private_section=b"unused",
                    consent_statistics=True,
                    statistics_state="waiting",
                )
            )
        db.session.flush()  # the reports before their pool rows (no ORM relationship orders them)
        db.session.add_all(MixingPoolEntry(report_id=report_id) for report_id in ids)
        db.session.commit()
        refused = sum(item == "refused" for item in expected)
        try:
            flush(force=True)
        except StatisticalSectionsUnusable as error:
            assert error.failed == refused
        else:
            assert refused == 0
        wanted = Counter(
            _expected_rows(item) for item in expected if item != "refused" and item["consented"]
        )
        assert _stored(db.session) == wanted
        states = Counter(
            db.session.scalars(sa.select(Report.statistics_state).where(Report.id.in_(ids)))
        )
        assert states == {
            "recorded": sum(wanted.values()),
            "failed": refused,
            "not_consented": sum(
                1 for item in expected if item != "refused" and not item["consented"]
            ),
        }


if __name__ == "__main__":
    lines = (json.dumps(outcome(section), sort_keys=True) for section in seeded_sections())
    GOLDEN.write_text("[\n" + ",\n".join(lines) + "\n]\n")
