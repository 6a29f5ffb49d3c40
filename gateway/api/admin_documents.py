"""The admin API for documents: staff publish several files at once into a dossier's context."""

from fastapi import APIRouter, Request, status

from gateway.api.documents import parse_context
from gateway.deps import Rpc, StaffCaller, State
from gateway.streaming import UploadLimits, receive_uploads, store_upload
from libs.contracts import documents

router = APIRouter(prefix="/admin/api/v1", tags=["admin"])
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
    dossier_id: str, request: Request, staff: StaffCaller, rpc: Rpc, state: State
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
    try:
        context = parse_context(uploads[0].fields.get("context"))
        stored = [await store_upload(rpc, state.storage, staff.caller(), dossier_id,
                                     upload.filename, upload, context)
                  for upload in uploads]
    finally:
        for upload in uploads:
            upload.close()
    return documents.DocumentList(documents=stored, total=len(stored), page_size=len(stored))
