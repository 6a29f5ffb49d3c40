"""Assembles an export's ZIP, streamed: each part's objects are read from the exports bucket in
chunks and written into the ZIP writer, whose output goes through a pipe into a multipart upload.
Memory stays at about one upload part and one read chunk, whatever the size of the dossier."""

import asyncio
import contextlib
import json
import os
import time
import zipfile
from typing import Any

from libs.servicekit.export_storage import ExportStorage
from libs.servicekit.logs import get_logger
from services.auth.privacy.export_rules import INDEX_FILE, MANIFEST_FILE

log = get_logger(__name__)


class ZipAssembler:
    """Writes `<prefix><zip name>` from the export's parts already in the bucket."""

    def __init__(self, storage: ExportStorage) -> None:
        self._storage = storage

    async def assemble(self, prefix: str, zip_key: str, keys: list[str],
                       manifest_data: dict[str, Any], index_html: str) -> int:
        """Stream every part's object into the ZIP at `zip_key`; the ZIP's size."""
        read_end, write_end = os.pipe()
        reader = os.fdopen(read_end, "rb")
        writer = os.fdopen(write_end, "wb")

        def upload() -> None:
            try:
                self._storage.put_stream_blocking(zip_key, reader, "application/zip")
            finally:
                reader.close()  # a failed upload makes the writer fail too (broken pipe)

        made = time.localtime()[:6]

        def write() -> None:
            try:
                with zipfile.ZipFile(writer, mode="w", compression=zipfile.ZIP_DEFLATED,
                                     compresslevel=1) as archive:
                    archive.writestr(INDEX_FILE, index_html)
                    archive.writestr(MANIFEST_FILE, json.dumps(manifest_data, indent=1))
                    for key in keys:
                        # Originals (PDF, images, office files) hardly compress: stored.
                        kind = (zipfile.ZIP_DEFLATED if key.endswith(".json")
                                else zipfile.ZIP_STORED)
                        info = zipfile.ZipInfo(key, date_time=made)
                        info.compress_type = kind
                        with archive.open(info, mode="w", force_zip64=True) as entry:
                            for chunk in self._storage.read_chunks_blocking(prefix + key):
                                entry.write(chunk)
            finally:
                writer.close()

        uploading = asyncio.create_task(asyncio.to_thread(upload))
        try:
            await asyncio.to_thread(write)
        except BaseException:
            with contextlib.suppress(BaseException):
                await uploading
            # The upload saw the end of a half-written ZIP: it must not stay.
            with contextlib.suppress(Exception):
                await self._storage.remove_prefix(zip_key)
            raise
        await uploading
        size = await self._storage.stored_size(zip_key)
        return size or 0
