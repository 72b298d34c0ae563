"""Languages: the reporter's choice, remembered for the browser session only."""

from __future__ import annotations

from flask import request, session
from werkzeug.exceptions import RequestEntityTooLarge

LANGUAGES: dict[str, str] = {
    "ru": "Русский",
    "tg": "Тоҷикӣ",
    "uz": "Oʻzbekcha",
    "ky": "Кыргызча",
    "en": "English",
}


def _posted_language() -> str | None:
    try:
        return request.form.get("lang")
    except RequestEntityTooLarge:
        # The "too large" page itself must render, in the language remembered so far.
        return None


def select_locale() -> str:
    """`?lang=` (the visible picker) wins and is kept in the non-persistent session cookie."""
    from flask import current_app

    requested = request.args.get("lang") or _posted_language()
    if requested in LANGUAGES:
        session["lang"] = requested
        return requested
    remembered = session.get("lang")
    if remembered in LANGUAGES:
        return str(remembered)
    best = request.accept_languages.best_match(list(LANGUAGES))
    return best or str(current_app.config.get("DEFAULT_LANGUAGE", "ru"))
