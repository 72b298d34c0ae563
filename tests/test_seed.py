"""Synthetic demo data: loaded once, clearly marked, covering what the screens need to show."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html

import pytest

from incident_service import taxonomy
from incident_service.intake.validation import parse_report
from incident_service.models import Message, Report, db, today
from seeds.demo_reports import DEFAULT_COUNT, KEY_REGIONS, SYNTHETIC_MARKER, demo_reports
from seeds.loader import DEMO_QUESTIONS, SeedingRefused, load_demo_reports
from tests.reporter_helpers import open_private_section

TODAY = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def default_set():
    return demo_reports(count=DEFAULT_COUNT, today=TODAY)


def test_does_every_demo_report_pass_intake_and_say_it_is_synthetic(default_set):
    for demo in default_set:
        submission = parse_report(demo.payload, today_=TODAY)
        assert submission.narrative.startswith(SYNTHETIC_MARKER)
        assert TODAY - dt.timedelta(days=366) <= demo.received_on <= TODAY


def test_does_the_demo_set_cover_every_act_group_region_and_outcome(default_set):
    groups = {taxonomy.act_group(a) for d in default_set for a in d.payload["acts"]}
    regions = {d.payload.get("region") for d in default_set}
    outcomes = {d.payload["outcome"] for d in default_set}
    assert groups == set(taxonomy.ACT_GROUPS.codes())
    assert regions == set(taxonomy.REGIONS.codes())
    for region in KEY_REGIONS:  # where most reports come from stays so in the demo
        assert sum(d.payload.get("region") == region for d in default_set) >= 5, region
    assert outcomes == set(taxonomy.OUTCOMES.codes())
    assert {d.payload["consent"]["statistics"] for d in default_set} == {True, False}
    assert {d.payload["date_precision"] for d in default_set} == {"day", "month", "year"}


def test_is_the_busiest_cell_big_enough_for_a_summary_to_show(default_set):
    """Summaries suppress cells under 10: the demo must have some cells that survive."""
    airport_checks_at_pulkovo = [
        d
        for d in default_set
        if d.payload.get("airport") == "LED" and "BRD.01" in d.payload["acts"]
    ]
    assert len(airport_checks_at_pulkovo) >= 10


def test_is_the_demo_set_the_same_every_time():
    first = demo_reports(count=30, today=TODAY)
    second = demo_reports(count=30, today=TODAY)
    assert [d.payload for d in first] == [d.payload for d in second]
    assert len({d.token for d in first}) == 30


def test_does_seeding_twice_load_the_reports_once(app):
    with app.app_context():
        first = load_demo_reports(count=12)
        second = load_demo_reports(count=12)
        assert (first.created, second.created) == (12, 0)
        assert db.session.query(Report).count() == 12
        assert first.demo_receipts == second.demo_receipts
        assert db.session.query(Message).count() == 3
        report_id = db.session.query(Report).first().id
    assert open_private_section(app, report_id)["narrative"].startswith(SYNTHETIC_MARKER)


def test_can_a_demo_receipt_open_its_report_with_the_case_teams_question(app):
    with app.app_context():
        receipt = load_demo_reports(count=5).demo_receipts[0]
        language = demo_reports(count=5, today=today())[0].payload["language"]
    client = app.test_client()
    opened = client.post("/status", data={"receipt": receipt}, follow_redirects=True)
    page = html.unescape(opened.get_data(as_text=True))
    # Asked in the language of the report, on a page in that language.
    assert f'<html lang="{language}">' in page and DEMO_QUESTIONS[language] in page


def test_does_the_seed_command_report_what_it_did(runner):
    first = runner.invoke(args=["seed", "--count", "4"])
    second = runner.invoke(args=["seed", "--count", "4"])
    assert first.exit_code == 0 and "loaded 4 SYNTHETIC" in first.output
    assert second.exit_code == 0 and "already loaded" in second.output


def test_is_seeding_refused_in_production(app):
    settings = app.extensions["incident_config"]
    app.extensions["incident_config"] = dataclasses.replace(settings, INCIDENT_ENV="production")
    try:
        with app.app_context(), pytest.raises(SeedingRefused):
            load_demo_reports(count=2)
        with app.app_context():
            assert db.session.query(Report).count() == 0
    finally:
        app.extensions["incident_config"] = settings


def test_can_a_newcomer_log_in_with_the_printed_demo_caseworker_account(app, runner):
    """`make run` prints demo accounts; the caseworker's must work and hold the team key."""
    import re

    import pyotp

    from incident_service.models import TeamKeyGrant, User

    result = runner.invoke(args=["seed", "--count", "2"])
    assert result.exit_code == 0
    match = re.search(
        r"caseworker\s+(\S+@demo\.invalid)\s+password (\S+)\s+TOTP secret (\S+)"
        r"\s+passphrase (\S+)",
        result.output,
    )
    assert match, result.output
    email, password, secret, passphrase = match.groups()
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        assert user is not None
        assert db.session.scalar(db.select(TeamKeyGrant).where(TeamKeyGrant.user_id == user.id))
    client = app.test_client()
    response = client.post(
        "/login", data={"email": email, "password": password, "code": pyotp.TOTP(secret).now()}
    )
    assert response.status_code == 302
    assert "/unlock" in response.headers["Location"]
    assert client.post("/unlock", data={"passphrase": passphrase}).status_code == 302
    assert client.get("/cases/").status_code == 200
    again = runner.invoke(args=["seed", "--count", "2"])
    assert email in again.output and password in again.output  # printed on every run
