"""Languages: the reporter's choice, remembered for the browser session only."""

from __future__ import annotations

from flask import g, request, session
from flask_babel import refresh
from werkzeug.exceptions import RequestEntityTooLarge

LANGUAGES: dict[str, str] = {
    "ru": "Русский",
    "tg": "Тоҷикӣ",
    "uz": "Oʻzbekcha",
    "ky": "Кыргызча",
    "en": "English",
}

# Staff pages are translated into Russian and English only; the reporter languages without a
# staff translation would show a mix, so a staff page falls back to English instead.
STAFF_LANGUAGES: dict[str, str] = {"ru": LANGUAGES["ru"], "en": LANGUAGES["en"]}
STAFF_BLUEPRINTS = frozenset({"auth", "cases", "summaries"})


def _posted_language() -> str | None:
    try:
        return request.form.get("lang")
    except RequestEntityTooLarge:
        # The "too large" page itself must render, in the language remembered so far.
        return None


def select_locale() -> str:
    """`?lang=` (the visible picker) wins and is kept in the non-persistent session cookie.

    Reporters without a choice get their phone's language, else Russian. Staff pages offer
    Russian and English: the choice made with the staff picker, else the browser's language if
    it is one of the two, else English.
    """
    from flask import current_app

    if request.blueprint in STAFF_BLUEPRINTS:
        return _staff_locale()
    if g.get("body_language"):
        return str(g.body_language)
    requested = request.args.get("lang") or _posted_language()
    if requested in LANGUAGES:
        session["lang"] = requested
        return requested
    remembered = session.get("lang")
    if remembered in LANGUAGES:
        return str(remembered)
    best = request.accept_languages.best_match(list(LANGUAGES))
    return best or str(current_app.config.get("DEFAULT_LANGUAGE", "ru"))


def _staff_locale() -> str:
    requested = request.args.get("lang")
    if requested in STAFF_LANGUAGES:
        session["staff_lang"] = requested
        return requested
    remembered = session.get("staff_lang")
    if remembered in STAFF_LANGUAGES:
        return str(remembered)
    return request.accept_languages.best_match(list(STAFF_LANGUAGES)) or "en"


def use_body_language(value: object) -> None:
    """A partner app names the reporter's language in the report itself (`language`): answer in
    it, unless `?lang=` says otherwise. Called once the body is parsed, before any message."""
    if isinstance(value, str) and value in LANGUAGES and not request.args.get("lang"):
        g.body_language = value
        refresh()
