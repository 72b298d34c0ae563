"""Synthetic statistical records inserted directly, for release tests (never real cases).

Records follow the rules the anonymiser enforces: at least one act, a region implies Russia
and its federal district, an airport implies a region (its own). Distributions are skewed the
way real reports are (Moscow and St Petersburg, airport checks and detentions most often) so
that tables have both large and small cells.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from incident_service import taxonomy
from incident_service.models import (
    StatisticalAct,
    StatisticalCitizenship,
    StatisticalIndicator,
    StatisticalPerpetrator,
    StatisticalRecord,
    db,
)

COMMON_REGIONS = ["RU-MOW", "RU-MOS", "RU-SPE", "RU-SVE", "RU-TA", "RU-NVS"]
COMMON_AIRPORTS = ["LED", "VKO", "DME", "SVO", "ZIA", "KZN"]
GROUP_WEIGHTS = {"DET": 5, "BRD": 6, "MIL": 2, "DEP": 3, "VIO": 2, "EXT": 2, "CIT": 1, "LAB": 1}


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


DEFAULT_CITIZENSHIPS = ("TJK", "TJK", "TJK", "UZB", "KGZ")


def random_record(
    rng: random.Random,
    month: str,
    *,
    citizenships: Sequence[str] = DEFAULT_CITIZENSHIPS,
    **fixed: Any,
) -> dict[str, Any]:
    """One record's values and its child codes (acts, perpetrators, citizenships, indicators);
    `citizenships` is the list one is drawn from (repeat a code to make it likelier)."""
    groups = sorted({_weighted(rng, GROUP_WEIGHTS) for _ in range(rng.choice([1, 1, 1, 2, 3]))})
    acts = sorted(
        {
            term.code
            for group in groups
            for term in rng.sample(
                taxonomy.ACTS.children(group),
                k=rng.randint(1, min(2, len(taxonomy.ACTS.children(group)))),
            )
        }
    )
    airport = rng.choice(COMMON_AIRPORTS) if "BRD" in groups and rng.random() < 0.8 else None
    if airport is not None:
        region: str | None = taxonomy.airport_region(airport)
    elif rng.random() < 0.9:
        region = (
            rng.choice(COMMON_REGIONS)
            if rng.random() < 0.85
            else rng.choice(taxonomy.REGIONS.codes())
        )
    else:
        region = None
    country = "RU" if region is not None or rng.random() < 0.9 else rng.choice(["KZ", "TJ"])
    size = rng.choice([1, 1, 1, 2, 4, 8, 15, 30, 60])
    values: dict[str, Any] = {
        "month": month,
        "country": country,
        "federal_district": taxonomy.region_district(region) if region else None,
        "region": region,
        "airport": airport,
        "location_type": "AIR" if airport else rng.choice([None, "WRK", "RES", "PUB", "POL"]),
        "sex": rng.choice(["M", "M", "M", "F", "MIX", None]),
        "age_band": rng.choice(["18-24", "25-34", "25-34", "35-44", "45-54", None]),
        "legal_status": rng.choice(["PAT", "PAT", "TRP", "NAT", "IRR", None]),
        "group_size_band": taxonomy.group_size_band(size),
        "persons_affected": taxonomy.persons_affected(size),
        "duration_band": rng.choice(["<3h", "3-12h", "12-48h", "2-7d", "UNK"]),
        "women_involved": rng.random() < 0.25,
        "children_involved": rng.random() < 0.08,
        "contract_offered": "MIL" in groups and rng.random() < 0.8,
        "contract_signed": False,
        "citizenship_promised": "MIL" in groups and rng.random() < 0.5,
        "payment_offered": "MIL" in groups and rng.random() < 0.3,
        "outcome": rng.choice(["REL", "REL", "DEP", "DEN", "DET", "UNK"]),
        "reporter_role": rng.choice(["SELF", "SELF", "RELATIVE", "WITNESS", "COMMUNITY"]),
    }
    values["contract_signed"] = values["contract_offered"] and rng.random() < 0.2
    children = {
        "acts": acts,
        "perpetrators": sorted(
            set(rng.sample(["POL", "MIG", "BRD", "MIL", "EMP", "VIG"], k=rng.choice([0, 1, 1, 2])))
        ),
        "citizenships": [rng.choice(list(citizenships))],
        "indicators": sorted(set(rng.sample(["FL03", "FL06", "FL07", "FL08"], k=1)))
        if "LAB" in groups
        else [],
    }
    values.update(fixed)
    return {"values": values, **children}


def insert_records(
    count: int,
    *,
    months: Sequence[str],
    seed: int = 0,
    citizenships: Sequence[str] = DEFAULT_CITIZENSHIPS,
    **fixed: Any,
) -> list[dict[str, Any]]:
    """Insert `count` random records spread over `months`; returns what was inserted."""
    rng = random.Random(seed)
    made = [
        random_record(rng, rng.choice(list(months)), citizenships=citizenships, **fixed)
        for _ in range(count)
    ]
    insert_made(made)
    return made


def insert_made(made: Sequence[dict[str, Any]]) -> None:
    records, acts, perpetrators, citizenships, indicators = [], [], [], [], []
    for item in made:
        record_id = secrets.token_hex(16)
        records.append(
            {"id": record_id, "withdrawal_tag": secrets.token_bytes(32), **item["values"]}
        )
        acts += [
            {"record_id": record_id, "act_code": a, "act_group": taxonomy.act_group(a)}
            for a in item["acts"]
        ]
        perpetrators += [{"record_id": record_id, "perpetrator": p} for p in item["perpetrators"]]
        citizenships += [
            {
                "record_id": record_id,
                "citizenship": c,
                "origin_region": taxonomy.citizenship_origin(c),
            }
            for c in item["citizenships"]
        ]
        indicators += [{"record_id": record_id, "indicator": i} for i in item["indicators"]]
    for model, rows in (
        (StatisticalRecord, records),
        (StatisticalAct, acts),
        (StatisticalPerpetrator, perpetrators),
        (StatisticalCitizenship, citizenships),
        (StatisticalIndicator, indicators),
    ):
        if rows:
            db.session.execute(sa.insert(model), rows)
    db.session.commit()
