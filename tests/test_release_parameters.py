"""Release parameters: can whoever asks for a release make its protection weaker than the
configured defaults (a lower threshold, a narrower protection width, a larger ε...)?"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_service.constants import ReleaseMethod
from incident_service.models import Release, db
from incident_service.releases.lifecycle import generate_release
from incident_service.releases.parameters import (
    InvalidParameters,
    WeakerThanDefault,
    default_parameters,
    normalise_parameters,
)
from tests.release_helpers import TODAY, content
from tests.statistics_factory import insert_records

pytestmark = pytest.mark.usefixtures("no_pdf_layout")


@pytest.mark.parametrize(
    ("method", "parameters", "named"),
    [
        ("suppression", {"threshold": 2, "protection_width": 2}, "threshold"),
        ("suppression", {"threshold": 9}, "threshold"),
        ("suppression", {"protection_width": 3}, "protection_width"),
        ("suppression", {"change_min_base": 5}, "change_min_base"),
        ("suppression", {"zero_sensitive_tables": []}, "zero_sensitive_tables"),
        ("dp", {"epsilon": 5.0}, "epsilon"),
        ("dp", {"case_threshold": 3}, "case_threshold"),
        ("dp", {"change_min_base": 10}, "change_min_base"),
    ],
)
def test_is_a_release_weaker_than_the_defaults_refused_naming_the_parameter(
    app_ctx, method, parameters, named
):
    """Asked for a threshold of 2 (or a wider ε...), is the release refused with a message
    that names the parameter, rather than made, or quietly made with another value?"""
    insert_records(40, months=["2024-11"], seed=71)
    with pytest.raises(WeakerThanDefault) as caught:
        generate_release(period="2024-11", method=method, parameters=parameters, today=TODAY)
    assert named in str(caught.value)
    assert "stricter" in str(caught.value)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Release)) == 0


def test_is_a_stricter_release_made_with_exactly_the_parameters_asked_for(app_ctx):
    """Raising the threshold is allowed, and the release states the value it used."""
    insert_records(40, months=["2024-11"], seed=72)
    release = generate_release(
        period="2024-11",
        parameters={
            "threshold": 15,
            "protection_width": 15,
            "zero_sensitive_tables": ["coercion", "vulnerable"],
        },
        today=TODAY,
    )
    used = content(release)["parameters"]
    assert used["threshold"] == 15 and used["protection_width"] == 15
    assert used["zero_sensitive_tables"] == ["coercion", "vulnerable"]


def test_does_the_command_line_refuse_a_lower_threshold(app):
    """An operator typing `--threshold 3`: refused, naming the threshold, nothing stored."""
    with app.app_context():
        insert_records(40, months=["2024-11"], seed=73)
    result = app.test_cli_runner().invoke(
        args=["summaries", "generate", "--period", "2024-11", "--threshold", "3"]
    )
    assert result.exit_code != 0
    assert "threshold 3 is below the configured 10" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Release)) == 0


WHOLE = st.integers(min_value=-5, max_value=2000)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    threshold=WHOLE,
    width=WHOLE,
    base=WHOLE,
    case_threshold=WHOLE,
    epsilon=st.floats(min_value=-1, max_value=20, allow_nan=False),
)
def test_can_any_accepted_parameters_protect_less_than_the_defaults(
    app_ctx, threshold, width, base, case_threshold, epsilon
):
    """Whatever numbers are asked for, the parameters a release is made with either are exactly
    those numbers and at least as strict as the configured defaults, or are refused."""
    for method, given_parameters in (
        (
            ReleaseMethod.SUPPRESSION,
            {"threshold": threshold, "protection_width": width, "change_min_base": base},
        ),
        (
            ReleaseMethod.DIFFERENTIAL_PRIVACY,
            {"epsilon": epsilon, "case_threshold": case_threshold, "change_min_base": base},
        ),
    ):
        defaults = default_parameters(method)
        try:
            used = normalise_parameters(method, given_parameters)
        except InvalidParameters:
            continue
        for name, asked in given_parameters.items():
            assert used[name] == asked  # never clamped
        assert used["change_min_base"] >= defaults["change_min_base"]
        if method is ReleaseMethod.SUPPRESSION:
            assert used["threshold"] >= app_ctx.config["SUPPRESSION_THRESHOLD"]
            assert used["protection_width"] >= app_ctx.config["SUPPRESSION_THRESHOLD"]
        else:
            assert used["case_threshold"] >= app_ctx.config["SUPPRESSION_THRESHOLD"]
            assert 0 < used["epsilon"] <= app_ctx.config["DP_RELEASE_EPSILON"]
