"""What the release pages tell a supervisor when a release is refused, in the staff language.

The release services raise named exceptions whose own messages are English, for the command
line, the logs and the API; here each becomes a sentence in the page's language. A refusal met
by the worker arrives as the exception's name only (the task's result), so it is looked up by
name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext

from incident_service import taxonomy
from incident_service.releases import lifecycle
from incident_service.releases.periods import PeriodNotFinished, UnknownPeriod


def _(message: str, **values: object) -> str:
    return str(gettext(message, **values))


def _unknown_period(exc: UnknownPeriod) -> str:
    return _(
        "“%(typed)s” is not a period. Write a month (2024-11), a quarter (2024-Q4) or a year "
        "(2024), from %(year)s on.",
        typed=exc.text,
        year=taxonomy.EARLIEST_INCIDENT_YEAR,
    )


def _not_finished(exc: PeriodNotFinished) -> str:
    return _(
        "%(period)s ends on %(day)s and has not finished yet. Releases cover finished periods "
        "only.",
        period=exc.label,
        day=exc.end.isoformat(),
    )


def _already_published(exc: lifecycle.PeriodAlreadyPublished) -> str:
    return _(
        "Release %(id)s of this period is already published with this method. A period has one "
        "published release per method, so this draft cannot be published.",
        id=exc.release_id,
    )


def _would_disclose(exc: lifecycle.ReleaseWouldDisclose) -> str:
    return _(
        "Publishing this draft would expose small differences against releases published since "
        "it was generated (%(cells)s). Discard it and prepare it again.",
        cells=", ".join(exc.cells[:5]),
    )


# Refusals whose sentence needs the exception's details.
_DETAILED: dict[type[Exception], Callable[[Any], str]] = {
    UnknownPeriod: _unknown_period,
    PeriodNotFinished: _not_finished,
    lifecycle.PeriodAlreadyPublished: _already_published,
    lifecycle.ReleaseWouldDisclose: _would_disclose,
}

# The others, by the exception's name, so that a refusal the worker met can be explained from
# its name alone (the names are checked against the classes by the tests).
FIXED: dict[str, Callable[[], str]] = {
    "UnknownMethod": lambda: _("Choose a method: the threshold rule or differential privacy."),
    "NotAllowed": lambda: _(
        "Only a supervisor can publish or discard a draft, and a published release is never "
        "changed or removed."
    ),
    "ReleaseTampered": lambda: _(
        "A stored file of this release no longer matches its signed manifest, so it cannot be "
        "published. Discard it and prepare it again."
    ),
    "DraftKeepsBudget": lambda: _(
        "A differentially private draft cannot be discarded: its noise was drawn and its "
        "privacy budget is spent."
    ),
    "ReleaseBlockedByDifferencing": lambda: _(
        "Next to releases already published, even this period's total would reveal a small "
        "number of reports, so it cannot be released while those are published."
    ),
    "PrivacyBudgetExhausted": lambda: _(
        "The privacy budget of a month in this period is spent: no further differentially "
        "private release can be made for it. The threshold rule still can."
    ),
    "AuditFailed": lambda: _(
        "The disclosure check of this draft did not pass, so it was not stored."
    ),
    "InvalidParameters": lambda: _("The release parameters are not valid."),
    "WeakerThanDefault": lambda: _(
        "The release parameters would protect less than the configured defaults."
    ),
}


def explain(exc: Exception) -> str:
    """The refusal `exc` as a sentence in the staff language."""
    for cls in type(exc).__mro__:
        if cls in _DETAILED:
            return _DETAILED[cls](exc)
        if cls.__name__ in FIXED:
            return FIXED[cls.__name__]()
    return refusal(type(exc).__name__)


def refusal(name: str) -> str:
    """A refusal the worker met, known by its exception's name only."""
    if name in FIXED:
        return FIXED[name]()
    return _("The release was refused (%(reason)s); the worker's log says why.", reason=name)
