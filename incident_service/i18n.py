"""Languages: the reporter's choice, remembered for the browser session only."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request, session
from flask_babel import get_locale, get_translations, refresh
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
# A release's documents (HTML, PDF) are written in these languages, in this order.
DOCUMENT_LANGUAGES: tuple[str, ...] = ("ru", "en", "tg")
STAFF_BLUEPRINTS = frozenset({"auth", "cases", "summaries"})
# Where the reporter's choice is kept: the session cookie, which ends with the browser session.
REPORTER_LANGUAGE_KEY = "lang"


def _posted_language() -> str | None:
    try:
        return request.form.get("lang")
    except RequestEntityTooLarge:
        # The "too large" page itself must render, in the language remembered so far.
        return None


def is_staff_request() -> bool:
    """Is this request in the staff's area? Its blueprint says; an address that matched no
    route (a 404, a 405) is judged by its first segment, like `/cases/...` or `/login`."""
    if request.blueprint is not None:
        return request.blueprint in STAFF_BLUEPRINTS
    first = request.path.lstrip("/").split("/", 1)[0]
    return bool(first) and first in _staff_segments()


def _staff_segments() -> frozenset[str]:
    segments = current_app.extensions.get("incident_staff_segments")
    if segments is None:
        segments = frozenset(
            rule.rule.lstrip("/").split("/", 1)[0]
            for rule in current_app.url_map.iter_rules()
            if rule.endpoint.split(".", 1)[0] in STAFF_BLUEPRINTS
        )
        current_app.extensions["incident_staff_segments"] = segments
    return frozenset(segments)


def select_locale() -> str:
    """`?lang=` (the visible picker) wins and is kept in the non-persistent session cookie.

    Reporters without a choice get their phone's language, else Russian. Staff pages offer
    Russian and English: the choice made with the staff picker, else the browser's language if
    it is one of the two, else English.
    """
    if is_staff_request():
        return _chosen(request.args.get("lang"), STAFF_LANGUAGES, "staff_lang", fallback="en")
    if g.get("body_language"):
        return str(g.body_language)
    return _chosen(
        request.args.get("lang") or _posted_language(),
        LANGUAGES,
        REPORTER_LANGUAGE_KEY,
        fallback=str(current_app.config.get("DEFAULT_LANGUAGE", "ru")),
    )


def _chosen(requested: str | None, offered: dict[str, str], key: str, *, fallback: str) -> str:
    """The language asked for now (remembered under `key` for the session), else the one
    remembered, else the browser's best match among `offered`, else `fallback`."""
    if requested in offered:
        session[key] = requested
        return str(requested)
    remembered = session.get(key)
    if remembered in offered:
        return str(remembered)
    return request.accept_languages.best_match(list(offered)) or fallback


def remember_language(language: str) -> None:
    """Show this browser's reporter pages in `language` from now on, as the picker would."""
    if language in LANGUAGES:
        session[REPORTER_LANGUAGE_KEY] = language
        refresh()


def use_body_language(value: object) -> None:
    """A partner app names the reporter's language in the report itself (`language`): answer in
    it, unless `?lang=` says otherwise. Called once the body is parsed, before any message."""
    if isinstance(value, str) and value in LANGUAGES and not request.args.get("lang"):
        g.body_language = value
        refresh()


# --------------------------------------------------------------------------------------------
# Strings in templates

# Where a request keeps its catalogue: the locale it belongs to, and the catalogue.
CATALOGUE_KEY = "incident_catalogue"


def request_catalogue() -> Any:
    """This request's translations. Flask-Babel finds them again for every string (its domain,
    its locale and its cache, each through context-local look-ups), which made the dozen strings
    of the receipt page a quarter of its rendering; here they are found once per request and
    locale. Kept with the locale object they belong to, so a `refresh()` after a change of
    language, or `force_locale`, gets the catalogue of the new locale."""
    locale = get_locale()
    if locale is None:  # outside a request and an app context: Flask-Babel's empty catalogue
        return get_translations()
    kept = g.get(CATALOGUE_KEY)
    if kept is not None and kept[0] is locale:
        return kept[1]
    catalogue = get_translations()
    setattr(g, CATALOGUE_KEY, (locale, catalogue))
    return catalogue


def install_template_strings(app: Flask) -> None:
    """Templates' `_()`, `ngettext` and the rest through `request_catalogue` (in place of the
    callables Flask-Babel installs; the same catalogues, the same new-style formatting)."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: request_catalogue().ugettext(s),
        ngettext=lambda s, p, n: request_catalogue().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: request_catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_catalogue().unpgettext(c, s, p, n),
    )
