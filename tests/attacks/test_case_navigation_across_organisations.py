"""Attack: a logged-in caseworker of organisation B walks the case page's "Previous case" /
"Next case" links with query strings of their own making, to learn about organisation A.

Promise (design §10, a phished or curious staff account sees what its role may see and nothing
more): whatever queue view rides in the case page's query string (status, priority, act group,
region, assignee — A's caseworker's id included —, day received, unread, deletion), B's case
page names no case, count, order or existence of organisation A: its navigation is the same
before and after A files, assigns and flags its reports on the very day B's report came in.
And a crafted query string on the case page and its form posts gives no 500, no open
redirect and no markup of the attacker's back.
"""

from __future__ import annotations

import datetime as dt
import re

from incident_service.auth import teams
from incident_service.cases.forms import PRIORITIES
from incident_service.constants import Role
from incident_service.intake.storage import submit_report
from incident_service.intake.validation import parse_report
from incident_service.models import Report, db
from tests.factories import report_payload, submit
from tests.staff import login, make_staff

DAY = dt.date(2024, 5, 2)
NAV = re.compile(r'<nav class="pages case-nav".*?</nav>', re.S)
LINK = re.compile(r'(?:href|action)="([^"]*)"')
CASE_ID = re.compile(r"/cases/([0-9a-f]{32})")


def _views(stranger_id: int) -> list[str]:
    """Every queue view the attacker can name, A's caseworker's id among the assignees."""
    views = ["", "status=all", "status=closed", "status=new", "unread=1", "deletion=1"]
    views += [f"status=all&priority={p}" for p in PRIORITIES]
    views += ["status=all&act_group=DET", "status=all&act_group=BRD", "status=all&region=RU-SPE"]
    views += [f"status=all&assignee={who}" for who in ("me", "none", stranger_id)]
    views += [f"status=all&received={DAY.isoformat()}", "status=all&deletion=1&unread=1"]
    return views


def _navigation(client, case_id: str, views: list[str]) -> dict[str, str]:
    shown = {}
    for view in views:
        page = client.get(f"/cases/{case_id}?{view}")
        assert page.status_code == 200, view
        (nav,) = NAV.findall(page.get_data(as_text=True))
        shown[view] = nav
    return shown


def test_does_the_case_navigation_tell_another_organisation_nothing(app):
    with app.app_context():
        victim = make_staff(role=Role.CASEWORKER)  # organisation A (the default)
        attacker = make_staff(role=Role.CASEWORKER, organisation="other-ngo")
        elsewhere = teams.ensure_organisation(slug="other-ngo", name="other-ngo")
        own = [
            submit_report(
                parse_report(report_payload(outcome="DET")), organisation=elsewhere, received_on=DAY
            ).report_id
            for _ in range(2)
        ]
    client = app.test_client()
    login(client, attacker)
    views = _views(victim.user_id)
    before = {case: _navigation(client, case, views) for case in own}
    # B walks its own two cases: the links do work for B.
    assert f'rel="next" href="/cases/{own[1]}?status=all"' in before[own[0]]["status=all"] or (
        f'rel="next" href="/cases/{own[0]}?status=all"' in before[own[1]]["status=all"]
    )

    # Organisation A files on the same day, gets a reply and a deletion request.
    with app.app_context():
        theirs = [submit(received_on=DAY, outcome="DET").report_id for _ in range(4)]
        theirs.append(submit(received_on=DAY - dt.timedelta(days=1)).report_id)
        db.session.get_one(Report, theirs[1]).unread_for_caseworkers = 1
        db.session.get_one(Report, theirs[2]).deletion_requested = True
        db.session.commit()
    # A's caseworker sets a priority (a sealed override: ranked apart from the opened entries).
    victim_client = app.test_client()
    login(victim_client, victim)
    for theirs_id, priority in ((theirs[0], "4"), (theirs[3], "0")):
        triaged = victim_client.post(
            f"/cases/{theirs_id}/details",
            data={"priority": priority, "assignee": str(victim.user_id), "verification": "0"},
        )
        assert triaged.status_code == 303

    after = {case: _navigation(client, case, views) for case in own}
    assert after == before  # nothing about A moved a link, an order or "no longer in view"
    for case in own:
        for view in views:
            page = client.get(f"/cases/{case}?{view}").get_data(as_text=True)
            assert set(CASE_ID.findall(page)) <= set(own), view
            assert not any(theirs_id[:8] in page for theirs_id in theirs), view
    # A's own case pages stay 404 to B, whatever view rides along.
    for theirs_id in theirs:
        assert client.get(f"/cases/{theirs_id}?status=all&assignee=none").status_code == 404


CRAFTED = [
    "status=%3Cscript%3Ealert(1)%3C/script%3E",
    "region=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
    "act_group=javascript:alert(1)",
    "assignee=//evil.example/&received=2024-13-45",
    "assignee=99999999999999999999&priority=99999999999",
    "assignee=%D9%A3&priority=%C2%B2",  # Arabic-Indic three, superscript two
    "received=0001-01-01&unread=%00",
    "status=all&status=closed&deletion=1&deletion=0",
    "priority=-1&received=9999-12-31",
    "status=%0d%0aLocation:%20https://evil.example",
    "next=https://evil.example&_external=1&_anchor=x&_scheme=javascript",
]


def test_do_crafted_queue_views_on_the_case_page_give_no_500_redirect_or_markup(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        case = submit(received_on=DAY).report_id
    client = app.test_client()
    login(client, worker)
    for query in CRAFTED:
        page = client.get(f"/cases/{case}?{query}")
        assert page.status_code == 200, query
        html = page.get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, query
        for target in LINK.findall(html):  # the attacker's text only ever inside a query
            assert "evil" not in target or target.startswith("/cases/"), (query, target)
        assert 'href="javascript' not in html and "onerror=alert" not in html, query
        posted = client.post(f"/cases/{case}/notes?{query}", data={"text": "SYNTHETIC note"})
        assert posted.status_code == 303, query
        location = posted.headers["Location"]
        assert location.partition("?")[0] in (f"/cases/{case}", f"/cases/{case}#notes"), query
        assert "\r" not in location and "\n" not in location, query
        assert location.endswith("#notes"), query
