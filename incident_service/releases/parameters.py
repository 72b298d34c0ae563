"""A release's parameters: defaults from the configuration, checked so that a release may only
be stricter than them, and the digest that names them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from flask import current_app

from incident_service.constants import ReleaseMethod
from incident_service.i18n import DOCUMENT_LANGUAGES
from incident_service.releases.errors import ReleaseError

ZERO_SENSITIVE_CHOICES = frozenset(
    {"coercion", "vulnerable", "by_act", "by_perpetrator", "by_airport", "case_status"}
)
DEFAULT_CHANGE_MIN_BASE = 30
DEFAULT_CONTRIBUTIONS = {
    "acts": 3,
    "act_groups": 2,
    "perpetrators": 2,
    "citizenships": 2,
    "indicators": 2,
}


class UnknownMethod(ReleaseError):
    def __init__(self, method: str) -> None:
        choices = ", ".join(m.value for m in ReleaseMethod)
        super().__init__(f"unknown method {method!r}; use one of: {choices}")


class InvalidParameters(ReleaseError):
    pass


class WeakerThanDefault(InvalidParameters):
    """A parameter that would protect less than the configured default."""


def release_method(method: str | ReleaseMethod) -> ReleaseMethod:
    try:
        return ReleaseMethod(method)
    except ValueError:
        raise UnknownMethod(str(method)) from None


def default_parameters(method: ReleaseMethod) -> dict[str, Any]:
    threshold = int(current_app.config["SUPPRESSION_THRESHOLD"])
    common: dict[str, Any] = {
        "change_min_base": max(DEFAULT_CHANGE_MIN_BASE, threshold),
        "languages": list(DOCUMENT_LANGUAGES),
    }
    if method is ReleaseMethod.SUPPRESSION:
        return {
            "threshold": threshold,
            "protection_width": threshold,
            "zero_sensitive_tables": ["coercion"],
            **common,
        }
    return {
        "epsilon": float(current_app.config["DP_RELEASE_EPSILON"]),
        "contributions": dict(DEFAULT_CONTRIBUTIONS),
        "case_threshold": threshold,
        **common,
    }


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameters(f"{name} must be a whole number from {low} to {high}")
    return value


def _not_below(name: str, value: Any, floor: int, high: int) -> int:
    """A whole number that may raise protection above the configured default, never lower it.
    Refused with the parameter's name rather than clamped: a release must say what it used."""
    whole = _whole(name, value, 1, high)
    if whole < floor:
        raise WeakerThanDefault(
            f"{name} {whole} is below the configured {floor}: a release may only be stricter "
            "than the defaults"
        )
    return whole


def normalise_parameters(method: ReleaseMethod, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults filled in, every value checked: the canonical parameters of a release.

    The defaults come from the configuration and are the weakest protection allowed: a
    threshold, protection width, case threshold or comparison base may be raised, ε lowered
    and zero-sensitive tables added, but never the other way round."""
    defaults = default_parameters(method)
    parameters = dict(defaults)
    for name, value in (given or {}).items():
        if name not in parameters:
            raise InvalidParameters(f"{name} is not a parameter of the {method.value} method")
        parameters[name] = value
    parameters["change_min_base"] = _not_below(
        "change_min_base", parameters["change_min_base"], defaults["change_min_base"], 1_000_000
    )
    languages = parameters["languages"]
    if (
        not isinstance(languages, list)
        or not languages
        or any(language not in DOCUMENT_LANGUAGES for language in languages)
    ):
        raise InvalidParameters(
            f"languages must be a list drawn from {', '.join(DOCUMENT_LANGUAGES)}"
        )
    parameters["languages"] = [language for language in DOCUMENT_LANGUAGES if language in languages]
    if method is ReleaseMethod.SUPPRESSION:
        _check_suppression(parameters, defaults)
    else:
        _check_differential_privacy(parameters, defaults)
    return parameters


def _check_suppression(parameters: dict[str, Any], defaults: Mapping[str, Any]) -> None:
    """The threshold rule's parameters, checked and normalised in place."""
    parameters["threshold"] = _not_below(
        "threshold", parameters["threshold"], defaults["threshold"], 1000
    )
    parameters["protection_width"] = _not_below(
        "protection_width", parameters["protection_width"], defaults["protection_width"], 1000
    )
    tables = parameters["zero_sensitive_tables"]
    if not isinstance(tables, list) or not set(tables) <= ZERO_SENSITIVE_CHOICES:
        raise InvalidParameters(
            "zero_sensitive_tables must be a list drawn from "
            + ", ".join(sorted(ZERO_SENSITIVE_CHOICES))
        )
    dropped = set(defaults["zero_sensitive_tables"]) - set(tables)
    if dropped:
        raise WeakerThanDefault(
            f"zero_sensitive_tables must keep {', '.join(sorted(dropped))}: a release may "
            "only be stricter than the defaults"
        )
    parameters["zero_sensitive_tables"] = sorted(set(tables))


def _check_differential_privacy(parameters: dict[str, Any], defaults: Mapping[str, Any]) -> None:
    """ε and the contributions per report, checked and normalised in place."""
    epsilon = parameters["epsilon"]
    lifetime = float(current_app.config["DP_LIFETIME_EPSILON"])
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, int | float)
        or not 0 < float(epsilon) <= lifetime
    ):
        raise InvalidParameters(f"epsilon must be a number above 0 and at most {lifetime:g}")
    if float(epsilon) > defaults["epsilon"]:
        raise WeakerThanDefault(
            f"epsilon {float(epsilon):g} is above the configured {defaults['epsilon']:g}: a "
            "release may only be stricter than the defaults (a larger ε adds less noise)"
        )
    parameters["epsilon"] = float(epsilon)
    contributions = parameters["contributions"]
    if not isinstance(contributions, dict) or set(contributions) != set(DEFAULT_CONTRIBUTIONS):
        raise InvalidParameters(
            "contributions must give " + ", ".join(sorted(DEFAULT_CONTRIBUTIONS))
        )
    parameters["contributions"] = {
        key: _whole(f"contributions.{key}", value, 1, 30)
        for key, value in sorted(contributions.items())
    }
    parameters["case_threshold"] = _not_below(
        "case_threshold", parameters["case_threshold"], defaults["case_threshold"], 1000
    )


def canonical_json(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parameters_digest(method: ReleaseMethod, parameters: Mapping[str, Any]) -> str:
    text = canonical_json({"method": method.value, "parameters": parameters})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
