"""Invented reports in the shapes the service is built for, drawn from a fixed random seed.

The scenarios follow what reports describe (docs: shared context): group holding and phone
searches at airports, raids on building sites and dormitories, pressure in detention to sign a
military contract, street checks with bribes, deportation, loss of citizenship, exploitation
at work, violence. Counts, places and dates are drawn so that every act group, every region
and every outcome occurs, and the busiest cells are large enough for summaries to show them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from incident_service import taxonomy

SYNTHETIC_MARKER = "[SYNTHETIC DEMO REPORT — invented, not a real case]"
SEED = 20240322
DEFAULT_COUNT = 360
DAYS_COVERED = 365

# Regions the summaries and the case queue are first asked about (design: places).
KEY_REGIONS = ("RU-MOW", "RU-MOS", "RU-SPE", "RU-LEN", "RU-TA", "RU-SVE", "RU-NVS")
MAIN_CITIZENSHIPS = ("TJK", "TJK", "TJK", "UZB", "UZB", "KGZ")


@dataclass(frozen=True)
class DemoReport:
    index: int
    payload: dict[str, Any]
    received_on: dt.date

    @property
    def token(self) -> bytes:
        """A fixed submission token per report: loading twice files nothing twice."""
        return hashlib.sha256(f"incident-service/synthetic-seed/v1/{self.index}".encode()).digest()


def _people(rng: random.Random, *, group: tuple[int, int] = (1, 1)) -> dict[str, Any]:
    size = rng.randint(*group)
    sex = "MIX" if size > 1 and rng.random() < 0.3 else rng.choice(["M", "M", "M", "F"])
    citizenship = [rng.choice(MAIN_CITIZENSHIPS)]
    if rng.random() < 0.08:
        citizenship.append(rng.choice(["RUS", "KAZ", "AFG", "XXA"]))
    return {
        "citizenship": sorted(set(citizenship)),
        "sex": sex,
        "age_band": rng.choice(["18-24", "25-34", "25-34", "35-44", "45-54", "55+", "UNK"]),
        "legal_status": rng.choice(["PAT", "PAT", "PAT", "TRP", "RP", "EAEU", "IRR", "UNK"]),
        "group_size": size,
        "women_involved": sex in ("F", "MIX") or rng.random() < 0.15,
        "children_involved": rng.random() < 0.07,
    }


def _airport_check(rng: random.Random) -> dict[str, Any]:
    airport = rng.choice(["LED", "LED", "LED", "VKO", "VKO", "DME", "SVO", "ZIA", "KZN", "SVX"])
    acts = ["BRD.01", "BRD.02", "BRD.05", *rng.sample(["BRD.03", "BRD.04", "BRD.07"], 2)]
    denied = rng.random() < 0.35
    if denied:
        acts.append("BRD.06")
    return {
        "acts": acts,
        "perpetrators": ["BRD"] + (["CUS"] if rng.random() < 0.2 else []),
        "location_type": "AIR",
        "airport": airport,
        "region": taxonomy.airport_region(airport),
        "duration_hours": rng.choice([2, 3, 3, 4, 5, 6, 8]),
        "people": _people(rng, group=(3, 35)),
        "outcome": "DEN" if denied else rng.choice(["REL", "REL", "UNK"]),
        "narrative": "Held as a group after passport control; phones taken and searched, "
        "fingerprints and photographs taken, questioned one by one about the trip.",
    }


def _raid(rng: random.Random) -> dict[str, Any]:
    acts = ["DET.01", *rng.sample(["DET.03", "DET.04", "VIO.01", "EXT.01", "DEP.01"], 2)]
    perpetrators = ["POL", *rng.sample(["MIG", "VIG", "UNK"], 1)]
    outcome = rng.choice(["REL", "REL", "DET", "DET", "DEP", "UNK"])
    return {
        "acts": acts,
        "perpetrators": perpetrators,
        "location_type": rng.choice(["WRK", "WRK", "RES"]),
        "region": rng.choice(["RU-MOW", "RU-MOW", "RU-MOS", "RU-MOS", "RU-SPE", "RU-LEN"]),
        "duration_hours": rng.choice([None, 6, 12, 24, 48, 72, 24 * 30, 24 * 60]),
        "people": _people(rng, group=(1, 25)),
        "outcome": outcome,
        "narrative": "Police came to the building site early in the morning with men in "
        "civilian clothes; workers with valid permits were taken to the station too.",
    }


def _military(rng: random.Random) -> dict[str, Any]:
    signed = rng.random() < 0.2
    return {
        "acts": ["DET.03", "MIL.01", *rng.sample(["MIL.02", "MIL.03", "DEP.01"], 2)],
        "perpetrators": ["MIL"] + (["POL"] if rng.random() < 0.6 else ["MIG"]),
        "location_type": "DTC",
        "region": rng.choice(["RU-MOW", "RU-MOS", "RU-SPE", "RU-TA", "RU-SVE"]),
        "duration_hours": rng.choice([24 * 14, 24 * 30, 24 * 60]),
        "people": _people(rng, group=(1, 10)),
        "coercion": {
            "contract_offered": True,
            "contract_signed": signed,
            "citizenship_promised": rng.random() < 0.8,
            "payment_offered_rub": rng.choice([None, 1_200_000, 1_200_000, 500_000]),
        },
        "outcome": "SIG" if signed else rng.choice(["DET", "DEP", "REL"]),
        "narrative": "In the detention centre an officer said that signing a contract with "
        "the army would bring citizenship and money, and deportation otherwise.",
    }


def _street_check(rng: random.Random) -> dict[str, Any]:
    return {
        "acts": ["DET.02", "EXT.01"] + (["EXT.03"] if rng.random() < 0.3 else []),
        "perpetrators": ["POL"],
        "location_type": "PUB",
        "region": rng.choice(["RU-MOW", "RU-MOW", "RU-SPE", "RU-MOS", "RU-NVS"]),
        "duration_hours": rng.choice([None, 1, 2, 3]),
        "people": _people(rng),
        "outcome": rng.choice(["REL", "REL", "REL", "UNK"]),
        "narrative": "Stopped near the metro for a document check; the officer said the "
        "patent was fake and asked for money to let me go.",
    }


def _deportation(rng: random.Random) -> dict[str, Any]:
    return {
        "acts": ["DEP.02", "DEP.03"] + (["DEP.04"] if rng.random() < 0.6 else []),
        "perpetrators": ["CRT", "MIG"],
        "location_type": rng.choice(["MIG", "DTC", "POL"]),
        "region": rng.choice(KEY_REGIONS),
        "duration_hours": rng.choice([48, 24 * 7, 24 * 20]),
        "people": _people(rng),
        "outcome": "DEP",
        "narrative": "A court ordered expulsion after a short hearing; airfare and the "
        "patent fee were lost.",
    }


def _citizenship(rng: random.Random) -> dict[str, Any]:
    people = _people(rng)
    people["legal_status"] = "NAT"
    return {
        "acts": ["CIT.02", "MIL.04"] + (["CIT.01"] if rng.random() < 0.4 else []),
        "perpetrators": ["MIL", "MIG"],
        "location_type": rng.choice(["MCO", "ONL"]),
        "region": rng.choice(KEY_REGIONS),
        "people": people,
        "outcome": rng.choice(["UNK", "REL"]),
        "narrative": "A summons came from the enlistment office; they said refusing would "
        "cost the Russian passport received three years ago.",
    }


def _labour(rng: random.Random) -> dict[str, Any]:
    return {
        "acts": ["LAB.01", "EXT.02"] + (["CIT.03"] if rng.random() < 0.3 else []),
        "perpetrators": ["EMP"] + (["INT"] if rng.random() < 0.5 else []),
        "location_type": "WRK",
        "region": rng.choice(["RU-MOW", "RU-MOS", "RU-SPE", "RU-SVE", "RU-TA"]),
        "people": _people(rng, group=(1, 15)),
        "forced_labour_indicators": sorted(
            rng.sample(["FL02", "FL03", "FL06", "FL07", "FL08", "FL09", "FL10", "FL11"], 3)
        ),
        "outcome": rng.choice(["REL", "UNK"]),
        "narrative": "The employer kept our passports and has not paid for three months; "
        "we sleep in a container on the site.",
    }


def _violence(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    acts = ["VIO.01"] if roll < 0.7 else ["VIO.02", "DET.04"] if roll < 0.95 else ["VIO.03"]
    if rng.random() < 0.02:
        acts.append("VIO.04")
    return {
        "acts": acts,
        "perpetrators": rng.sample(["POL", "VIG", "PRV", "UNK"], 1),
        "location_type": rng.choice(["PUB", "POL", "RES", "WRK"]),
        "region": rng.choice(KEY_REGIONS),
        "people": _people(rng, group=(1, 4)),
        "outcome": rng.choice(["REL", "DET", "UNK"]),
        "narrative": "A group of men who said they were volunteers helping the police beat "
        "us near the cemetery and told us to leave.",
    }


# (scenario, weight): airports and raids are what most reports describe.
SCENARIOS: tuple[tuple[Callable[[random.Random], dict[str, Any]], int], ...] = (
    (_airport_check, 30),
    (_raid, 25),
    (_military, 10),
    (_street_check, 12),
    (_deportation, 8),
    (_citizenship, 5),
    (_labour, 6),
    (_violence, 4),
)


def demo_reports(*, count: int = DEFAULT_COUNT, today: dt.date) -> list[DemoReport]:
    """`count` invented reports received over the year before `today`, always the same ones
    for the same `count` and `today`."""
    rng = random.Random(SEED)
    scenarios = [scenario for scenario, _weight in SCENARIOS]
    weights = [weight for _scenario, weight in SCENARIOS]
    reports = []
    for index in range(count):
        # The first reports walk through every scenario once, so that a small count still
        # covers every act group; the rest follow the weights.
        scenario = (
            scenarios[index] if index < len(scenarios) else rng.choices(scenarios, weights)[0]
        )
        body = scenario(rng)
        received_on = today - dt.timedelta(days=rng.randrange(DAYS_COVERED))
        incident_on = received_on - dt.timedelta(days=rng.choice([0, 0, 1, 2, 3, 7, 20]))
        precision = rng.choices(["day", "month", "year"], [85, 12, 3])[0]
        reports.append(
            DemoReport(
                index=index,
                payload=_complete(rng, body, incident_on, precision),
                received_on=received_on,
            )
        )
    _spread_over_every_region(reports)
    return reports


def _spread_over_every_region(reports: list[DemoReport]) -> None:
    """Move a few reports (never airport checks, whose region follows the airport) to each
    region no scenario drew, so that every region occurs once when there are enough reports:
    filters, maps and the summaries' region tables then have something everywhere."""
    seen = {demo.payload.get("region") for demo in reports}
    missing = [code for code in taxonomy.REGIONS.codes() if code not in seen]
    movable = [
        demo for demo in reports[len(SCENARIOS) :] if demo.payload.get("location_type") != "AIR"
    ]
    # Every third movable report, so the key regions keep most of theirs.
    for region, demo in zip(missing, movable[::3], strict=False):
        demo.payload["region"] = region


def _complete(
    rng: random.Random, body: dict[str, Any], incident_on: dt.date, precision: str
) -> dict[str, Any]:
    date_text = {
        "day": incident_on.isoformat(),
        "month": incident_on.isoformat()[:7],
        "year": incident_on.isoformat()[:4],
    }[precision]
    contact = (
        {"channel": "TELEGRAM", "value": f"@synthetic_demo_{rng.randrange(1000):03d}"}
        if rng.random() < 0.3
        else {"channel": None, "value": ""}
    )
    return {
        "language": rng.choice(["ru", "ru", "tg", "tg", "uz", "ky", "en"]),
        "incident_date": date_text,
        "date_precision": precision,
        "country": "RU",
        "place_text": "synthetic place",
        "reporter_role": rng.choice(["SELF", "SELF", "SELF", "RELATIVE", "WITNESS", "COMMUNITY"]),
        "contact": contact,
        "consent": {
            "statistics": rng.random() < 0.92,
            "follow_up": contact["channel"] is not None,
            "share_with_ombudsman": rng.random() < 0.4,
        },
        **body,
        "narrative": f"{SYNTHETIC_MARKER} {body['narrative']}",
    }
