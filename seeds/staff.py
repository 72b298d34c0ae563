"""Demo staff accounts for the embedded default: one per role, printed at every `make run`.

The credentials are written to `instance/demo-accounts.txt` (mode 0600) because the service
itself keeps only hashes; they exist so a newcomer can try the caseworker and official pages
against synthetic data. Refused in production, like the synthetic reports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyotp
from flask import current_app

from incident_service.auth import accounts, teams
from incident_service.constants import Role

DEMO_DOMAIN = "demo.invalid"
DEMO_ROLES = (Role.CASEWORKER, Role.SUPERVISOR, Role.OFFICIAL, Role.ADMIN)
CREDENTIALS_FILE = "demo-accounts.txt"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: Role
    one_time_password: str
    totp_secret: str


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
        account = accounts.create_user(email=email, role=role, organisation=organisation)
        if role.opens_reports:
            teams.grant_from_bootstrap(
                user=account.user, keys_dir=Path(current_app.config["KEYS_DIR"])
            )
        secret = pyotp.parse_uri(account.totp_uri).secret
        created.append(DemoAccount(email, role, account.one_time_password, secret))
    db.session.commit()
    known = {account.email: account for account in (_read(path) if path.exists() else [])}
    known.update({account.email: account for account in created})
    _write(path, list(known.values()))
    return list(known.values()), bool(created)


def _write(path: Path, demo_accounts: list[DemoAccount]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{a.email}\t{a.role.value}\t{a.one_time_password}\t{a.totp_secret}" for a in demo_accounts
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def _read(path: Path) -> list[DemoAccount]:
    result = []
    for line in path.read_text(encoding="utf-8").splitlines():
        email, role, password, secret = line.split("\t")
        result.append(DemoAccount(email, Role(role), password, secret))
    return result
