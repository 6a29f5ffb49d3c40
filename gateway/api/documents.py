"""A client's documents: the list, attachments, the content (streamed), the documents to sign."""

from typing import Annotated

from fastapi import Header, Query, Request, status
from fastapi.responses import StreamingResponse

from gateway.api_links import answer_links, document_bodies, signature_offer
from gateway.deps import CurrentCaller, GrantedDossier, ObjectIdPath, Rpc, State
from gateway.downloads import VIEW_TYPES, open_and_stream, streamed_responses
from gateway.problems import api_router
from gateway.signing_evidence import document_served, whole_body
from gateway.streaming import UploadLimits, receive_uploads, store_upload
from libs.contracts import documents, paging, requests, signing
from libs.contracts.auth import AccessClaims
from libs.servicekit.errors import Invalid

router = api_router(prefix="/api/v1/dossiers/{dossier_id}", tags=["documents"])
CONTEXT_HELP = "`general`, or `<kind>:<id>` with kind person, risk_object, contract, claim, request"


def parse_context(value: str | None) -> documents.DocumentContext | None:
    """`claim:CL1` -> the claim CL1's context; `general` or nothing -> the general data."""
    if value is None or value in ("", "general"):
        return None if value is None else documents.DocumentContext()
    kind, _, ref_id = value.partition(":")
    try:
        return documents.DocumentContext(kind=documents.ContextKind(kind), ref_id=ref_id or None)
    except ValueError:
        raise Invalid("The context is not valid.", fields={"context": CONTEXT_HELP}) from None


@router.get("/documents",
            responses=answer_links(200, **document_bodies("/documents/0/document_id")))
async def list_documents(
    dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc,
    context: Annotated[str | None, Query(description=CONTEXT_HELP)] = None,
    content_type: Annotated[str | None, Query(
        alias="type", max_length=255,
        description="A content type, or a prefix ending in / (image/)")] = None,
    cursor: Annotated[str | None, Query(max_length=paging.MAX_CURSOR, description=(
        "`next_cursor` of the previous page of the same dossier and filters (opaque and "
        "signed; any other is refused: 422)"))] = None,
    page_size: Annotated[int, Query(ge=1, le=documents.MAX_PAGE_SIZE)] = 100,
) -> documents.DocumentList:
    """The dossier's documents ("Mijn documenten"), or one context's; newest first, keyset
    paged: `next_cursor` leads to the next page (None on the last)."""
    return await rpc.call(documents.LIST_DOCUMENTS, documents.ListDocumentsQuery(
        caller=claims.caller(), dossier_id=dossier_id, context=parse_context(context),
        content_type=content_type, cursor=cursor, page_size=page_size))


@router.post(
    "/documents",
    status_code=status.HTTP_201_CREATED,
    responses=answer_links(201, **document_bodies("/documents/0/document_id")),
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
            "context": {"type": "string"}, "title": {"type": "string"}}}}}}},
)
async def attach_documents(
    dossier_id: GrantedDossier, request: Request, claims: CurrentCaller, rpc: Rpc, state: State
) -> documents.DocumentList:
    """A client attaches files in a context of their dossier (multipart: `file` up to 10
    times, `context`, `title`): 2 MB each, 10 MB together, refused (413) mid-stream; a burst of
    uploads, then 429 with Retry-After (the account's window is kept by the requests service,
    asked before the body is read)."""
    await rpc.call(requests.ADMIT_ATTACHMENT, requests.AdmitAttachmentRequest(
        caller=claims.caller(), dossier_id=dossier_id))
    settings = state.settings
    uploads = await receive_uploads(request, memory_bytes=settings.upload_memory_bytes,
                                    limits=UploadLimits(
                                        max_file_bytes=settings.attachment_max_bytes,
                                        max_files=settings.attachment_max_files,
                                        max_total_bytes=settings.attachment_max_total_bytes))
    try:
        fields = uploads[0].fields
        context = parse_context(fields.get("context"))
        stored = [await store_upload(rpc, state.storage, claims.caller(), dossier_id,
                                     fields.get("title", "").strip() or upload.filename,
                                     upload, context)
                  for upload in uploads]
    finally:
        for upload in uploads:
            upload.close()
    return documents.DocumentList(documents=stored, total=len(stored), page_size=len(stored))


async def _download(
    dossier_id: str, document_id: str, claims: AccessClaims, rpc: Rpc, state: State,
    variant: documents.BodyVariant, range_header: str | None, if_range: str | None = None,
    as_attachment: bool = False,
) -> StreamingResponse:
    return await open_and_stream(rpc, state.storage, claims.caller(), dossier_id=dossier_id,
                                 document_id=document_id, variant=variant,
                                 range_header=range_header, if_range=if_range,
                                 as_attachment=as_attachment)


@router.get(
    "/documents/{document_id}/content",
    response_class=StreamingResponse,
    responses=streamed_responses("The original body in its own type, with X-Content-SHA256",
                                 "*/*", ranges=True),
)
async def download_document(
    dossier_id: GrantedDossier, document_id: ObjectIdPath, claims: CurrentCaller, rpc: Rpc,
    state: State, request: Request,
    download: bool = False, range_header: Annotated[str | None, Header(alias="range")] = None,
    if_range: Annotated[str | None, Header(alias="if-range")] = None,
) -> StreamingResponse:
    """The original file, streamed from the document store (`download=true`: as attachment);
    one byte range of a PDF (206) once its stored body is verified, else the whole file."""
    if whole_body(range_header):  # shown to a signer: an offer of it counts as opened
        await document_served(rpc, claims, request, dossier_id=dossier_id,
                              document_id=document_id)
    return await _download(dossier_id, document_id, claims, rpc, state,
                           documents.BodyVariant.ORIGINAL, range_header, if_range,
                           as_attachment=download)


@router.get(
    "/documents/{document_id}/view",
    response_class=StreamingResponse,
    responses=streamed_responses("The PDF rendition, or the image itself", *VIEW_TYPES,
                                 ranges=True),
)
async def view_document(
    dossier_id: GrantedDossier, document_id: ObjectIdPath, claims: CurrentCaller, rpc: Rpc,
    state: State, request: Request,
    range_header: Annotated[str | None, Header(alias="range")] = None,
    if_range: Annotated[str | None, Header(alias="if-range")] = None,
) -> StreamingResponse:
    """What the viewer shows: the document as PDF, or the image (404 while not ready)."""
    if whole_body(range_header):  # shown to a signer: an offer of it counts as opened
        await document_served(rpc, claims, request, dossier_id=dossier_id,
                              document_id=document_id)
    return await _download(dossier_id, document_id, claims, rpc, state,
                           documents.BodyVariant.VIEW, range_header, if_range)


@router.get("/documents/{document_id}/thumbnail", response_class=StreamingResponse,
            responses=streamed_responses("A small JPEG", "image/jpeg"))
async def document_thumbnail(
    dossier_id: GrantedDossier, document_id: ObjectIdPath, claims: CurrentCaller, rpc: Rpc,
    state: State,
) -> StreamingResponse:
    """A small JPEG of an image document."""
    return await _download(dossier_id, document_id, claims, rpc, state,
                           documents.BodyVariant.THUMBNAIL, None)


@router.get("/documents-to-sign", responses=answer_links(
    200, **signature_offer("/documents/0/signature_request_id"),
    **document_bodies("/documents/0/document_id")))
async def list_documents_to_sign(
    dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc
) -> signing.DocumentsToSign:
    """Documents the broker asks the client to sign (the welcome page's section)."""
    return await rpc.call(signing.LIST_DOCUMENTS_TO_SIGN, signing.DocumentsToSignQuery(
        caller=claims.caller(), dossier_id=dossier_id))
