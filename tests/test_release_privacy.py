"""Differentially private releases: is the privacy budget accounted for, and is noise drawn once?"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from incident_service.constants import Role
from incident_service.models import PrivacyLedgerEntry, Release, db
from incident_service.releases import privacy
from incident_service.releases.lifecycle import DraftKeepsBudget, discard_draft, generate_release
from incident_service.releases.privacy import PrivacyBudgetExhausted
from tests.release_helpers import Q4, TODAY, audit, content, make_user
from tests.statistics_factory import insert_records

pytestmark = pytest.mark.usefixtures("no_pdf_layout")


def test_does_the_privacy_ledger_add_up(app_ctx):
    """Is the ε a release spends, query by query as OpenDP computes it, what the ledger says?"""
    # This deployment allows larger releases than the default ε of 1.
    app_ctx.config["DP_RELEASE_EPSILON"] = 10.0
    insert_records(200, months=Q4, seed=31)
    release = generate_release(
        period="2024-Q4", method="dp", today=TODAY, parameters={"epsilon": 2.0}
    )
    ledger = db.session.scalars(sa.select(PrivacyLedgerEntry)).all()
    assert [(entry.release_id, entry.epsilon) for entry in ledger] == [(release.id, 2.0)]
    record = audit(release)
    spent = sum(query["epsilon"] for query in record["queries"])
    assert spent == pytest.approx(2.0, rel=1e-9)
    assert record["epsilon_spent"] <= 2.0 * (1 + 1e-9)
    assert all(query["epsilon"] > 0 for query in record["queries"])
    document = content(release)
    assert document["method"] == "dp" and document["reports_margin"] > 0
    assert all(
        row["value"] >= 0
        for row in document["tables"]["by_act"]["rows"]
        if row["value"] is not None
    )


def test_is_a_release_refused_when_it_would_exceed_the_lifetime_budget(app_ctx):
    """With 6 of a lifetime 10 spent on November, is a quarter asking 5 more refused (naming the
    month), while October, which nothing has touched, can still have 5?"""
    # This deployment allows larger releases than the default ε of 1.
    app_ctx.config["DP_RELEASE_EPSILON"] = 10.0
    insert_records(60, months=Q4, seed=32)
    generate_release(period="2024-11", method="dp", today=TODAY, parameters={"epsilon": 6.0})
    with pytest.raises(PrivacyBudgetExhausted) as caught:
        generate_release(period="2024-Q4", method="dp", today=TODAY, parameters={"epsilon": 5.0})
    assert caught.value.month == "2024-11"
    assert "2024-11" in str(caught.value)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Release)) == 1
    october = generate_release(
        period="2024-10", method="dp", today=TODAY, parameters={"epsilon": 5.0}
    )
    assert privacy.spent_by_month(Q4) == {"2024-10": 5.0, "2024-11": 6.0, "2024-12": 0.0}
    assert october.id is not None


def test_does_a_retried_task_return_the_stored_noisy_table_without_drawing_again(
    app_ctx, monkeypatch
):
    """If the worker runs the generation task twice (a retry after a lost acknowledgement), is
    the stored noisy release returned and no new noise drawn, so draws cannot be averaged?"""
    from workers.release_tasks import generate

    insert_records(80, months=["2024-11"], seed=33)
    draws = []
    measure = privacy._count_by_categories

    def counting(*args, **kwargs):
        draws.append(args[0])
        return measure(*args, **kwargs)

    monkeypatch.setattr(privacy, "_count_by_categories", counting)
    first = generate.apply(kwargs={"period": "2024-11", "method": "dp"}).get()
    drawn = len(draws)
    assert drawn > 10
    second = generate.apply(kwargs={"period": "2024-11", "method": "dp"}).get()
    assert second["release"] == first["release"]
    assert len(draws) == drawn
    release = db.session.get(Release, first["release"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrivacyLedgerEntry)) == 1
    assert content(release)["method"] == "dp"


def test_are_the_rows_of_a_dp_release_the_public_code_list_whatever_the_data(app_ctx):
    """Does which rows a DP table has depend on the data (which would itself leak)?"""
    empty = content(generate_release(period="2024-10", method="dp", today=TODAY))
    insert_records(50, months=["2024-11"], seed=34)
    full = content(generate_release(period="2024-11", method="dp", today=TODAY))
    for table_id, table in empty["tables"].items():
        assert [row["key"] for row in table["rows"]] == [
            row["key"] for row in full["tables"][table_id]["rows"]
        ]
    assert empty["status"] == "ok"  # no "no reports" statement: that would reveal the truth


def test_can_a_dp_draft_be_discarded_to_draw_again(app_ctx):
    """Could a supervisor throw away a noisy draft they dislike and get a fresh draw?"""
    insert_records(30, months=["2024-11"], seed=35)
    release = generate_release(period="2024-11", method="dp", today=TODAY)
    with pytest.raises(DraftKeepsBudget):
        discard_draft(release.id, actor=make_user(Role.SUPERVISOR))


def test_are_the_noisy_figures_near_the_true_ones(app_ctx):
    """Noise hides single reports, not the picture: with a generous ε, is each act group and
    the total within a few margins of the true count (and so not, say, zero)?"""
    # This deployment allows larger releases than the default ε of 1.
    app_ctx.config["DP_RELEASE_EPSILON"] = 10.0
    from collections import Counter

    from incident_service import taxonomy

    made = insert_records(400, months=["2024-11"], seed=36)
    release = generate_release(
        period="2024-11", method="dp", today=TODAY, parameters={"epsilon": 10.0}
    )
    document = content(release)
    assert abs(document["reports"] - 400) <= 3 * document["reports_margin"] + 1
    truth = Counter(
        group for item in made for group in {taxonomy.act_group(a) for a in item["acts"]}
    )
    capped = max(len({taxonomy.act_group(a) for a in item["acts"]}) for item in made)
    rows = {row["key"]: row for row in document["tables"]["by_act"]["rows"]}
    for group, count in truth.items():
        row = rows[f"group:{group}"]
        # Reports in more groups than the cap count in a random subset of them.
        low = count - (sum(1 for item in made if len(item["acts"]) > 2) if capped > 2 else 0)
        assert low - 3 * row["margin"] - 1 <= row["value"] <= count + 3 * row["margin"] + 1, group
    districts = Counter(item["values"]["federal_district"] or "-" for item in made)
    sexes = Counter(item["values"]["sex"] or "-" for item in made)
    for table, key, count in [
        *(("by_region", f"district:{d}", n) for d, n in districts.items()),
        *(("by_sex", s, n) for s, n in sexes.items()),
    ]:
        row = next(r for r in document["tables"][table]["rows"] if r["key"] == key)
        assert abs(row["value"] - count) <= 3 * row["margin"] + 1, key


# Nine sets of parameters that change nothing in the noisy figures: the document languages
# (every non-empty choice of three), the comparison base and the case-handling threshold.
NINE_DRAFTS = [
    {"languages": ["ru"]},
    {"languages": ["en"]},
    {"languages": ["tg"]},
    {"languages": ["ru", "en"]},
    {"languages": ["ru", "tg"]},
    {"languages": ["en", "tg"]},
    {"languages": ["ru", "en", "tg"]},
    {"languages": ["en"], "change_min_base": 40},
    {"languages": ["tg"], "case_threshold": 12},
]


def _noisy_figures(document):
    return (
        document["reports"],
        document["persons_affected"],
        {
            table_id: [(row["key"], row["value"]) for row in table["rows"]]
            for table_id, table in document["tables"].items()
        },
    )


def test_can_nine_drafts_of_one_month_in_other_languages_be_averaged(app_ctx):
    """The attack of issue 15 (case 7): nine drafts of one month that differ only in their
    document languages (and other parameters that change no noisy figure). Do they show one
    draw — so their average is that draw, no nearer the truth — and is the month charged once?"""
    insert_records(23, months=["2024-11"], seed=37)
    drafts = [
        generate_release(period="2024-11", method="dp", today=TODAY, parameters=given)
        for given in NINE_DRAFTS
    ]
    assert len({release.id for release in drafts}) == 9  # nine distinct drafts, nine documents
    figures = [_noisy_figures(content(release)) for release in drafts]
    assert all(f == figures[0] for f in figures[1:])
    totals = [content(release)["reports"] for release in drafts]
    assert sum(totals) / len(totals) == totals[0]  # averaging gains nothing
    ledger = db.session.scalars(sa.select(PrivacyLedgerEntry)).all()
    assert [(entry.release_id, entry.epsilon) for entry in ledger] == [(drafts[0].id, 1.0)]
    assert privacy.spent_by_month(["2024-11"]) == {"2024-11": 1.0}
    for release in drafts[1:]:
        assert audit(release)["noise"] == {
            "drawn_now": False,
            "reused_from_release": drafts[0].id,
            "epsilon_charged": 0.0,
            "lifetime_epsilon": 10.0,
        }
        assert content(release)["privacy_budget"]["epsilon_charged"] == 0.0


def test_does_new_data_or_another_epsilon_draw_new_noise_and_pay_for_it(app_ctx):
    """Reuse is for the same figures only: a late report for the month, or a smaller ε, is a
    new measurement, drawn afresh and charged; the lifetime budget then stops the redraws."""
    app_ctx.config["DP_LIFETIME_EPSILON"] = 2.5
    insert_records(23, months=["2024-11"], seed=38)
    first = generate_release(period="2024-11", method="dp", today=TODAY)
    insert_records(1, months=["2024-11"], seed=39)  # a late report
    second = generate_release(
        period="2024-11", method="dp", today=TODAY, parameters={"languages": ["en"]}
    )
    assert audit(second)["noise"]["drawn_now"] is True
    assert privacy.spent_by_month(["2024-11"]) == {"2024-11": 2.0}
    third = generate_release(
        period="2024-11", method="dp", today=TODAY, parameters={"epsilon": 0.5}
    )
    assert audit(third)["noise"]["drawn_now"] is True
    assert privacy.spent_by_month(["2024-11"]) == {"2024-11": 2.5}
    with pytest.raises(PrivacyBudgetExhausted):
        generate_release(period="2024-11", method="dp", today=TODAY, parameters={"epsilon": 0.25})
    # The same figures as the second draft cost nothing, even with the budget spent.
    again = generate_release(
        period="2024-11", method="dp", today=TODAY, parameters={"languages": ["ru"]}
    )
    assert _noisy_figures(content(again)) == _noisy_figures(content(second))
    assert {first.id, second.id, third.id, again.id} == {
        r.id for r in db.session.scalars(sa.select(Release))
    }


def test_is_the_lifetime_budget_stated_in_every_dp_release(app_ctx):
    """Does each DP release say, in its data and in each language's document, the configured
    lifetime budget and how much of it the figures spend?"""
    app_ctx.config["DP_LIFETIME_EPSILON"] = 7.0
    insert_records(30, months=["2024-11"], seed=40)
    release = generate_release(period="2024-11", method="dp", today=TODAY)
    budget = content(release)["privacy_budget"]
    assert budget == {
        "lifetime_epsilon": 7.0,
        "epsilon_of_figures": 1.0,
        "epsilon_charged": 1.0,
        "figures_drawn_on": TODAY.isoformat(),
        "most_spent_on_a_month": 1.0,
    }
    documents = {f.name: f.content.decode() for f in release.files if f.name.endswith(".html")}
    assert documents
    for name, text in documents.items():
        assert "ε = 7" in text, name
    assert all(
        f.content.decode().count("noise_key") == 0
        for f in release.files
        if not f.name.endswith(".pdf")
    )
