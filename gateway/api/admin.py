"""The admin API for broker staff: staff accounts, invitations, dossiers, grants, documents."""

from typing import Annotated

from fastapi import Query, Request, status
from pydantic import BaseModel, EmailStr, Field

from gateway.api.admin_documents import announce_batch
from gateway.api_links import account, answer_links, dossier_changes, dossier_reads
from gateway.deps import DossierIdPath, ObjectIdPath, Rpc, StaffCaller, State, origin_of
from gateway.problems import api_router
from gateway.streaming import receive_upload, store_upload
from libs.contracts import auth, documents, dossier, requests
from libs.contracts.caller import Role
from libs.contracts.ids import DossierId
from libs.servicekit.logs import correlation_id

router = api_router(prefix="/admin/api/v1", tags=["admin"])


class StaffCreate(BaseModel):
    email: EmailStr
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=1, max_length=1024)


class InvitationCreate(BaseModel):
    email: EmailStr
    display_name: str = Field(min_length=1, max_length=200)
    language: str = Field(default="nl", pattern="^(nl|fr|en)$")
    dossier_ids: list[DossierId] = Field(default_factory=list, max_length=100)


@router.post("/staff", status_code=status.HTTP_201_CREATED,
              responses=answer_links(201, **account()))
async def create_staff(
    body: StaffCreate, staff: StaffCaller, rpc: Rpc, request: Request
) -> auth.UserPublic:
    """Create an agent or admin account (office admins only)."""
    return await rpc.call(auth.CREATE_STAFF, auth.CreateStaffRequest(
        caller=staff.caller(), origin=origin_of(request), **body.model_dump()))


@router.post("/invitations", status_code=status.HTTP_201_CREATED,
              responses=answer_links(201, **account(invited=True)))
async def invite_client(
    body: InvitationCreate, staff: StaffCaller, rpc: Rpc, request: Request
) -> auth.InvitationPublic:
    """Invite a client: they get an e-mail with an activation link."""
    return await rpc.call(auth.INVITE_CLIENT, auth.InviteClientRequest(
        caller=staff.caller(), correlation_id=correlation_id.get(), origin=origin_of(request),
        **body.model_dump()))


@router.post("/dossiers", status_code=status.HTTP_201_CREATED, responses=answer_links(
    201, **dossier_changes("$response.body#/dossier_id")))
async def import_dossier(
    body: dossier.DossierImport, staff: StaffCaller, rpc: Rpc, state: State
) -> dossier.DossierSummary:
    """Create or replace a dossier from the broker's management system export."""
    try:
        return await rpc.call(dossier.IMPORT_DOSSIER, dossier.ImportDossierRequest(
            caller=staff.caller(), dossier=body, correlation_id=correlation_id.get()),
            timeout_seconds=state.settings.import_timeout_seconds)
    finally:  # this instance reads it anew at once (also after a timeout: it may have gone in)
        state.read_model.versions.changed(body.dossier_id)


@router.get("/dossiers", responses=answer_links(
    200, **dossier_reads("$response.body#/dossiers/0/dossier_id")))
async def search_dossiers(
    staff: StaffCaller, rpc: Rpc,
    q: Annotated[str, Query(max_length=100, description="Start of a number, or part of a name")]
    = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dossier.DossierSummaries:
    """Dossiers whose number starts with, or whose name holds, `q` (the office's suggestions
    while typing a dossier number); staff only."""
    return await rpc.call(dossier.SEARCH_DOSSIERS, dossier.DossierSearch(
        caller=staff.caller(), text=q, limit=limit))


@router.get("/dossiers/{dossier_id}")
async def read_dossier(
    dossier_id: DossierIdPath, staff: StaffCaller, rpc: Rpc
) -> dossier.DossierSummary:
    """A dossier's summary."""
    return await rpc.call(dossier.GET_DOSSIER_SUMMARY, dossier.DossierQuery(
        caller=staff.caller(), dossier_id=dossier_id))


@router.put("/dossiers/{dossier_id}/grants/{user_id}")
async def grant_dossier(
    dossier_id: DossierIdPath, user_id: ObjectIdPath, staff: StaffCaller, rpc: Rpc, request: Request
) -> auth.UserPublic:
    """Give a user access to a dossier (effective at their next token refresh)."""
    return await rpc.call(auth.GRANT_DOSSIER, auth.GrantRequest(
        caller=staff.caller(), user_id=user_id, dossier_id=dossier_id,
        origin=origin_of(request)))


@router.delete("/dossiers/{dossier_id}/grants/{user_id}")
async def revoke_dossier(
    dossier_id: DossierIdPath, user_id: ObjectIdPath, staff: StaffCaller, rpc: Rpc, request: Request
) -> auth.UserPublic:
    """Take a user's access to a dossier away."""
    return await rpc.call(auth.REVOKE_DOSSIER, auth.GrantRequest(
        caller=staff.caller(), user_id=user_id, dossier_id=dossier_id,
        origin=origin_of(request)))


@router.post(
    "/dossiers/{dossier_id}/documents",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["file", "title"], "properties": {
            "file": {"type": "string", "format": "binary"}, "title": {"type": "string"}}}}}}},
)
async def publish_document(
    dossier_id: DossierIdPath, request: Request, staff: StaffCaller, rpc: Rpc, state: State
) -> documents.DocumentPublic:
    """Publish a document in a dossier (multipart: `file`, `title`), streamed to the store."""
    settings = state.settings
    upload = await receive_upload(
        request, max_bytes=settings.max_upload_bytes, memory_bytes=settings.upload_memory_bytes)
    try:
        title = upload.fields.get("title", "").strip() or upload.filename
        stored = await store_upload(rpc, state.storage, staff.caller(), dossier_id, title, upload)
    finally:
        upload.close()
    await announce_batch(rpc, staff.caller(), dossier_id, [stored.document_id])  # one mail
    return stored


@router.get("/documents/problems")
async def list_document_problems(
    staff: StaffCaller, rpc: Rpc, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> documents.DocumentProblemList:
    """Documents to look at: damaged ones (never served to clients) and uploads that failed
    (refused, or abandoned by a crash and cleaned up by the orphan sweep), the latest first."""
    return await rpc.call(documents.LIST_DOCUMENT_PROBLEMS, documents.DocumentProblemsQuery(
        caller=staff.caller(), limit=limit))


@router.get("/dossiers/{dossier_id}/requests")
async def list_dossier_requests(
    dossier_id: DossierIdPath, staff: StaffCaller, rpc: Rpc, status: str | None = None
) -> requests.RequestList:
    """Requests and messages of a dossier, for the office to handle."""
    return await rpc.call(requests.LIST_REQUESTS, requests.ListRequestsQuery(
        caller=staff.caller(), dossier_id=dossier_id, status=status))


@router.get("/users/{user_id}")
async def read_user(user_id: ObjectIdPath, staff: StaffCaller, rpc: Rpc) -> auth.UserPublic:
    """A user account."""
    return await rpc.call(auth.GET_USER, auth.UserLookupRequest(
        caller=staff.caller(), user_id=user_id))
