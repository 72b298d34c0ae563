"""Staff log-in and log-out, first-login setup, unlocking the key, and the admin's account list."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from incident_service import audit
from incident_service.auth import access, accounts, enrolment, sessions
from incident_service.auth.access import (
    ALL_STAFF,
    CASE_ROLES,
    SESSION_UNLOCK_KEY,
    StaffPrincipal,
    current_staff,
    require_roles,
    safe_next,
)
from incident_service.auth.argon2_budget import Argon2Busy
from incident_service.auth.forms import (
    ConfirmForm,
    CreateAccountForm,
    LoginForm,
    RecoverForm,
    SetupForm,
    UnlockForm,
)
from incident_service.constants import Role
from incident_service.crypto import WrongPassphrase
from incident_service.crypto.errors import CryptoError
from incident_service.extensions import limiter
from incident_service.models import Organisation, User, db
from incident_service.ratelimit import SlotsTaken, shared_slot

blueprint = Blueprint("auth", __name__)


def login_refused() -> str:
    """The same words for every refusal: an unknown address, a wrong password, a wrong, stale
    or reused code, a throttled account and a full Argon2 budget must look identical to whoever
    is guessing."""
    return str(_("Those details did not work. Check them and try again in a minute."))


def busy() -> str:
    """The Argon2 budget or the login slots have no room now: a flood, or many at once."""
    return str(_("The server is busy checking other logins. Try again in a minute."))


def home_for(principal: StaffPrincipal) -> str:
    if principal.role.opens_reports:
        return url_for("cases.queue")
    if principal.role is Role.ADMIN:
        return url_for("auth.accounts_list")
    return "/summaries"


@blueprint.get("/staff")
@require_roles(*ALL_STAFF)
def home() -> ResponseReturnValue:
    return redirect(home_for(current_staff()))


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm()
    if request.method != "POST":
        return render_template("staff/auth/login.html", form=form)
    # At most LOGIN_MAX_CONCURRENT logins are checked at once across the deployment; the rest
    # are turned away before any form, database or key work, so that a flood of logins from
    # many addresses leaves the other web workers to reporters (docs/decisions.md).
    try:
        with shared_slot("login", capacity=int(current_app.config["LOGIN_MAX_CONCURRENT"])):
            return _check_login(form)
    except SlotsTaken:
        return render_template("staff/auth/login.html", form=form, refused=busy()), 429


def _check_login(form: LoginForm) -> ResponseReturnValue:
    if not form.validate_on_submit():
        return render_template("staff/auth/login.html", form=form), 400
    try:
        result = accounts.authenticate(
            email=form.email.data, password=form.password.data, code=form.code.data or ""
        )
    except accounts.LoginRefused:
        db.session.commit()  # keep the failure count and its audit entry
        form.code.data = ""  # a code is single-use; the email stays as typed
        return render_template("staff/auth/login.html", form=form, refused=login_refused()), 200
    next_target = safe_next(request.args.get("next"))
    session.clear()  # no value from before the login survives into the staff session
    started = sessions.start_session(user_id=result.user.id)
    principal = StaffPrincipal(
        user=result.user, staff_session=started.staff_session, token=started.secrets.token
    )
    session[SESSION_UNLOCK_KEY] = started.secrets.unlock_key
    login_user(principal)
    db.session.commit()
    if principal.must_change_password:
        return redirect(url_for("auth.setup"))
    if principal.holds_key:
        return redirect(url_for("auth.unlock", next=next_target))
    return redirect(next_target or home_for(principal))


@blueprint.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    form = ConfirmForm()
    if request.method == "GET" or not current_user.is_authenticated:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return render_template("staff/auth/logout.html", form=form)
    if not form.validate_on_submit():
        abort(400)
    principal = current_staff()
    sessions.end_session(token=principal.get_id())
    audit.record("logout", actor_id=principal.id, object_type="user", object_id=str(principal.id))
    db.session.commit()
    logout_user()
    session.clear()
    response = redirect(url_for("auth.login"))
    # Ask the browser to drop anything this site left behind on a shared office computer.
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@blueprint.route("/login/setup", methods=["GET", "POST"])
@require_roles(*ALL_STAFF)
def setup() -> ResponseReturnValue:
    principal = current_staff()
    if not principal.must_change_password:
        return redirect(url_for("auth.home"))
    opens_reports = principal.role.opens_reports
    form = SetupForm()
    error = None
    if form.validate_on_submit():
        try:
            done = enrolment.complete_first_login(
                user=principal.user,
                code=form.code.data or "",
                new_password=form.password.data,
                confirm_password=form.confirm_password.data,
                passphrase=form.passphrase.data if opens_reports else None,
                confirm_passphrase=form.confirm_passphrase.data if opens_reports else None,
                keep_session_id=principal.staff_session.id,
            )
        except enrolment.WrongSetupCode:
            db.session.rollback()
            error = _(
                "That code is not the one your authenticator app shows now. Check that you "
                "added the key shown on this page, and type the newest code."
            )
        except Argon2Busy:
            db.session.rollback()
            error = busy()
        except accounts.AccountError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            if done.user_key is not None:
                access.remember_keys(sessions.UnlockedKeys(user_key=done.user_key, team_key=None))
            db.session.commit()
            # Shown in this response only: the recovery key is stored nowhere in the clear.
            # The fingerprint is public and shown again while the team key is not granted.
            return render_template(
                "staff/auth/recovery_key.html",
                recovery_key=done.recovery_key,
                fingerprint=done.fingerprint,
                next_url=home_for(principal),
            )
    status = 400 if request.method == "POST" else 200
    return render_template(
        "staff/auth/setup.html",
        form=form,
        error=error,
        opens_reports=opens_reports,
        totp=enrolment.pending_totp(principal.user),
    ), status


@blueprint.route("/unlock", methods=["GET", "POST"])
@require_roles(*CASE_ROLES)
@limiter.limit("20 per minute", methods=["POST"])
def unlock() -> ResponseReturnValue:
    principal = current_staff()
    next_target = safe_next(request.args.get("next")) or url_for("cases.queue")
    form = UnlockForm()
    error = None
    if form.validate_on_submit():
        try:
            user_key = accounts.unlock_user_key(
                user=principal.user, passphrase=form.passphrase.data
            )
        except Argon2Busy:
            error = busy()
        except (WrongPassphrase, accounts.KeyNotSetUp):
            audit.record(
                "key.unlock_failure",
                actor_id=principal.id,
                object_type="user",
                object_id=str(principal.id),
            )
            db.session.commit()
            error = _("That passphrase did not unlock your key.")
        else:
            team_key = accounts.team_key_for(user=principal.user, user_key=user_key)
            access.remember_keys(sessions.UnlockedKeys(user_key=user_key, team_key=team_key))
            audit.record(
                "key.unlock",
                actor_id=principal.id,
                object_type="user",
                object_id=str(principal.id),
                detail={"team_key": team_key is not None},
            )
            db.session.commit()
            return redirect(next_target)
    return render_template("staff/auth/unlock.html", form=form, error=error, next=next_target)


@blueprint.route("/unlock/recover", methods=["GET", "POST"])
@require_roles(*CASE_ROLES)
@limiter.limit("10 per minute", methods=["POST"])
def recover() -> ResponseReturnValue:
    principal = current_staff()
    form = RecoverForm()
    error = None
    if form.validate_on_submit():
        try:
            user_key = accounts.recover_user_key(
                user=principal.user,
                recovery_key=form.recovery_key.data,
                new_passphrase=form.passphrase.data,
                confirm_passphrase=form.confirm_passphrase.data,
            )
        except (CryptoError, accounts.KeyNotSetUp):
            db.session.rollback()
            error = _("That recovery key did not open your key.")
        except Argon2Busy:
            db.session.rollback()
            error = busy()
        except accounts.AccountError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            team_key = accounts.team_key_for(user=principal.user, user_key=user_key)
            access.remember_keys(sessions.UnlockedKeys(user_key=user_key, team_key=team_key))
            db.session.commit()
            flash(_("Your key has a new passphrase and is unlocked."), "ok")
            return redirect(url_for("cases.queue"))
    return render_template("staff/auth/recover.html", form=form, error=error)


# --------------------------------------------------------------------------------------------
# Accounts (admin): managing people, never reading reports


def _organisation_users(organisation_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.organisation_id == organisation_id).order_by(User.email)
        )
    )


@blueprint.get("/accounts")
@require_roles(Role.ADMIN)
def accounts_list() -> ResponseReturnValue:
    principal = current_staff()
    return render_template(
        "staff/auth/accounts.html",
        users=_organisation_users(principal.organisation_id),
        form=CreateAccountForm(),
        confirm=ConfirmForm(),
    )


@blueprint.post("/accounts")
@require_roles(Role.ADMIN)
def accounts_create() -> ResponseReturnValue:
    principal = current_staff()
    form = CreateAccountForm()
    if not form.validate_on_submit():
        return render_template(
            "staff/auth/accounts.html",
            users=_organisation_users(principal.organisation_id),
            form=form,
            confirm=ConfirmForm(),
        ), 400
    organisation = db.session.get_one(Organisation, principal.organisation_id)
    try:
        created = enrolment.create_user(
            email=form.email.data, role=Role(form.role.data), organisation=organisation
        )
    except accounts.AccountError as exc:
        db.session.rollback()
        return render_template(
            "staff/auth/accounts.html",
            users=_organisation_users(principal.organisation_id),
            form=form,
            confirm=ConfirmForm(),
            error=str(exc),
        ), 400
    db.session.commit()
    # The one-time password only: the authenticator and the key pair are made at the new
    # person's own first login, so whoever creates an account never holds either.
    return render_template(
        "staff/auth/account_created.html",
        email=created.user.email,
        role=created.user.role,
        one_time_password=created.one_time_password,
        needs_grant=Role(created.user.role).opens_reports,
    )


@blueprint.post("/accounts/<int:user_id>/deactivate")
@require_roles(Role.ADMIN)
def accounts_deactivate(user_id: int) -> ResponseReturnValue:
    principal = current_staff()
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None or user.organisation_id != principal.organisation_id:
        abort(404)
    if user.id == principal.id:
        flash(_("You cannot deactivate your own account."), "error")
        return redirect(url_for("auth.accounts_list"))
    accounts.deactivate_user(user=user, actor_id=principal.id)
    db.session.commit()
    flash(_("Account deactivated; its sessions have ended."), "ok")
    return redirect(url_for("auth.accounts_list"))
