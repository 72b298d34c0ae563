"""Details added after sending: the optional steps that follow the quick report.

The quick report (`forms.QUICK_FIELDS`) is a whole report, sealed and stored before its receipt
is shown. What the full form asks beyond it is offered afterwards, one short step at a time,
for the report just sent. Each step the reporter sends becomes one message in the report's
thread from the reporter (`reporter_access.send_reporter_message`): sealed to the team key and
to the receipt-derived key like every follow-up, bound to its report, author and day, and
marked unread for the case team. The message carries the answers as sentences in the
reporter's language (what the thread shows to both sides) and as codes (sealed with them, for
a later coded view). Nothing is re-sealed in the report itself: its sections were sealed to the
statistics key too and may be in a statistical record already (docs/decisions.md, "Details
after sending").

Answers are checked by intake's own rules (`validation.parse_report`), with the quick report's
answers standing in for the questions a step does not ask, so that a step accepts exactly what
the full form would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from incident_service import taxonomy
from incident_service.intake.forms import (
    FIELD_ORDER,
    FIELD_QUESTIONS,
    ReportForm,
    errors_by_field,
)
from incident_service.intake.submission import InvalidReport
from incident_service.intake.validation import parse_report
from incident_service.models import today


@dataclass(frozen=True)
class DetailStep:
    """One optional step: its name in the URL, its title, and the form fields it asks."""

    name: str
    title: Any
    fields: tuple[str, ...]
    # Where its errors are shown (`forms.FIELD_ORDER` names), when not the fields themselves.
    error_places: tuple[str, ...] = ()

    @property
    def places(self) -> tuple[str, ...]:
        return self.error_places or self.fields


STEPS: tuple[DetailStep, ...] = (
    DetailStep(
        "place",
        _l("Where exactly, and what happened next"),
        ("location_type", "airport", "place_text", "outcome", "duration_hours", "perpetrators"),
    ),
    DetailStep(
        "people",
        _l("Who was affected?"),
        (
            "citizenship",
            "sex",
            "age_band",
            "legal_status",
            "group_size",
            "women_involved",
            "children_involved",
        ),
    ),
    DetailStep(
        "pressure",
        _l("Pressure to sign a military contract, problems at work"),
        (
            "contract_offered",
            "contract_signed",
            "citizenship_promised",
            "payment_offered_rub",
            "forced_labour_indicators",
        ),
        ("coercion", "payment_offered_rub", "forced_labour_indicators"),
    ),
    DetailStep(
        "words",
        _l("In your own words"),
        ("narrative",),
    ),
    DetailStep(
        "contact",
        _l("Who is reporting, and how can we reach you?"),
        (
            "reporter_role",
            "contact_channel",
            "contact_value",
            "consent_follow_up",
            "consent_ombudsman",
        ),
        ("reporter_role", "contact_channel", "contact_value", "consent_other"),
    ),
)
STEP_BY_NAME = {step.name: step for step in STEPS}
HEADING = _l("Added after sending:")

# How each field is written in the message: its question, and where its words come from.
_CHOICES: dict[str, taxonomy.Vocabulary] = {
    "perpetrators": taxonomy.PERPETRATORS,
    "citizenship": taxonomy.CITIZENSHIPS,
    "forced_labour_indicators": taxonomy.FORCED_LABOUR_INDICATORS,
}
_CODES: dict[str, taxonomy.Vocabulary] = {
    "location_type": taxonomy.LOCATION_TYPES,
    "airport": taxonomy.AIRPORTS,
    "outcome": taxonomy.OUTCOMES,
    "sex": taxonomy.SEXES,
    "age_band": taxonomy.AGE_BANDS,
    "legal_status": taxonomy.LEGAL_STATUSES,
    "reporter_role": taxonomy.REPORTER_ROLES,
    "contact_channel": taxonomy.CONTACT_CHANNELS,
}
_FLAGS: dict[str, Any] = {
    "women_involved": _l("There were women among them"),
    "children_involved": _l("There were children among them"),
    "contract_offered": _l("Someone offered a contract with the army"),
    "contract_signed": _l("Someone signed the contract"),
    "citizenship_promised": _l("They promised Russian citizenship"),
    "consent_follow_up": _l("The case team may contact me about this report."),
    "consent_ombudsman": _l("The case team may tell the ombudsman about my case."),
}
_TEXTS = ("place_text", "duration_hours", "group_size", "payment_offered_rub", "contact_value")


@dataclass(frozen=True)
class Details:
    """A step's answers, checked: the message text and the codes sealed beside it."""

    text: str
    codes: dict[str, Any]
    follow_up: bool
    ombudsman: bool

    @property
    def empty(self) -> bool:
        return not self.codes


class InvalidDetails(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid details")
        self.errors = errors


def check_step(
    step: DetailStep, form: ReportForm, *, language: str, country: str | None
) -> Details:
    """Check a step's answers by intake's rules; raise `InvalidDetails` with the errors of this
    step's questions. `country` is the quick report's (a region or airport needs Russia)."""
    body = form.report_body(language=language)
    # The questions the quick report answered stand in for themselves: valid, and unused.
    body.update(
        {
            "incident_date": today().isoformat(),
            "date_precision": "day",
            "acts": [taxonomy.ACTS.codes()[0]],
            "country": country if country in taxonomy.COUNTRIES else "RU",
            "region": None,
        }
    )
    body["consent"]["statistics"] = False
    try:
        parse_report(body)
    except InvalidReport as exc:
        errors = {
            place: message
            for place, message in errors_by_field(exc.errors).items()
            if place in step.places
        }
        if errors:
            raise InvalidDetails(errors) from None
    return _written(step, form)


def first_error_place(errors: dict[str, str]) -> str | None:
    return next((name for name in FIELD_ORDER if name in errors), None)


def _written(step: DetailStep, form: ReportForm) -> Details:
    lines: list[str] = []
    codes: dict[str, Any] = {}
    for name in step.fields:
        value = form[name].data
        if name in _CHOICES:
            chosen = [code for code in (value or []) if code in _CHOICES[name]]
            if chosen:
                codes[name] = chosen
                labels = ", ".join(_CHOICES[name].label(code) for code in chosen)
                lines.append(f"{FIELD_QUESTIONS[name]}: {labels}")
        elif name in _CODES:
            code = (value or "").strip()
            if code in _CODES[name]:
                codes[name] = code
                lines.append(f"{FIELD_QUESTIONS[name]}: {_CODES[name].label(code)}")
        elif name in _FLAGS:
            if value:
                codes[name] = True
                lines.append(str(_FLAGS[name]))
        elif name in _TEXTS:
            text = (value or "").strip()
            if text:
                codes[name] = text
                lines.append(f"{FIELD_QUESTIONS[name]}: {text}")
        elif name == "narrative":
            text = value or ""
            if text.strip():
                codes[name] = text
                lines.append(text)
    text = "\n".join([str(HEADING), *lines]) if lines else ""
    return Details(
        text=text,
        codes=codes,
        follow_up=bool(codes.get("consent_follow_up")),
        ombudsman=bool(codes.get("consent_ombudsman")),
    )


def next_step(step: DetailStep) -> DetailStep | None:
    position = STEPS.index(step)
    return STEPS[position + 1] if position + 1 < len(STEPS) else None
