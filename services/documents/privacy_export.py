"""The documents service's part of a client's data export: the record of every document of the
client's dossiers (published by the office, or sent by the client with a request) and its
original, streamed from the documents bucket into the export (never whole in memory)."""

import asyncio
import re

from minio.error import S3Error
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.privacy import ExportRequested, RecordsPart, StoredFile, StoredRecord
from libs.servicekit.buckets import MISSING_OBJECT_CODES
from libs.servicekit.export_parts import PartFiles, public_fields
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from services.documents.domain import DocumentState
from services.documents.object_storage import ObjectStorage
from services.documents.store import DOCUMENTS

log = get_logger(__name__)

UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(document_id: str, filename: str) -> str:
    """The original's name in the ZIP: unique (the id first) and safe on every system."""
    cleaned = UNSAFE_NAME_CHARACTERS.sub("_", filename).strip("._") or "document"
    return f"files/{document_id}-{cleaned[-120:]}"


class DocumentsPartBuilder:
    """Reads the documents' records and copies their originals into the export."""

    def __init__(self, database: AsyncDatabase[Document], storage: ObjectStorage) -> None:
        self._documents = database[DOCUMENTS]
        self._storage = storage

    async def __call__(self, event: ExportRequested, files: PartFiles) -> tuple[BaseModel, int]:
        """The documents part of `event`'s export."""
        records: list[StoredRecord] = []
        stored_files: list[StoredFile] = []
        cursor = self._documents.find(
            {"dossier_id": {"$in": sorted(set(event.dossier_ids))},
             "state": DocumentState.PUBLISHED.value}).sort("_id", 1)
        async for stored in cursor:
            if stored.get("dossier_id") not in event.dossier_ids:
                continue  # the final filter: never a document of another dossier
            document_id = str(stored["_id"])
            size = int(stored.get("size") or 0)
            try:
                path = await self._copy_original(files, document_id, stored, size)
            except S3Error as error:
                if error.code not in MISSING_OBJECT_CODES:
                    raise
                # A record whose body is gone (a crashed upload the sweep has not reached):
                # the export says so instead of failing for every other document.
                log.warning("document body missing from the export", document_id=document_id)
                records.append(StoredRecord(record_id=document_id, kind="document",
                                            data=public_fields(stored) | {
                                                "original": "missing from the store"}))
                continue
            records.append(StoredRecord(record_id=document_id, kind="document",
                                        data=public_fields(stored)))
            stored_files.append(StoredFile(
                path=path, title=str(stored.get("title") or stored.get("filename") or ""),
                content_type=str(stored.get("content_type") or "application/octet-stream"),
                size=size, sha256=stored.get("sha256"), record_id=document_id))
        return RecordsPart(records=records, files=stored_files), len(records)

    async def _copy_original(self, files: PartFiles, document_id: str, stored: Document,
                             size: int) -> str:
        body = await asyncio.to_thread(self._storage.open_body_blocking, stored["object_key"])
        try:
            return await files.add(file_name(document_id, str(stored.get("filename") or "")),
                                   body, str(stored.get("content_type") or
                                             "application/octet-stream"), size)
        finally:
            body.close()
            body.release_conn()
