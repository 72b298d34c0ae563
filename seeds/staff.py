"""Demo staff accounts for the embedded default: one per role, printed at every `make run`.

The credentials are written to `instance/demo-accounts.txt` (mode 0600) because the service
itself keeps only hashes; they exist so a newcomer can try the caseworker and official pages
against synthetic data. Refused in production, like the synthetic reports.

The loader plays each demo person's own first login through the same services (authenticator,
password, key pair), so the accounts are ready to use and the caseworker and supervisor hold the
team key, granted from the bootstrap file to the fingerprint their setup showed.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pyotp
from flask import current_app

from incident_service.auth import accounts, enrolment, teams
from incident_service.constants import Role
from incident_service.models import Organisation

DEMO_DOMAIN = "demo.invalid"
DEMO_ROLES = (Role.CASEWORKER, Role.SUPERVISOR, Role.OFFICIAL, Role.ADMIN)
CREDENTIALS_FILE = "demo-accounts.txt"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: Role
    password: str
    totp_secret: str
    passphrase: str  # empty for roles that hold no key


def credentials_path() -> Path:
    return Path(current_app.instance_path) / CREDENTIALS_FILE


def load_demo_accounts() -> tuple[list[DemoAccount], bool]:
    """Create the demo accounts that are missing (no commit). Returns them and whether any
    were created. Accounts created before are read back from the credentials file."""
    from incident_service.models import db

    path = credentials_path()
    if path.exists() and all(
        accounts.find_user(f"{role.value}@{DEMO_DOMAIN}") for role in DEMO_ROLES
    ):
        return _read(path), False
    organisation = teams.ensure_organisation()
    created: list[DemoAccount] = []
    for role in DEMO_ROLES:
        email = f"{role.value}@{DEMO_DOMAIN}"
        if accounts.find_user(email) is not None:
            continue
        created.append(_set_up_demo_account(email, role, organisation))
    db.session.commit()
    known = {account.email: account for account in (_read(path) if path.exists() else [])}
    known.update({account.email: account for account in created})
    _write(path, list(known.values()))
    return list(known.values()), bool(created)


def _set_up_demo_account(email: str, role: Role, organisation: Organisation) -> DemoAccount:
    """Create the account and play its owner's first login (no commit)."""
    user = enrolment.create_user(email=email, role=role, organisation=organisation).user
    secret = accounts.begin_totp_enrolment(user)
    password = enrolment.new_one_time_password()
    passphrase = enrolment.new_one_time_password() if role.opens_reports else ""
    # The previous step's code, so that the code shown now still logs in straight away.
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    done = enrolment.complete_first_login(
        user=user,
        code=pyotp.TOTP(secret).at(earlier),
        new_password=password,
        confirm_password=password,
        passphrase=passphrase or None,
        confirm_passphrase=passphrase or None,
    )
    if done.fingerprint is not None:
        teams.grant_from_bootstrap(
            user=user,
            keys_dir=Path(current_app.config["KEYS_DIR"]),
            typed_fingerprint=done.fingerprint,
        )
    return DemoAccount(email, role, password, secret, passphrase)


def _write(path: Path, demo_accounts: list[DemoAccount]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{a.email}\t{a.role.value}\t{a.password}\t{a.totp_secret}\t{a.passphrase}"
        for a in demo_accounts
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def _read(path: Path) -> list[DemoAccount]:
    result = []
    for line in path.read_text(encoding="utf-8").splitlines():
        # Files written before demo accounts were set up at seeding have no passphrase column.
        email, role, password, secret, *rest = line.split("\t")
        result.append(DemoAccount(email, Role(role), password, secret, rest[0] if rest else ""))
    return result
