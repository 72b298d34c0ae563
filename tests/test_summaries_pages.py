"""The supervisor's release pages as a Russian supervisor meets them: refusals in the page's
language with the typed period kept, "Prepare" telling the truth about the draft, and a
confirmation step, with the headline figures, before anything is published."""

from __future__ import annotations

import re
import uuid

import pytest

from incident_service.constants import ReleaseStatus, Role
from incident_service.models import Release, db
from incident_service.releases import lifecycle
from incident_service.releases.content import headline
from incident_service.releases.disclosure import AuditFailed
from incident_service.releases.lifecycle import generate_release
from incident_service.releases.parameters import InvalidParameters, UnknownMethod, WeakerThanDefault
from incident_service.releases.privacy import PrivacyBudgetExhausted
from incident_service.summaries import messages
from tests.conftest import build_app, require_redis
from tests.release_helpers import TODAY, content
from tests.staff import login, make_staff
from tests.statistics_factory import insert_records
from tests.worker_process import WorkerProcess, wait_for, worker_environment

pytestmark = pytest.mark.usefixtures("no_pdf_layout")


def _supervisor(app, lang="ru"):
    with app.app_context():
        account = make_staff(role=Role.SUPERVISOR)
    client = app.test_client()
    login(client, account)
    client.get(f"/summaries/?lang={lang}")
    return client


def _field(page: str, name: str) -> str:
    match = re.search(rf'<input type="text" name="{name}"[^>]*value="([^"]*)"', page)
    assert match, f"no {name} field"
    return match.group(1)


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("2026-Q5", "«2026-Q5» — не период"),
        ("2099-01", "Период 2099-01 заканчивается 2099-01-31 и ещё не завершён"),
    ],
)
def test_is_a_bad_period_refused_in_russian_with_the_field_kept(app, typed, said):
    """On a Russian page, is "'2026-Q5' is not a period…" said in Russian, and are the period
    and method the supervisor chose still in the form, after a redirect (so that a reload does
    not post again)?"""
    client = _supervisor(app)
    response = client.post("/summaries/generate", data={"period": typed, "method": "dp"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert said in page
    assert "is not a period" not in page and "has not finished" not in page
    assert _field(page, "period") == typed
    assert '<option value="dp" selected>' in page


def test_does_prepare_in_the_embedded_mode_open_the_draft_it_made(app):
    """Without a separate worker the draft is made during the request: does the supervisor
    land on it, told it is ready, rather than "being prepared" beside a listed draft?"""
    with app.app_context():
        insert_records(40, months=["2024-11"], seed=71)
    client = _supervisor(app)
    response = client.post("/summaries/generate", data={"period": "2024-11"})
    assert response.status_code == 303
    with app.app_context():
        (release,) = db.session.query(Release).all()
    assert response.headers["Location"].endswith(f"/summaries/{release.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Черновик за 2024-11 готов" in page
    assert "готовится" not in page and "being prepared" not in page


def test_is_a_refusal_met_while_preparing_said_in_russian(app, monkeypatch):
    """When generation refuses (here, the privacy budget is spent), does the page say so in
    Russian and keep the form, instead of claiming the draft is on its way?"""

    def refuse(**_kwargs):
        raise PrivacyBudgetExhausted("2024-11", 1.0, 0.5, 1.0)

    monkeypatch.setattr(lifecycle, "generate_release", refuse)
    client = _supervisor(app)
    response = client.post("/summaries/generate", data={"period": "2024-11", "method": "dp"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Бюджет приватности одного из месяцев этого периода израсходован" in page
    assert _field(page, "period") == "2024-11"


@pytest.fixture
def offline_app(tmp_path, backend):
    """Tasks go to a broker that is not there (nothing listens on port 9)."""
    yield from build_app(tmp_path, backend, CELERY_EAGER=False, REDIS_URL="redis://127.0.0.1:9/0")


def test_does_an_unreachable_worker_keep_the_form_and_say_so(offline_app):
    """With the broker down, is the supervisor told the worker cannot be reached, in Russian,
    with the period kept; and does the progress page admit it cannot read the state?"""
    client = _supervisor(offline_app)
    response = client.post("/summaries/generate", data={"period": "2024-11"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Фоновый обработчик недоступен" in page
    assert _field(page, "period") == "2024-11"
    progress = client.get(f"/summaries/preparing/{uuid.uuid4()}?period=2024-11")
    assert progress.status_code == 200
    assert "хранилище результатов обработчика не отвечает" in progress.get_data(as_text=True)


def test_does_publishing_ask_for_confirmation_with_the_headline_figures(app):
    """Is "Publish" a step to a page that shows the headline figures and asks to confirm,
    without JavaScript; does a post that skips that page publish nothing; and does the
    confirmed post publish and redirect (POST/redirect/GET)?"""
    with app.app_context():
        insert_records(40, months=["2024-11"], seed=72)
        release = generate_release(period="2024-11", today=TODAY)
        release_id, reports = release.id, headline(content(release))["reports"]
        db.session.commit()
    client = _supervisor(app)
    draft_page = client.get(f"/summaries/{release_id}").get_data(as_text=True)
    assert f'href="/summaries/{release_id}/publish"' in draft_page
    assert f'action="/summaries/{release_id}/publish"' not in draft_page  # no one-click post

    skipped = client.post(f"/summaries/{release_id}/publish")
    assert skipped.status_code == 303
    assert skipped.headers["Location"].endswith(f"/summaries/{release_id}/publish")
    with app.app_context():
        assert db.session.get(Release, release_id).status == ReleaseStatus.DRAFT.value

    confirm = client.get(f"/summaries/{release_id}/publish")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "Опубликовать этот выпуск?" in page
    table = re.search(r'<table class="headline flat" id="headline">(.*?)</table>', page, re.S)
    assert table and f'<td class="n">{reports}</td>' in table.group(1)
    assert "<script" not in page
    assert 'name="confirm" value="publish"' in page

    done = client.post(f"/summaries/{release_id}/publish", data={"confirm": "publish"})
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/summaries/{release_id}")
    with app.app_context():
        assert db.session.get(Release, release_id).status == ReleaseStatus.PUBLISHED.value
    assert client.get(f"/summaries/{release_id}/publish").status_code == 303  # nothing to ask


def test_is_a_refused_publication_explained_in_russian(app):
    """A second release of a published period: is the refusal in Russian?"""
    with app.app_context():
        insert_records(40, months=["2024-11"], seed=73)
        first = generate_release(period="2024-11", today=TODAY).id
        second = generate_release(
            period="2024-11", today=TODAY, parameters={"threshold": 11, "protection_width": 11}
        ).id
        db.session.commit()
    client = _supervisor(app)
    client.post(f"/summaries/{first}/publish", data={"confirm": "publish"})
    response = client.post(f"/summaries/{second}/publish", data={"confirm": "publish"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Выпуск {first} за этот период уже опубликован этим методом" in page
    assert "is already published" not in page


def test_does_every_refusal_explained_by_name_name_a_real_refusal():
    """The worker reports a refusal by its exception's name: does each name the pages
    translate belong to an exception the release services raise?"""
    raised = {
        cls.__name__
        for cls in (
            UnknownMethod,
            InvalidParameters,
            WeakerThanDefault,
            AuditFailed,
            PrivacyBudgetExhausted,
            lifecycle.NotAllowed,
            lifecycle.ReleaseTampered,
            lifecycle.DraftKeepsBudget,
            lifecycle.ReleaseBlockedByDifferencing,
        )
    }
    assert set(messages.FIXED) == raised


@pytest.fixture
def worker_app(tmp_path, backend):
    """The web side as deployed: tasks go through Redis to a separate worker."""
    import redis

    url = require_redis()
    redis.Redis.from_url(url).flushdb()
    yield from build_app(tmp_path, backend, CELERY_EAGER=False, REDIS_URL=url)


@pytest.mark.integration
def test_does_the_progress_page_follow_the_real_worker_from_waiting_to_the_draft(
    worker_app, tmp_path
):
    """With a real worker behind Redis: does "Prepare" lead to a page that says the worker has
    not started yet (it is not running), and, once a worker runs, to the draft it made?"""
    with worker_app.app_context():
        insert_records(40, months=["2024-11"], seed=74)
    client = _supervisor(worker_app)
    response = client.post("/summaries/generate", data={"period": "2024-11"})
    assert response.status_code == 303
    progress_url = response.headers["Location"]
    assert "/summaries/preparing/" in progress_url
    waiting = client.get(progress_url).get_data(as_text=True)
    assert "Передано обработчику; он ещё не начал" in waiting
    assert "Проверить снова" in waiting
    env = worker_environment(worker_app, redis_url=worker_app.config["REDIS_URL"])
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        assert wait_for(
            lambda: client.get(progress_url).status_code == 303, timeout=180, interval=1
        ), worker.log()[-3000:]
    finally:
        worker.stop()
    done = client.get(progress_url)
    with worker_app.app_context():
        db.session.rollback()
        (release,) = db.session.query(Release).all()
    assert done.headers["Location"].endswith(f"/summaries/{release.id}")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Черновик за 2024-11 готов" in page
