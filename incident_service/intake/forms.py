"""The reporter's forms: what the browser sends, kept as typed, mapped onto the API's report body.

The forms only carry input (and the CSRF token); they validate nothing themselves. Every rule
lives in `intake.validation.parse_report`, and its errors (keyed by API field paths such as
``people.group_size``) are mapped back to the form field that shows them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, HiddenField, SelectMultipleField, StringField, TextAreaField

from incident_service.crypto.receipts import new_submission_token

SUBMISSION_TOKEN_HEX_LENGTH = 64


def _choices() -> SelectMultipleField:
    # Choices are checked by intake against the taxonomy, not here (one validation path).
    return SelectMultipleField(validate_choice=False)


class _QuietMeta:
    """WTForms' own messages are never shown on these pages (intake's are), so fields need no
    translations: looking them up for 30 default labels was a tenth of the form's CPU time.

    Fields are bound from a prototype: WTForms builds each of the report form's 33 fields anew
    for every request (label, flags, validators, widget), which cost more than half of building
    the form (about 0.1 ms of CPU a request, docs/benchmarks.md). What it builds depends only on
    the field's declaration and name, so the first bound field of each declaration is kept and
    later forms get a shallow copy of it, pointed at their own form; `process` then sets the
    request's data on the copy only, as it would on a new field. The prototypes are never
    processed, so they hold nothing of any request.
    """

    def get_translations(self, form: object) -> None:
        return None

    def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
        if options.get("translations") is not None:  # not these forms: no shared prototype
            return unbound_field.bind(form=form, **options)
        # Kept on the declaration itself: one per form class and field, never per request (the
        # CSRF field's declaration is made per form, so its prototype goes with it).
        prototypes: dict[tuple[str, str], Any] = unbound_field.__dict__.setdefault(_PROTOTYPES, {})
        key = (options["name"], options.get("prefix", ""))
        prototype = prototypes.get(key)
        if prototype is None:
            prototype = unbound_field.bind(form=form, **options)
            prototypes[key] = prototype
        field = object.__new__(type(prototype))
        field.__dict__.update(prototype.__dict__)
        field._form = form
        field.meta = form.meta
        return field


_PROTOTYPES = "_incident_prototypes"


class ReportForm(FlaskForm):  # type: ignore[misc]
    """The report form. Field names are flat; `report_body` builds the nested API body."""

    Meta = _QuietMeta

    token = HiddenField()
    acts = _choices()
    year = StringField()
    month = StringField()
    day = StringField()
    location_type = StringField()
    country = StringField()
    region = StringField()
    airport = StringField()
    place_text = StringField()
    duration_hours = StringField()
    perpetrators = _choices()
    citizenship = _choices()
    sex = StringField()
    age_band = StringField()
    legal_status = StringField()
    group_size = StringField()
    women_involved = BooleanField()
    children_involved = BooleanField()
    contract_offered = BooleanField()
    contract_signed = BooleanField()
    citizenship_promised = BooleanField()
    payment_offered_rub = StringField()
    forced_labour_indicators = _choices()
    outcome = StringField()
    narrative = TextAreaField()
    reporter_role = StringField()
    contact_channel = StringField()
    contact_value = StringField()
    consent_statistics = StringField()  # "yes" or "no": the reporter must answer either way
    consent_follow_up = BooleanField()
    consent_ombudsman = BooleanField()

    def ensure_token(self) -> None:
        """A fresh random submission token for a new form; a posted one is kept as it came."""
        if not self.token.data:
            self.token.data = new_submission_token().hex()

    def client_token(self) -> bytes | None:
        """The posted token, if it has the shape this page gives it (else no idempotency)."""
        value = self.token.data or ""
        if len(value) != SUBMISSION_TOKEN_HEX_LENGTH:
            return None
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None

    def report_body(self, *, language: str) -> dict[str, Any]:
        """The JSON API's report body, from what was typed. Nothing is judged here."""
        incident_date, precision = _date_and_precision(
            self.year.data, self.month.data, self.day.data
        )
        return {
            "language": language,
            "incident_date": incident_date,
            "date_precision": precision,
            "acts": list(self.acts.data or []),
            "perpetrators": list(self.perpetrators.data or []),
            "location_type": _blank_to_none(self.location_type.data),
            "country": _blank_to_none(self.country.data),
            "region": _blank_to_none(self.region.data),
            "airport": _blank_to_none(self.airport.data),
            "place_text": self.place_text.data or "",
            "duration_hours": _number(self.duration_hours.data),
            "people": {
                "citizenship": list(self.citizenship.data or []),
                "sex": _blank_to_none(self.sex.data),
                "age_band": _blank_to_none(self.age_band.data),
                "legal_status": _blank_to_none(self.legal_status.data),
                "group_size": _number(self.group_size.data),
                "women_involved": bool(self.women_involved.data),
                "children_involved": bool(self.children_involved.data),
            },
            "forced_labour_indicators": list(self.forced_labour_indicators.data or []),
            "coercion": {
                "contract_offered": bool(self.contract_offered.data),
                "contract_signed": bool(self.contract_signed.data),
                "citizenship_promised": bool(self.citizenship_promised.data),
                "payment_offered_rub": _number(self.payment_offered_rub.data),
            },
            "outcome": _blank_to_none(self.outcome.data),
            "narrative": self.narrative.data or "",
            "reporter_role": _blank_to_none(self.reporter_role.data),
            "contact": {
                "channel": _blank_to_none(self.contact_channel.data),
                "value": self.contact_value.data or "",
            },
            "consent": {
                "statistics": _yes_no(self.consent_statistics.data),
                "follow_up": bool(self.consent_follow_up.data),
                "share_with_ombudsman": bool(self.consent_ombudsman.data),
            },
        }


# Where each error from intake is shown on the page. Paths not listed go to the top of the form.
FIELD_OF_PATH: dict[str, str] = {
    "incident_date": "when",
    "date_precision": "when",
    "acts": "acts",
    "perpetrators": "perpetrators",
    "location_type": "location_type",
    "country": "country",
    "region": "region",
    "airport": "airport",
    "place_text": "place_text",
    "duration_hours": "duration_hours",
    "people.citizenship": "citizenship",
    "people.sex": "sex",
    "people.age_band": "age_band",
    "people.legal_status": "legal_status",
    "people.group_size": "group_size",
    "people.women_involved": "women_involved",
    "people.children_involved": "children_involved",
    "forced_labour_indicators": "forced_labour_indicators",
    "coercion.contract_offered": "coercion",
    "coercion.contract_signed": "coercion",
    "coercion.citizenship_promised": "coercion",
    "coercion.payment_offered_rub": "payment_offered_rub",
    "outcome": "outcome",
    "narrative": "narrative",
    "reporter_role": "reporter_role",
    "contact.channel": "contact_channel",
    "contact.value": "contact_value",
    "consent.statistics": "consent_statistics",
    "consent.follow_up": "consent_other",
    "consent.share_with_ombudsman": "consent_other",
}
GENERAL_ERRORS = "_form"
# The places errors are shown, in the order they appear on the page: the first one with an
# error is where the page opens after a refusal (`#field-<name>`).
FIELD_ORDER: tuple[str, ...] = (
    "acts",
    "when",
    "country",
    "region",
    "airport",
    "location_type",
    "place_text",
    "outcome",
    "duration_hours",
    "perpetrators",
    "citizenship",
    "sex",
    "age_band",
    "legal_status",
    "group_size",
    "women_involved",
    "children_involved",
    "coercion",
    "payment_offered_rub",
    "forced_labour_indicators",
    "narrative",
    "reporter_role",
    "contact_channel",
    "contact_value",
    "consent_statistics",
    "consent_other",
)
# Posted fields that are not answers: never kept in a draft.
NOT_ANSWERS = frozenset({"csrf_token", "lang"})

# The quick report, the first screen of /report (issue 13): what happened, roughly when, roughly
# where, consent. Every question intake requires is here, so the quick report is a whole report;
# everything else is offered after sending (`DETAIL_STEPS`) or on the full form.
QUICK_FIELDS = frozenset({"acts", "year", "month", "country", "region", "consent_statistics"})
QUICK_ERROR_PLACES: tuple[str, ...] = ("acts", "when", "country", "region", "consent_statistics")

# The question each place an error is shown belongs to, for the error summary's links.
FIELD_QUESTIONS: dict[str, Any] = {
    "acts": _l("What happened?"),
    "when": _l("When did it happen?"),
    "country": _l("Country"),
    "region": _l("Region (in Russia)"),
    "airport": _l("Airport (if it was at an airport)"),
    "location_type": _l("What kind of place?"),
    "place_text": _l("Town, street or building"),
    "outcome": _l("What happened next?"),
    "duration_hours": _l("How many hours were people held?"),
    "perpetrators": _l("Who did it?"),
    "citizenship": _l("Citizenship"),
    "sex": _l("Sex"),
    "age_band": _l("Age"),
    "legal_status": _l("Documents for staying in Russia"),
    "group_size": _l("How many people were affected?"),
    "women_involved": _l("There were women among them"),
    "children_involved": _l("There were children among them"),
    "coercion": _l("Pressure to sign a military contract"),
    "payment_offered_rub": _l("Money they promised, in roubles"),
    "forced_labour_indicators": _l("Problems at work"),
    "narrative": _l("In your own words"),
    "reporter_role": _l("Who is reporting?"),
    "contact_channel": _l("How"),
    "contact_value": _l("Number, name or address"),
    "consent_statistics": _l("Your permission"),
    "consent_other": _l("Your permission"),
}


def wants_full_form(answers: object) -> bool:
    """True if a draft answers a question the quick report does not ask: it is shown on the full
    form, so that nothing typed is hidden."""
    for pair in answers if isinstance(answers, list) else []:
        if not (isinstance(pair, list) and len(pair) == 2):
            continue
        name, value = pair
        if name not in QUICK_FIELDS and name != "token" and str(value).strip():
            return True
    return False


def error_summary(errors: dict[str, str]) -> list[tuple[str, str, str]]:
    """(place, question, message) for each error, in the order of the page: the summary at the
    top of a refused form links each one to its field (`#field-<place>`)."""
    return [
        (name, str(FIELD_QUESTIONS.get(name, "")), errors[name])
        for name in FIELD_ORDER
        if name in errors
    ]


def errors_by_field(errors: dict[str, Any]) -> dict[str, str]:
    """Intake's errors keyed by the form field that shows them (first message wins)."""
    shown: dict[str, str] = {}
    for path, message in errors.items():
        shown.setdefault(FIELD_OF_PATH.get(path, GENERAL_ERRORS), str(message))
    return shown


def first_invalid_field(errors: dict[str, str]) -> str | None:
    """The first field on the page that shows one of `errors`, if any does."""
    return next((name for name in FIELD_ORDER if name in errors), None)


def posted_answers(form: MultiDict[str, str], *, token: str) -> list[list[str]]:
    """What a browser posted to the report form, as [name, value] pairs for a draft: every
    answer exactly as typed, the submission token the page carries, no CSRF token."""
    answers = [[name, value] for name, value in form.items(multi=True) if name not in NOT_ANSWERS]
    return [pair for pair in answers if pair[0] != "token"] + [["token", token]]


def form_from_answers(answers: object) -> ReportForm:
    """The report form filled in with a draft's answers (malformed pairs are skipped)."""
    pairs = [
        (str(pair[0]), str(pair[1]))
        for pair in (answers if isinstance(answers, list) else [])
        if isinstance(pair, list) and len(pair) == 2
    ]
    form = ReportForm(formdata=MultiDict(pairs))
    form.ensure_token()
    return form


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get((value or "").strip())


def _number(value: str | None) -> str | None:
    """A number as typed ("12", "1,5", "около 40"): intake reads it, and names any problem in
    the reporter's language."""
    text = (value or "").strip()
    return text or None


def _date_and_precision(
    year: str | None, month: str | None, day: str | None
) -> tuple[str | None, str]:
    """Year, month and day pickers → an ISO date and how precise it is.

    A missing day means the month is known; a missing month means only the year is. A day with
    no month cannot be placed, so it becomes a date intake refuses.
    """
    y, m, d = (part.strip() if part else "" for part in (year, month, day))
    if not y:
        return None, "day"
    if not m:
        return (y, "year") if not d else (f"{y}--{d}", "day")
    if not d:
        return f"{y}-{m.zfill(2)}", "month"
    return f"{y}-{m.zfill(2)}-{d.zfill(2)}", "day"


def selectable_years(today: dt.date, earliest: int) -> list[int]:
    """Years offered by the picker, newest first (a day ahead for time zones east of UTC)."""
    latest = (today + dt.timedelta(days=1)).year
    return list(range(latest, earliest - 1, -1))


class ReceiptForm(FlaskForm):  # type: ignore[misc]
    """The receipt, typed (never in a URL); the open status page keeps it server-side, sealed
    (`intake.handoff`), so that no page carries it."""

    Meta = _QuietMeta

    receipt = StringField()


class StatusActionForm(ReceiptForm):
    """What a reporter can do once the receipt is recognised (`receipt` is posted only by the
    lookup, or by a page answered directly while the handoff store was down)."""

    action = StringField()
    text = TextAreaField()
    confirm = BooleanField()
