"""The file store: sealed evidence streams kept under opaque object names, behind one interface.

Two stores: a folder under the instance path (the embedded default) and an S3-compatible object
store (production). Both take a stream of sealed blocks and give one back, never holding a whole
file in memory. They only ever see sealed bytes; names are random and say nothing about the
report, the file or its type.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from flask import current_app

from incident_service.crypto.streams import Block

READ_BLOCK = 1024 * 1024
# S3 parts must be at least 5 MiB (except the last); 8 MiB keeps memory flat and requests few.
S3_PART_SIZE = 8 * 1024 * 1024
_NAME = re.compile(r"^[0-9a-f]{32}$")


class ObjectMissing(Exception):
    """No object of that name in the store."""


class InvalidObjectName(ValueError):
    """Object names are 32 lowercase hex digits, made by `new_object_name`."""


class EvidenceStore(Protocol):
    """What the service needs from a file store."""

    def put(self, name: str, blocks: Iterable[Block]) -> int:
        """Store the stream under `name` (replacing nothing: names are fresh); return its size.
        If the stream raises, nothing is left behind and the exception propagates."""
        ...

    def get(self, name: str) -> Iterator[bytes]:
        """The stored stream, in blocks; `ObjectMissing` if there is none."""
        ...

    def delete(self, name: str) -> None:
        """Remove the object; removing one that is not there is not an error."""
        ...

    def exists(self, name: str) -> bool: ...


def new_object_name() -> str:
    """128 random bits: a name that neither orders nor identifies anything."""
    return secrets.token_hex(16)


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidObjectName("not an object name this service makes")
    return name


def _start_of_today() -> float:
    today = dt.datetime.now(dt.UTC).date()
    return dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC).timestamp()


class LocalStore:
    """Objects as files in one folder (0700), each file 0600.

    File times are set to the start of the day (UTC): a file's time sits beside its name, and
    its name beside a report id in the database, so a finer time would date the report.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(root, 0o700)

    def _path(self, name: str) -> Path:
        return self.root / _checked(name)

    def put(self, name: str, blocks: Iterable[Block]) -> int:
        final = self._path(name)
        partial = self.root / f".{name}.{secrets.token_hex(4)}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        written = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                for block in blocks:
                    written += handle.write(block)
                handle.flush()
                os.fsync(handle.fileno())
            day = _start_of_today()
            os.utime(partial, (day, day))
            os.link(partial, final)  # fails rather than replace an existing object
        finally:
            partial.unlink(missing_ok=True)
        os.utime(self.root, (_start_of_today(), _start_of_today()))
        return written

    def get(self, name: str) -> Iterator[bytes]:
        path = self._path(name)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed by the generator below
        except FileNotFoundError:
            raise ObjectMissing(name) from None
        return _read_blocks(handle)

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()


def _read_blocks(handle: Any) -> Iterator[bytes]:
    with handle:
        while block := handle.read(READ_BLOCK):
            yield block


class S3Store:
    """Objects in one bucket of an S3-compatible store, written by streamed multipart upload."""

    def __init__(self, client: Any, bucket: str, *, part_size: int = S3_PART_SIZE) -> None:
        self.client = client
        self.bucket = bucket
        self.part_size = part_size

    def put(self, name: str, blocks: Iterable[Block]) -> int:
        key = _checked(name)
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        buffer = bytearray()
        written = 0
        try:
            for block in blocks:
                buffer += block
                written += len(block)
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        upload_id = self._begin(key)
                    parts.append(self._part(key, upload_id, len(parts) + 1, buffer))
                    buffer = bytearray()
            if upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer))
                return written
            if buffer or not parts:
                parts.append(self._part(key, upload_id, len(parts) + 1, buffer))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            if upload_id is not None:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return written

    def _begin(self, key: str) -> str:
        created = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
        return str(created["UploadId"])

    def _part(self, key: str, upload_id: str, number: int, data: bytearray) -> dict[str, Any]:
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=bytes(data)
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def get(self, name: str) -> Iterator[bytes]:
        key = _checked(name)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            raise ObjectMissing(name) from None
        body = answer["Body"]
        return _stream_body(body)

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=_checked(name))

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=_checked(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def _stream_body(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(READ_BLOCK)
    finally:
        body.close()


def s3_client(settings: Mapping[str, Any]) -> Any:
    """A boto3 client for the configured endpoint. Path-style addressing: self-hosted stores
    (SeaweedFS, MinIO) rarely have a wildcard DNS name per bucket."""
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(
        "s3",
        endpoint_url=settings.get("EVIDENCE_S3_ENDPOINT") or None,
        region_name=settings.get("EVIDENCE_S3_REGION") or "us-east-1",
        aws_access_key_id=settings.get("EVIDENCE_S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=settings.get("EVIDENCE_S3_SECRET_ACCESS_KEY") or None,
        config=BotoConfig(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        ),
    )


def store_from_settings(settings: Mapping[str, Any]) -> EvidenceStore:
    if settings.get("EVIDENCE_STORE") == "s3":
        return S3Store(s3_client(settings), str(settings["EVIDENCE_S3_BUCKET"]))
    folder = settings.get("EVIDENCE_DIR") or Path(str(settings["INSTANCE_PATH"])) / "evidence"
    return LocalStore(Path(folder))


def current_store() -> EvidenceStore:
    """The running app's file store, built once per app."""
    extensions = current_app.extensions
    store: EvidenceStore | None = extensions.get("incident_evidence_store")
    if store is None:
        store = store_from_settings(current_app.config)
        extensions["incident_evidence_store"] = store
    return store
