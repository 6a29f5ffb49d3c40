"""The documents service's S3 access (minio SDK). The SDK blocks, so every call runs in a thread."""

import asyncio
import hashlib
import time
from datetime import datetime, timedelta
from pathlib import Path

import urllib3
from minio.error import S3Error

from libs.servicekit.buckets import MISSING_OBJECT_CODES, Bucket
from libs.servicekit.logs import get_logger

log = get_logger(__name__)
HASH_CHUNK_BYTES = 1024 * 1024


def _total_size(content_range: str | None) -> int | None:
    """The whole object's size of a Content-Range header (`bytes 0-8191/12345`)."""
    if not content_range or "/" not in content_range:
        return None
    total = content_range.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


class ObjectStorage(Bucket):
    """One bucket holding the bodies of the documents; presigns links for the gateway."""

    what = "document store"

    async def presign_put(self, key: str, lifetime: timedelta) -> str:
        """A URL the gateway PUTs the body to, valid for `lifetime`."""
        return await self._run(
            lambda: self._client.presigned_put_object(self.bucket, key, expires=lifetime)
        )

    async def presign_get(self, key: str, lifetime: timedelta) -> str:
        """A URL the gateway GETs the body from, valid for `lifetime`."""
        return await self._run(
            lambda: self._client.presigned_get_object(self.bucket, key, expires=lifetime)
        )

    async def stored_size(self, key: str) -> int | None:
        """The size in bytes of the stored object, or None when nothing was stored."""

        def stat() -> int | None:
            try:
                size = self._client.stat_object(self.bucket, key).size
            except S3Error as error:
                if error.code in MISSING_OBJECT_CODES:
                    return None
                raise
            return int(size) if size is not None else None

        return await self._run(stat)

    async def size_and_head(self, key: str, length: int) -> tuple[int, bytes] | None:
        """The stored object's size and its first `length` bytes, in one ranged GET (its
        Content-Range tells the size), or None when nothing was stored."""

        def read() -> tuple[int, bytes] | None:
            try:
                response = self._client.get_object(self.bucket, key, offset=0, length=length)
            except S3Error as error:
                if error.code in MISSING_OBJECT_CODES:
                    return None
                if error.code == "InvalidRange":  # not even byte 0: an empty object
                    return 0, b""
                raise
            try:
                size = _total_size(response.headers.get("Content-Range"))
                if size is None:  # the whole object came (no range): its length is its size
                    size = int(response.headers["Content-Length"])
                return size, bytes(response.read(length))
            finally:
                response.close()
                response.release_conn()

        return await self._run(read)

    async def read_tail(self, key: str, size: int, length: int) -> bytes:
        """The last `length` bytes of the object of `size` bytes (a ranged GET)."""
        offset = max(size - length, 0)

        def read() -> bytes:
            response = self._client.get_object(self.bucket, key, offset=offset,
                                               length=size - offset)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await self._run(read)

    async def hash_object(self, key: str, *, bytes_per_second: int | None = None) -> str | None:
        """The sha256 of the whole stored object (None when nothing is stored), read in
        chunks; with `bytes_per_second`, paced so a background check never hogs the store."""
        digest = hashlib.sha256()

        def open_object() -> urllib3.BaseHTTPResponse | None:
            try:
                return self._client.get_object(self.bucket, key)
            except S3Error as error:
                if error.code in MISSING_OBJECT_CODES:
                    return None
                raise

        response = await self._run(open_object)
        if response is None:
            return None

        def read_and_hash() -> int:
            # Reading and hashing both happen in the thread: hashlib releases the GIL.
            chunk = response.read(HASH_CHUNK_BYTES)
            digest.update(chunk)
            return len(chunk)

        started, done = time.monotonic(), 0
        try:
            while read := await self._run(read_and_hash):
                done += read
                if bytes_per_second:
                    ahead = done / bytes_per_second - (time.monotonic() - started)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
        finally:
            response.close()
            response.release_conn()
        return digest.hexdigest()

    async def remove(self, key: str) -> None:
        """Delete the object (absent objects are fine)."""
        await self._run(lambda: self._client.remove_object(self.bucket, key))

    async def download_to(self, key: str, path: Path) -> None:
        """Copy the object to a local file (streamed by the SDK, never whole in memory)."""
        await self._run(lambda: self._client.fget_object(self.bucket, key, str(path)))

    async def upload_from(self, key: str, path: Path, content_type: str) -> None:
        """Store a local file as the object at `key`."""
        await self._run(lambda: self._client.fput_object(
            self.bucket, key, str(path), content_type=content_type))

    async def keys_under(self, prefix: str) -> list[str]:
        """Every object key in the bucket that starts with `prefix`."""

        def listing() -> list[str]:
            return [str(stored.object_name) for stored in
                    self._client.list_objects(self.bucket, prefix=prefix, recursive=True)]

        return await self._run(listing)

    async def keys_older_than(self, moment: datetime) -> list[str]:
        """Every object key in the bucket last written before `moment`."""

        def listing() -> list[str]:
            return [str(stored.object_name)
                    for stored in self._client.list_objects(self.bucket, recursive=True)
                    if stored.last_modified is None or stored.last_modified < moment]

        return await self._run(listing)

    def open_body_blocking(self, key: str) -> urllib3.BaseHTTPResponse:
        """The object's body as a stream to read in chunks (call it in a thread; close and
        release it after)."""
        return self._client.get_object(self.bucket, key)
