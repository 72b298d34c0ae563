"""RFC 3161 trusted timestamps: the request for a message's SHA-256, and checking the token a
timestamping authority (TSA) returns, offline, from its bytes alone.

A token is a CMS SignedData whose content is a TSTInfo (the hashed message, the time, our
nonce); the TSA signs the SHA-256 of that content through the signed attributes. Checking it
means: the content is a TSTInfo for our digest (and nonce), the signed digest attribute matches
the content, the signature verifies under the certificate in the token, that certificate is for
timestamping, and, when one is pinned, it is the TSA certificate we configured.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from .errors import CryptoError

GRANTED = ("granted", "granted_with_mods")


class TimestampInvalid(CryptoError):
    """A timestamp response or token does not show what it should; the message says which part."""


@dataclass(frozen=True)
class TimestampRequest:
    der: bytes
    digest: bytes
    nonce: int


@dataclass(frozen=True)
class VerifiedTimestamp:
    gen_time: dt.datetime
    serial_number: int
    tsa_subject: str


def timestamp_request(message: bytes) -> TimestampRequest:
    """A TimeStampReq for SHA-256(message), asking for the TSA's certificate in the token."""
    digest = hashlib.sha256(message).digest()
    nonce = secrets.randbits(63)
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return TimestampRequest(request.dump(), digest, nonce)


def token_from_response(
    response: bytes, request: TimestampRequest, *, tsa_certificate: bytes | None = None
) -> bytes:
    """The token in a TSA's answer to `request`, checked; raises `TimestampInvalid`."""
    try:
        answer = tsp.TimeStampResp.load(response)
        status = answer["status"]["status"].native
        token = answer["time_stamp_token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise TimestampInvalid("not a timestamp response") from exc
    if status not in GRANTED or token.native is None:
        raise TimestampInvalid(f"the TSA did not grant the timestamp ({status})")
    der: bytes = token.dump()
    verify_token(der, digest=request.digest, nonce=request.nonce, tsa_certificate=tsa_certificate)
    return der


def verify_token(
    token: bytes,
    *,
    digest: bytes,
    nonce: int | None = None,
    tsa_certificate: bytes | None = None,
) -> VerifiedTimestamp:
    """Check a token for a SHA-256 `digest`; `tsa_certificate` (DER) pins the signer."""
    try:
        signed = _signed_data(token)
        content = signed["encap_content_info"]["content"].contents
        info = tsp.TSTInfo.load(content)
        imprint = info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        hashed = imprint["hashed_message"].native
        signer = signed["signer_infos"][0]
        certificate = _signer_certificate(signed, signer)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise TimestampInvalid("the token is not a well-formed timestamp") from exc
    if algorithm != "sha256" or not hmac.compare_digest(hashed, digest):
        raise TimestampInvalid("the token stamps another message")
    if nonce is not None and info["nonce"].native != nonce:
        raise TimestampInvalid("the token answers another request (nonce)")
    if tsa_certificate is not None and certificate.public_bytes(Encoding.DER) != tsa_certificate:
        raise TimestampInvalid("the token is signed by another TSA than the one configured")
    _check_timestamping_usage(certificate)
    _check_signature(signer, content, certificate)
    return VerifiedTimestamp(
        gen_time=info["gen_time"].native,
        serial_number=int(info["serial_number"].native),
        tsa_subject=certificate.subject.rfc4514_string(),
    )


def verify_message_token(
    token: bytes, message: bytes, *, tsa_certificate: bytes | None = None
) -> VerifiedTimestamp:
    """Check a token stamps SHA-256(message)."""
    digest = hashlib.sha256(message).digest()
    return verify_token(token, digest=digest, tsa_certificate=tsa_certificate)


def _signed_data(token: bytes) -> cms.SignedData:
    info = cms.ContentInfo.load(token)
    if info["content_type"].native != "signed_data":
        raise TimestampInvalid("the token is not CMS signed data")
    signed: cms.SignedData = info["content"]
    if signed["encap_content_info"]["content_type"].native != "tst_info":
        raise TimestampInvalid("the token does not hold timestamp information")
    return signed


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate:
    sid = signer["sid"]
    if sid.name != "issuer_and_serial_number":
        raise TimestampInvalid("the signer is not named by issuer and serial number")
    serial = sid.chosen["serial_number"].native
    for choice in signed["certificates"] or []:
        candidate = choice.chosen
        if candidate.serial_number == serial and candidate.issuer == sid.chosen["issuer"]:
            return x509.load_der_x509_certificate(candidate.dump())
    raise TimestampInvalid("the token does not carry its signer's certificate")


def _check_timestamping_usage(certificate: x509.Certificate) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise TimestampInvalid("the signer's certificate is not for timestamping") from None
    if ExtendedKeyUsageOID.TIME_STAMPING not in usage.value:
        raise TimestampInvalid("the signer's certificate is not for timestamping")


def _check_signature(signer: cms.SignerInfo, content: bytes, certificate: x509.Certificate) -> None:
    if signer["digest_algorithm"]["algorithm"].native != "sha256":
        raise TimestampInvalid("the token is not signed over SHA-256")
    attributes = signer["signed_attrs"]
    digests = [a["values"][0].native for a in attributes if a["type"].native == "message_digest"]
    if len(digests) != 1 or not hmac.compare_digest(digests[0], hashlib.sha256(content).digest()):
        raise TimestampInvalid("the signed digest does not match the timestamp information")
    # The signature covers the attributes encoded as a SET, not with their implicit [0] tag.
    signed_bytes = b"\x31" + attributes.dump()[1:]
    signature = signer["signature"].native
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed_bytes, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_bytes, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signed_bytes)
        else:
            raise TimestampInvalid("the TSA's key type is not supported")
    except InvalidSignature:
        raise TimestampInvalid("the TSA's signature does not verify") from None


def certificate_der_from_pem(pem: bytes) -> bytes:
    """A PEM certificate file's DER bytes (the form `tsa_certificate` pins)."""
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
