"""Forms of the staff login, first-login setup, key unlocking and account pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from incident_service.constants import Role

SECRET_FIELD_LIMIT = 1024


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=SECRET_FIELD_LIMIT)]
    )
    # Empty at the first login, which is made with the one-time password alone.
    code = StringField(_l("Code from the authenticator app"), validators=[Length(max=16)])


class SetupForm(FlaskForm):  # type: ignore[misc]
    # Not DataRequired: a missing code gets the service's own message, beside the field.
    code = StringField(_l("Code from the authenticator app"), validators=[Length(max=16)])
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=SECRET_FIELD_LIMIT)]
    )
    confirm_password = PasswordField(
        _l("New password again"), validators=[DataRequired(), Length(max=SECRET_FIELD_LIMIT)]
    )
    # Only for roles that hold a key; the view checks presence, the service checks strength.
    passphrase = PasswordField(_l("Key passphrase"), validators=[Length(max=SECRET_FIELD_LIMIT)])
    confirm_passphrase = PasswordField(
        _l("Key passphrase again"), validators=[Length(max=SECRET_FIELD_LIMIT)]
    )


class UnlockForm(FlaskForm):  # type: ignore[misc]
    passphrase = PasswordField(
        _l("Key passphrase"), validators=[DataRequired(), Length(max=SECRET_FIELD_LIMIT)]
    )


class RecoverForm(FlaskForm):  # type: ignore[misc]
    recovery_key = StringField(_l("Recovery key"), validators=[DataRequired(), Length(max=200)])
    passphrase = PasswordField(
        _l("New key passphrase"), validators=[DataRequired(), Length(max=SECRET_FIELD_LIMIT)]
    )
    confirm_passphrase = PasswordField(
        _l("New key passphrase again"),
        validators=[DataRequired(), Length(max=SECRET_FIELD_LIMIT)],
    )


class CreateAccountForm(FlaskForm):  # type: ignore[misc]
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, role.value) for role in Role],
        validators=[DataRequired()],
    )


class GrantForm(FlaskForm):  # type: ignore[misc]
    # Not DataRequired: a missing fingerprint is refused with its own message, not a 400.
    fingerprint = StringField(
        _l("Key fingerprint they read out to you"), validators=[Length(max=64)]
    )


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """A button that changes something: only the CSRF token travels."""
