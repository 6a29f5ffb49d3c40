"""One S3 bucket through the minio SDK, the base of every service's storage class (the documents'
bodies, the data exports). The SDK blocks, so every call runs in a thread; an unreachable store
is `Unavailable` (503 at the gateway), never a 500."""

import asyncio
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import urllib3
from minio import Minio

from libs.servicekit.errors import Unavailable
from libs.servicekit.logs import get_logger

T = TypeVar("T")
log = get_logger(__name__)
MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "NoSuchObject"})


class Bucket:
    """A client of one bucket; `what` names the store in logs and errors."""

    what = "object storage"

    def __init__(self, *, endpoint: str, access_key: str, secret_key: str, region: str,
                 bucket: str, timeout_seconds: float) -> None:
        address = urlsplit(endpoint)
        # Own pool: the SDK's default waits up to 5 minutes on a silent server.
        http_client = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds),
            retries=urllib3.Retry(total=2, backoff_factor=0.2,
                                  status_forcelist=[500, 502, 503, 504]),
        )
        # The region is given so presigning is computed locally, without asking the server.
        self._client = Minio(address.netloc, access_key=access_key, secret_key=secret_key,
                             secure=address.scheme == "https", region=region,
                             http_client=http_client)
        self._region = region
        self.bucket = bucket

    async def _run(self, call: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(call)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            log.warning(f"{self.what} unreachable", error=str(error))
            raise Unavailable(f"The {self.what} is unreachable.") from None

    async def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist yet."""

        def create() -> None:
            if not self._client.bucket_exists(self.bucket):
                self._client.make_bucket(self.bucket, location=self._region)

        await self._run(create)
