"""Key files on disk: generating them, loading the ones a process needs, refusing unsafe ones.

Each key is one small JSON file in `KEYS_DIR` with mode 0600. Which files a process loads
depends on its role: the web process holds public keys, HMAC keys and the dossier-signing key;
the (statistics) worker holds the statistics, signing and withdrawal keys; the evidence worker
holds the evidence key, which opens evidence files to make their clean copies. The embedded
default (`PROCESS_ROLE=all`) holds all of them, which is why it generates them marked
`"development": true` and production refuses those.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from flask import current_app

from incident_service.crypto import (
    RecipientPrivateKey,
    RecipientPublicKey,
    SigningKey,
    SuiteId,
    SymmetricKey,
    VerifyKey,
)
from incident_service.settings import UnsafeConfiguration

T = TypeVar("T")

SYMMETRIC_KEYS = (
    "secret",
    "receipt-pepper",
    "index",
    "totp",
    "withdrawal",
    "audit",
    "address",
)
WEB_FILES = (
    "receipt-pepper.key",
    "address.key",
    "index.key",
    "totp.key",
    "audit.key",
    "statistics.pub",
    "signing.pub",
    "evidence.pub",
    "dossier.key",
    "dossier.pub",
)
WORKER_FILES = (
    "statistics.key",
    "signing.key",
    "withdrawal.key",
    "audit.key",
    "statistics.pub",
    "signing.pub",
)
# The evidence worker opens files (to make clean copies) and writes custody entries; it never
# sees a report's sections, so it holds neither the statistics key nor the signing key.
EVIDENCE_FILES = (
    "evidence.key",
    "evidence.pub",
    "audit.key",
)
FILES_BY_ROLE = {
    "web": WEB_FILES,
    "worker": WORKER_FILES,
    "evidence": EVIDENCE_FILES,
    "all": tuple(dict.fromkeys(WEB_FILES + WORKER_FILES + EVIDENCE_FILES)),
}
# Private keys each serving role holds; production refuses any other role's beside it.
PRIVATE_FILES_BY_ROLE = {
    "web": ("dossier.key",),
    "worker": ("statistics.key", "signing.key", "withdrawal.key"),
    "evidence": ("evidence.key",),
}
# Private keys that must never sit beside the web process.
WORKER_ONLY_FILES = ("statistics.key", "signing.key", "withdrawal.key", "evidence.key")

# Key pairs generated as NAME.key and NAME.pub: HPKE recipients, then Ed25519 signers.
RECIPIENT_PAIRS = ("statistics", "evidence")
SIGNING_PAIRS = ("signing", "dossier")

DEVELOPMENT_WARNING = (
    "USING DEVELOPMENT KEYS from {path}. They were generated on this machine for the embedded "
    "default and are marked as such; production refuses to start with them."
)


class KeyFileMissing(Exception):
    def __init__(self, path: Path) -> None:
        super().__init__(f"key file missing: {path}")
        self.path = path


@dataclass
class KeyRing:
    """The keys this process holds. Missing members are keys this role must not have."""

    keys_dir: Path
    development: bool
    receipt_pepper: SymmetricKey | None = None
    index_key: SymmetricKey | None = None
    totp_key: SymmetricKey | None = None
    withdrawal_key: SymmetricKey | None = None
    audit_key: SymmetricKey | None = None
    # Keys the daily hash of a client's address (rate limits); never leaves the web's key files.
    address_key: SymmetricKey | None = None
    statistics_public: RecipientPublicKey | None = None
    statistics_private: RecipientPrivateKey | None = None
    signing_key: SigningKey | None = None
    verify_key: VerifyKey | None = None
    # Evidence files' content keys are sealed to it besides the team key (evidence worker only).
    evidence_public: RecipientPublicKey | None = None
    evidence_private: RecipientPrivateKey | None = None
    # Signs referral dossiers on the web (docs/decisions.md: why not the worker's key).
    dossier_key: SigningKey | None = None
    dossier_verify_key: VerifyKey | None = None
    secret_key: str | None = None
    loaded: list[str] = field(default_factory=list)

    def require_pepper(self) -> SymmetricKey:
        return _required(self.receipt_pepper, "receipt-pepper.key")

    def require_index_key(self) -> SymmetricKey:
        return _required(self.index_key, "index.key")

    def require_totp_key(self) -> SymmetricKey:
        return _required(self.totp_key, "totp.key")

    def require_withdrawal_key(self) -> SymmetricKey:
        return _required(self.withdrawal_key, "withdrawal.key")

    def require_audit_key(self) -> SymmetricKey:
        return _required(self.audit_key, "audit.key")

    def require_address_key(self) -> SymmetricKey:
        return _required(self.address_key, "address.key")

    def require_statistics_public(self) -> RecipientPublicKey:
        return _required(self.statistics_public, "statistics.pub")

    def require_statistics_private(self) -> RecipientPrivateKey:
        return _required(self.statistics_private, "statistics.key")

    def require_signing_key(self) -> SigningKey:
        return _required(self.signing_key, "signing.key")

    def require_verify_key(self) -> VerifyKey:
        return _required(self.verify_key, "signing.pub")

    def require_evidence_public(self) -> RecipientPublicKey:
        return _required(self.evidence_public, "evidence.pub")

    def require_evidence_private(self) -> RecipientPrivateKey:
        return _required(self.evidence_private, "evidence.key")

    def require_dossier_key(self) -> SigningKey:
        return _required(self.dossier_key, "dossier.key")

    def require_dossier_verify_key(self) -> VerifyKey:
        return _required(self.dossier_verify_key, "dossier.pub")


def current_keyring() -> KeyRing:
    """The running app's key ring (loaded once by `create_app`): the one way code reaches keys."""
    ring: KeyRing = current_app.extensions["incident_keys"]
    return ring


def _required(value: T | None, name: str) -> T:
    if value is None:
        raise KeyFileMissing(Path(name))
    return value


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _write_private(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")


def _document(kind: str, name: str, development: bool, **fields: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "development": development,
        "created": dt.date.today().isoformat(),
        **fields,
    }


def generate_keys(keys_dir: Path, *, suite: SuiteId, development: bool) -> list[str]:
    """Create every key file that does not exist yet; return the names created."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    created: list[str] = []
    for name in SYMMETRIC_KEYS:
        path = keys_dir / f"{name}.key"
        if not path.exists():
            secret = secrets.token_bytes(32)
            _write_private(path, _document("symmetric", name, development, secret=_b64(secret)))
            created.append(path.name)
    for name in RECIPIENT_PAIRS:
        created += _generate_recipient_pair(keys_dir, name, suite=suite, development=development)
    for name in SIGNING_PAIRS:
        created += _generate_signing_pair(keys_dir, name, development=development)
    return created


def _generate_recipient_pair(
    keys_dir: Path, name: str, *, suite: SuiteId, development: bool
) -> list[str]:
    """`NAME.key` (HPKE private) and `NAME.pub`, each made if missing."""
    created: list[str] = []
    private_path = keys_dir / f"{name}.key"
    if not private_path.exists():
        key = RecipientPrivateKey.generate(suite)
        _write_private(
            private_path,
            _document(
                "hpke-private",
                name,
                development,
                suite=suite.label,
                key_id=key.key_id.hex(),
                private=_b64(key.private_bytes),
                public=_b64(key.public.public_bytes),
            ),
        )
        created.append(private_path.name)
    public_path = keys_dir / f"{name}.pub"
    if not public_path.exists():
        private = _load_recipient_private(private_path)
        _write_private(
            public_path,
            _document(
                "hpke-public",
                name,
                development,
                suite=private.suite.label,
                key_id=private.key_id.hex(),
                public=_b64(private.public.public_bytes),
            ),
        )
        created.append(public_path.name)
    return created


def _generate_signing_pair(keys_dir: Path, name: str, *, development: bool) -> list[str]:
    """`NAME.key` (Ed25519 private) and `NAME.pub`, each made if missing."""
    created: list[str] = []
    private_path = keys_dir / f"{name}.key"
    if not private_path.exists():
        signing = SigningKey.generate()
        _write_private(
            private_path,
            _document(
                "ed25519-private",
                name,
                development,
                key_id=signing.verify_key.key_id.hex(),
                private=_b64(signing.private_bytes),
                public=_b64(signing.verify_key.public_bytes),
            ),
        )
        created.append(private_path.name)
    public_path = keys_dir / f"{name}.pub"
    if not public_path.exists():
        verify = _load_signing(private_path).verify_key
        _write_private(
            public_path,
            _document(
                "ed25519-public",
                name,
                development,
                key_id=verify.key_id.hex(),
                public=_b64(verify.public_bytes),
            ),
        )
        created.append(public_path.name)
    return created


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise KeyFileMissing(path)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _load_symmetric(path: Path) -> SymmetricKey:
    document = _read(path)
    return SymmetricKey(document["name"], _unb64(document["secret"]))


def _load_recipient_private(path: Path) -> RecipientPrivateKey:
    document = _read(path)
    return RecipientPrivateKey.from_private_bytes(
        SuiteId.from_name(document["suite"]), _unb64(document["private"])
    )


def _load_recipient_public(path: Path) -> RecipientPublicKey:
    document = _read(path)
    return RecipientPublicKey(SuiteId.from_name(document["suite"]), _unb64(document["public"]))


def _load_signing(path: Path) -> SigningKey:
    return SigningKey(_unb64(_read(path)["private"]))


def _load_verify(path: Path) -> VerifyKey:
    return VerifyKey(_unb64(_read(path)["public"]))


def is_development_file(path: Path) -> bool:
    return bool(_read(path).get("development", False))


def load_keyring(keys_dir: Path, *, role: str) -> KeyRing:
    """Load the files `role` needs. Files for other roles are not read even if present."""
    wanted = set(FILES_BY_ROLE[role])
    ring = KeyRing(keys_dir=keys_dir, development=False)
    loaders = {
        "receipt-pepper.key": ("receipt_pepper", _load_symmetric),
        "index.key": ("index_key", _load_symmetric),
        "totp.key": ("totp_key", _load_symmetric),
        "withdrawal.key": ("withdrawal_key", _load_symmetric),
        "audit.key": ("audit_key", _load_symmetric),
        "address.key": ("address_key", _load_symmetric),
        "statistics.pub": ("statistics_public", _load_recipient_public),
        "statistics.key": ("statistics_private", _load_recipient_private),
        "signing.key": ("signing_key", _load_signing),
        "signing.pub": ("verify_key", _load_verify),
        "evidence.pub": ("evidence_public", _load_recipient_public),
        "evidence.key": ("evidence_private", _load_recipient_private),
        "dossier.key": ("dossier_key", _load_signing),
        "dossier.pub": ("dossier_verify_key", _load_verify),
    }
    for filename, (attribute, loader) in loaders.items():
        if filename in wanted:
            path = keys_dir / filename
            setattr(ring, attribute, loader(path))
            ring.loaded.append(filename)
            ring.development = ring.development or is_development_file(path)
    secret_file = keys_dir / "secret.key"
    if secret_file.exists():
        ring.secret_key = _load_symmetric(secret_file).secret.hex()
    return ring


def check_production_keys(keys_dir: Path, *, role: str) -> None:
    """Refuse missing key files, development keys, and another role's private keys beside a
    serving process (the worker's beside the web, the evidence key beside either, ...)."""
    for filename in FILES_BY_ROLE[role]:
        path = keys_dir / filename
        if not path.exists():
            raise UnsafeConfiguration("KEYS_DIR", f"missing key file {path}")
        if is_development_file(path):
            raise UnsafeConfiguration(
                "KEYS_DIR", f"{path} is a development key; generate production keys"
            )
    for other, filenames in PRIVATE_FILES_BY_ROLE.items():
        if role == "all" or other == role:
            continue
        for filename in filenames:
            if (keys_dir / filename).exists():
                raise UnsafeConfiguration(
                    "KEYS_DIR",
                    f"{filename} must live with the {_ROLE_NAMES[other]} only, not the "
                    f"{_ROLE_NAMES[role]}",
                )
    if role in PRIVATE_FILES_BY_ROLE:
        for bootstrap in sorted(keys_dir.glob("team-*.key")):
            raise UnsafeConfiguration(
                "KEYS_DIR",
                f"{bootstrap.name} holds a team private key in the clear; grant it to a "
                "supervisor and move it offline before serving",
            )


_ROLE_NAMES = {"web": "web process", "worker": "worker", "evidence": "evidence worker"}


def warn_development(keys_dir: Path) -> None:
    # Printed rather than logged: it must reach the terminal of whoever started the process,
    # whatever logging is configured, and once only.
    print(f"\n*** WARNING: {DEVELOPMENT_WARNING.format(path=keys_dir)} ***\n", file=sys.stderr)
