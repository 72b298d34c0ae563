"""Anonymising one report: what a statistical record may and may not carry."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_service import taxonomy
from incident_service.constants import Section
from incident_service.crypto import RecipientPrivateKey, SuiteId, SymmetricKey
from incident_service.crypto.bindings import report_section
from incident_service.crypto.envelopes import seal
from incident_service.intake.validation import parse_report
from incident_service.pipeline.anonymise import (
    GeneralisedReport,
    SectionInvalid,
    SectionUnreadable,
    anonymise_section,
    child_rows,
    generalise,
    withdrawal_tag,
)
from tests.factories import report_payload

TODAY = dt.date(2025, 6, 30)


def codes(vocabulary: taxonomy.Vocabulary) -> st.SearchStrategy[str]:
    return st.sampled_from(vocabulary.codes())


@st.composite
def sections(draw: st.DrawFn) -> dict:
    """Statistical sections as intake writes them, over the whole vocabulary."""
    precision = draw(st.sampled_from(["day", "month", "year"]))
    day = draw(st.dates(min_value=dt.date(2000, 1, 1), max_value=TODAY))
    if precision == "month":
        day = day.replace(day=1)
    elif precision == "year":
        day = day.replace(month=1, day=1)
    country = draw(codes(taxonomy.COUNTRIES))
    region = airport = None
    if country == "RU":
        airport = draw(st.none() | codes(taxonomy.AIRPORTS))
        region = (
            taxonomy.airport_region(airport)
            if airport is not None
            else draw(st.none() | codes(taxonomy.REGIONS))
        )
    return {
        "v": 1,
        "incident_date": day.isoformat(),
        "date_precision": precision,
        "acts": draw(st.lists(codes(taxonomy.ACTS), min_size=1, max_size=6, unique=True)),
        "perpetrators": draw(st.lists(codes(taxonomy.PERPETRATORS), max_size=4, unique=True)),
        "location_type": draw(st.none() | codes(taxonomy.LOCATION_TYPES)),
        "country": country,
        "region": region,
        "airport": airport,
        "duration_hours": draw(
            st.none()
            | st.floats(min_value=0, max_value=taxonomy.MAX_DURATION_HOURS, allow_nan=False)
        ),
        "people": {
            "citizenship": draw(st.lists(codes(taxonomy.CITIZENSHIPS), max_size=3, unique=True)),
            "sex": draw(st.none() | codes(taxonomy.SEXES)),
            "age_band": draw(st.none() | codes(taxonomy.AGE_BANDS)),
            "legal_status": draw(st.none() | codes(taxonomy.LEGAL_STATUSES)),
            "group_size": draw(st.integers(min_value=1, max_value=taxonomy.MAX_GROUP_SIZE)),
            "women_involved": draw(st.booleans()),
            "children_involved": draw(st.booleans()),
        },
        "forced_labour_indicators": draw(
            st.lists(codes(taxonomy.FORCED_LABOUR_INDICATORS), max_size=5, unique=True)
        ),
        "coercion": {
            "contract_offered": draw(st.booleans()),
            "contract_signed": draw(st.booleans()),
            "citizenship_promised": draw(st.booleans()),
            "payment_offered_rub": draw(st.none() | st.integers(0, 100_000_000)),
        },
        "outcome": draw(codes(taxonomy.OUTCOMES)),
        "reporter_role": draw(st.none() | codes(taxonomy.REPORTER_ROLES)),
        "consent_statistics": True,
    }


BANDS_BY_SIZE = [(1, "1"), (5, "2-5"), (10, "6-10"), (30, "11-30")]


@given(sections())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_does_no_record_carry_a_value_finer_than_its_level(section):
    """Day → month (or year), region → district, sub-code → group, size → band, money → flag."""
    record = generalise(section)
    day = dt.date.fromisoformat(section["incident_date"])
    values = record.record_values()

    if section["date_precision"] == "year":
        assert record.month == f"{day.year:04d}"
    else:
        assert re.fullmatch(r"\d{4}-\d{2}", record.month)
        assert record.month == taxonomy.month_of(day)
    # No value anywhere in the record is a full date.
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}", str(value)) for value in values.values())

    if record.region is not None:
        assert record.federal_district == taxonomy.region_district(record.region)
        assert record.country == "RU"
    else:
        assert record.federal_district is None
    if record.airport is not None:
        assert record.region == taxonomy.airport_region(record.airport)

    size = section["people"]["group_size"]
    assert record.group_size_band in taxonomy.GROUP_SIZE_BANDS
    expected_band = next((band for top, band in BANDS_BY_SIZE if size <= top), "31+")
    assert record.group_size_band == expected_band
    assert 1 <= record.persons_affected <= taxonomy.PERSONS_AFFECTED_TOP_CODE
    assert record.persons_affected == min(size, taxonomy.PERSONS_AFFECTED_TOP_CODE)

    assert record.duration_band in taxonomy.DURATION_BANDS
    assert (record.duration_band == "UNK") == (section["duration_hours"] is None)
    payment = section["coercion"]["payment_offered_rub"]
    assert record.payment_offered is bool(payment)
    # The only number a record keeps is the top-coded head count: no hours, no roubles.
    numbers = {
        name
        for name, value in values.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    assert numbers == {"persons_affected"}

    acts, _, citizenships, _ = child_rows("r", record)
    assert {row["act_code"] for row in acts} == set(section["acts"])
    assert all(row["act_group"] == taxonomy.act_group(row["act_code"]) for row in acts)
    assert all(
        row["origin_region"] == taxonomy.citizenship_origin(row["citizenship"])
        for row in citizenships
    )
    assert record.reporter_role in {*taxonomy.REPORTER_ROLES.codes(), "UNK"}


@given(sections(), st.sampled_from(["acts", "country", "region", "outcome", "location_type"]))
@settings(max_examples=100)
def test_is_a_section_with_an_unknown_code_refused_whole(section, field):
    """A code the taxonomy does not know (a newer format, a corrupted value) is never counted."""
    section[field] = ["XXX.99"] if field == "acts" else "NOT-A-CODE"
    with pytest.raises(SectionInvalid):
        generalise(section)


@pytest.mark.parametrize(
    "mutation",
    [
        {"v": 2},
        {"acts": []},
        {"incident_date": "last spring"},
        {"people": {"group_size": "thirty"}},
        {"duration_hours": -4},
        {"consent_statistics": "yes"},
    ],
)
def test_is_a_malformed_section_refused(mutation):
    section = parse_report(report_payload(), today_=TODAY).statistical_section()
    section.update(mutation)
    with pytest.raises(SectionInvalid):
        generalise(section)


def test_does_the_intake_section_generalise_as_the_reporter_answered():
    """The section intake writes for the synthetic airport report, end to end."""
    section = parse_report(report_payload(), today_=TODAY).statistical_section()
    record = generalise(json.loads(json.dumps(section)))
    assert isinstance(record, GeneralisedReport)
    assert (record.month, record.region, record.federal_district, record.airport) == (
        "2024-05",
        "RU-SPE",
        "NWE",
        "LED",
    )
    assert record.group_size_band == "11-30" and record.duration_band == "3-12h"
    assert record.citizenships == ("TJK",) and record.women_involved is True


def _sealed(report_id: str, key: RecipientPrivateKey) -> bytes:
    section = parse_report(report_payload(), today_=TODAY).statistical_section()
    return seal(
        json.dumps(section).encode(),
        context=report_section(report_id, Section.STATISTICAL),
        recipients=[key.public],
    )


def test_does_only_the_statistics_key_open_a_section():
    stats = RecipientPrivateKey.generate(SuiteId.from_name("x25519"))
    other = RecipientPrivateKey.generate(SuiteId.from_name("x25519"))
    envelope = _sealed("a" * 32, stats)
    assert anonymise_section("a" * 32, envelope, stats).region == "RU-SPE"
    with pytest.raises(SectionUnreadable):
        anonymise_section("a" * 32, envelope, other)


def test_does_a_section_moved_to_another_report_fail_to_open():
    stats = RecipientPrivateKey.generate(SuiteId.from_name("x25519"))
    envelope = _sealed("a" * 32, stats)
    with pytest.raises(SectionUnreadable):
        anonymise_section("b" * 32, envelope, stats)


@given(st.integers(min_value=20, max_value=200), st.integers(min_value=0, max_value=255))
@settings(max_examples=50)
def test_does_any_flipped_byte_make_the_section_unreadable(position_from_end, flip):
    stats = RecipientPrivateKey.generate(SuiteId.from_name("x25519"))
    envelope = bytearray(_sealed("a" * 32, stats))
    index = len(envelope) - position_from_end
    envelope[index] ^= flip or 1
    with pytest.raises(SectionUnreadable):
        anonymise_section("a" * 32, bytes(envelope), stats)


def test_is_the_withdrawal_tag_a_keyed_function_of_the_report_id_only():
    """Without the worker's withdrawal key, a report id cannot be turned into its tag."""
    key = SymmetricKey("withdrawal", b"k" * 32)
    other = SymmetricKey("withdrawal", b"j" * 32)
    tag = withdrawal_tag("a" * 32, key)
    assert len(tag) == 32
    assert tag == withdrawal_tag("a" * 32, key)
    assert tag != withdrawal_tag("b" * 32, key)
    assert tag != withdrawal_tag("a" * 32, other)
    assert b"a" * 32 not in tag


def test_does_the_flush_tag_reports_as_the_withdrawal_code_does():
    """The flush keys the HMAC once per chunk (`withdrawal_tagger`); withdrawal recomputes
    single tags. If the two ever differed, no record could be withdrawn again."""
    from incident_service.crypto.bindings import withdrawal_tagger

    key = SymmetricKey("withdrawal", b"k" * 32)
    tag_of = withdrawal_tagger(key)
    for report_id in ("a" * 32, "0123456789abcdef" * 2, "b" * 32, "a" * 32):
        assert tag_of(report_id) == withdrawal_tag(report_id, key)
    assert withdrawal_tagger(SymmetricKey("withdrawal", b"j" * 32))("a" * 32) != tag_of("a" * 32)


@given(section=sections())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_do_stored_records_hold_only_generalised_values(app, section):
    """Through the real flush and database (both backends): what is stored is exactly the
    generalised form, with no date, hour count or amount finer than its level."""
    import sqlalchemy as sa

    from incident_service.auth.teams import ensure_organisation, team_public_key
    from incident_service.crypto.bindings import report_section as intake_context
    from incident_service.models import (
        MixingPoolEntry,
        Report,
        StatisticalAct,
        StatisticalRecord,
        db,
    )
    from incident_service.pipeline.flush import flush

    with app.app_context():
        for model in (StatisticalAct, StatisticalRecord):
            db.session.execute(sa.delete(model))
        db.session.commit()
        report_id = submit_one()
        report = db.session.get(Report, report_id)
        ring = app.extensions["incident_keys"]
        report.statistical_section = seal(
            json.dumps(section).encode(),
            context=intake_context(report_id, "statistical"),
            recipients=[team_public_key(ensure_organisation()), ring.statistics_public],
        )
        report.statistics_state = "waiting"
        report.consent_statistics = True
        db.session.add(MixingPoolEntry(report_id=report_id))
        db.session.commit()
        flush(force=True)
        stored = db.session.scalars(sa.select(StatisticalRecord)).one()
        expected = generalise(section)
        assert {
            column.name: getattr(stored, column.name)
            for column in StatisticalRecord.__table__.columns
            if column.name not in ("id", "withdrawal_tag")
        } == expected.record_values()
        assert sorted(act.act_code for act in stored.acts) == sorted(expected.acts)
        assert stored.withdrawal_tag == withdrawal_tag(report_id)
        assert report_id not in stored.id


def submit_one() -> str:
    """A report filed through intake without consent, so no flush takes it before the test
    swaps in its own section."""
    from tests.factories import submit

    return submit(consent={"statistics": False}).report_id
