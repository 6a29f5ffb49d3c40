"""The exports bucket (minio SDK): where each service writes its part of a client's data export
and where the owner of the export assembles the ZIP. The SDK blocks: every call runs in a thread.
Bodies are streamed (multipart upload of unknown length, reads in chunks): an export of a large
dossier never sits whole in a process's memory."""

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, BinaryIO, Protocol, TypeVar, cast

from minio.error import S3Error
from pydantic import BaseModel

from libs.servicekit.buckets import MISSING_OBJECT_CODES, Bucket
from libs.servicekit.logs import get_logger

T = TypeVar("T")
log = get_logger(__name__)
# The part size of a multipart upload: what a streamed upload holds in memory at most.
PART_BYTES = 8 * 1024 * 1024
READ_CHUNK_BYTES = 1024 * 1024


class Readable(Protocol):
    """A body to read in chunks (a file, a pipe, an HTTP response)."""

    def read(self, amt: int | None = ..., /) -> bytes: ...


class ExportStorageSettings(BaseModel):
    """Settings of the exports bucket every service writes to (shared `MYBROKER_EXPORT_S3_*`
    variables: one bucket, one prefix per export)."""

    export_s3_endpoint: str = "http://127.0.0.1:8333"
    export_s3_access_key: str = ""
    export_s3_secret_key: str = ""
    export_s3_bucket: str = "mybroker-exports"
    export_s3_region: str = "us-east-1"
    export_s3_timeout_seconds: float = 30.0


class ExportStorage(Bucket):
    """One bucket holding the parts and the ZIPs of the data exports."""

    what = "export store"

    @classmethod
    def from_settings(cls, settings: Any) -> "ExportStorage":
        """The exports bucket of a service's settings (which include ExportStorageSettings)."""
        return cls(endpoint=settings.export_s3_endpoint,
                   access_key=settings.export_s3_access_key,
                   secret_key=settings.export_s3_secret_key,
                   region=settings.export_s3_region, bucket=settings.export_s3_bucket,
                   timeout_seconds=settings.export_s3_timeout_seconds)

    async def put_bytes(self, key: str, body: bytes, content_type: str) -> int:
        """Store a small body (a part's JSON, a schema); its size."""
        await self._run(lambda: self._client.put_object(
            self.bucket, key, io.BytesIO(body), len(body), content_type=content_type))
        return len(body)

    def put_stream_blocking(self, key: str, source: Readable, content_type: str,
                            length: int = -1) -> None:
        """Store what `source` yields, in parts of PART_BYTES (call it in a thread)."""
        # One part in flight: memory stays at about one part whatever the size (the SDK's
        # default of three parallel uploads held three parts, and copies of each, at once).
        self._client.put_object(self.bucket, key, cast(BinaryIO, source), length,
                                content_type=content_type, part_size=PART_BYTES,
                                num_parallel_uploads=1)

    async def put_stream(self, key: str, source: Readable, content_type: str,
                         length: int = -1) -> None:
        """Store what `source` yields, streamed (a multipart upload when large)."""
        await self._run(lambda: self.put_stream_blocking(key, source, content_type, length))

    def read_chunks_blocking(self, key: str) -> Iterator[bytes]:
        """The object's body in chunks (call it in a thread)."""
        response = self._client.get_object(self.bucket, key)
        try:
            yield from response.stream(READ_CHUNK_BYTES)
        finally:
            response.close()
            response.release_conn()

    async def read_bytes(self, key: str) -> bytes | None:
        """A small object's body (a part's JSON), None when absent."""

        def read() -> bytes | None:
            try:
                response = self._client.get_object(self.bucket, key)
            except S3Error as error:
                if error.code in MISSING_OBJECT_CODES:
                    return None
                raise
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await self._run(read)

    async def stored_size(self, key: str) -> int | None:
        """The size of the stored object, None when there is none."""

        def stat() -> int | None:
            try:
                size = self._client.stat_object(self.bucket, key).size
            except S3Error as error:
                if error.code in MISSING_OBJECT_CODES:
                    return None
                raise
            return int(size) if size is not None else None

        return await self._run(stat)

    async def presign_get(self, key: str, lifetime: timedelta) -> str:
        """A URL the gateway streams the object from, valid for `lifetime`."""
        return await self._run(
            lambda: self._client.presigned_get_object(self.bucket, key, expires=lifetime))

    async def remove_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; how many there were."""

        def remove() -> int:
            keys = [str(found.object_name) for found in
                    self._client.list_objects(self.bucket, prefix=prefix, recursive=True)]
            for key in keys:
                self._client.remove_object(self.bucket, key)
            return len(keys)

        return await self._run(remove)
