"""The admin API for documents: staff publish several files at once into a dossier's context.

Every staff publication ends with PUBLISH_BATCH, so the client gets one mail per batch, not one
per file; files already stored when a later one fails are still announced.
"""

import contextlib

from fastapi import Request, status

from gateway.api.documents import parse_context
from gateway.deps import DossierIdPath, Rpc, RpcCaller, StaffCaller, State
from gateway.problems import api_router
from gateway.streaming import UploadLimits, receive_uploads, store_upload
from libs.contracts import documents
from libs.contracts.caller import Caller
from libs.contracts.envelope import new_id
from libs.servicekit.logs import correlation_id

router = api_router(prefix="/admin/api/v1", tags=["admin"])
MAX_FILES_PER_BATCH = 20


@router.post(
    "/dossiers/{dossier_id}/documents/batch",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
            "context": {"type": "string"}}}}}}},
)
async def publish_documents(
    dossier_id: DossierIdPath, request: Request, staff: StaffCaller, rpc: Rpc, state: State
) -> documents.DocumentList:
    """Publish up to 20 files (multipart: `file` repeated, `context` as `claim:CL1`), each
    titled by its file name, streamed to the store."""
    settings = state.settings
    uploads = await receive_uploads(request, memory_bytes=settings.upload_memory_bytes,
                                    limits=UploadLimits(
                                        max_file_bytes=settings.max_upload_bytes,
                                        max_files=MAX_FILES_PER_BATCH,
                                        max_total_bytes=settings.max_upload_bytes
                                        * MAX_FILES_PER_BATCH))
    caller = staff.caller()
    stored: list[documents.DocumentPublic] = []
    try:
        context = parse_context(uploads[0].fields.get("context"))
        for upload in uploads:
            stored.append(await store_upload(rpc, state.storage, caller, dossier_id,
                                             upload.filename, upload, context))
    except Exception:
        if stored:  # what is published stays published: the client still hears of it
            with contextlib.suppress(Exception):
                await announce_batch(rpc, caller, dossier_id,
                                     [document.document_id for document in stored])
        raise
    finally:
        for upload in uploads:
            upload.close()
    await announce_batch(rpc, caller, dossier_id, [document.document_id for document in stored])
    return documents.DocumentList(documents=stored, total=len(stored), page_size=len(stored))


async def announce_batch(
    rpc: RpcCaller, caller: Caller, dossier_id: str, document_ids: list[str]
) -> documents.BatchPublic:
    """Tell the documents service these staff uploads form one batch (one mail to the client)."""
    return await rpc.call(documents.PUBLISH_BATCH, documents.PublishBatchRequest(
        caller=caller, dossier_id=dossier_id, batch_id=new_id(), document_ids=document_ids,
        correlation_id=correlation_id.get()))
