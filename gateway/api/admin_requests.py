"""The office's request desk (admin API): every dossier's requests and messages, take, assign,
answer (with files), accept / refuse / close / release, internal notes."""

from typing import Annotated, Any

from fastapi import Query, Request, status
from pydantic import BaseModel, Field

from gateway.access_log import note_dossier_read
from gateway.api.requests import (
    DESCRIPTION_FIELD,
    ModelT,
    close_all,
    descriptions,
    is_multipart,
    json_body,
    store_attachments,
)
from gateway.api_links import answer_links, office_request
from gateway.deps import ObjectIdPath, Rpc, RpcCaller, StaffCaller, State
from gateway.problems import api_router
from gateway.streaming import UploadLimits, receive_uploads
from libs.contracts import auth, requests
from libs.contracts.caller import STAFF_ROLES, Caller
from libs.contracts.ids import DossierId, ObjectId
from libs.servicekit.errors import Conflict, Invalid, NotFound
from libs.servicekit.logs import correlation_id

router = api_router(prefix="/admin/api/v1", tags=["admin"])
# What staff do next with the request an action answers: read it, or act again.
SAME_REQUEST = office_request("$request.path.request_id")


class Versioned(BaseModel):
    version: int | None = Field(default=None, ge=1, description="The version you acted on: "
                                "409 when the request changed since")


class AssignBody(Versioned):
    assignee_id: ObjectId


class StatusBody(Versioned):
    status: requests.StatusChange
    reason: str | None = Field(default=None, max_length=2000)


class AnswerBody(Versioned):
    body: str = Field(default="", max_length=requests.MAX_BODY,
                      description="May be empty when files are sent")
    status: requests.StatusChange | None = None
    reason: str | None = Field(default=None, max_length=2000)


class NoteBody(Versioned):
    body: str = Field(min_length=1, max_length=requests.MAX_BODY)


def _inlined(node: Any, definitions: dict[str, Any]) -> Any:
    """`node` with each reference to one of the model's own definitions replaced by it."""
    if isinstance(node, list):
        return [_inlined(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref", "")
    if reference.startswith("#/$defs/"):
        rest = {key: value for key, value in node.items() if key != "$ref"}
        return _inlined(definitions[reference.removeprefix("#/$defs/")] | rest, definitions)
    return {key: _inlined(value, definitions) for key, value in node.items()}


def _json_only(model: type[BaseModel], *, required: bool = True) -> dict[str, object]:
    """A JSON request body of `model`, whole: the models it uses (an enum of statuses) are
    written in place, as the document's components have only the routes' own models."""
    schema = model.model_json_schema()
    schema = _inlined(schema, schema.pop("$defs", {}))
    return {"requestBody": {"required": required,
                            "content": {"application/json": {"schema": schema}}}}


ANSWER_SCHEMA = _json_only(AnswerBody)
ANSWER_SCHEMA["requestBody"]["content"]["multipart/form-data"] = {  # type: ignore[index]
    "schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "array", "maxItems": requests.MAX_ATTACHMENTS,
                 "items": {"type": "string", "format": "binary"}},
        "body": {"type": "string"}, "status": {"type": "string"}, "reason": {"type": "string"},
        "version": {"type": "integer"},
        DESCRIPTION_FIELD.format(number=1): {"type": "string", "maxLength": 500}}}}


@router.get("/requests", responses=answer_links(
    200, **office_request("$response.body#/items/0/request_id")))
async def desk(
    staff: StaffCaller, rpc: Rpc,
    status: requests.RequestStatus | None = None,
    open_only: Annotated[bool, Query(alias="open", description="Only pending and in "
                                     "progress")] = False,
    kind: requests.RequestKind | None = None,
    dossier_id: Annotated[DossierId | None, Query(description="One dossier's")] = None,
    assignee: Annotated[ObjectId | None, Query(description="me, none or a user id")] = None,
    older_than_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    limit: Annotated[int, Query(ge=1, le=requests.MAX_DESK_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=requests.MAX_CURSOR, description=(
        "`next_cursor` of the previous page of the same filters"))] = None,
) -> requests.DeskPage:
    """The request desk: overdue first, then closest to the office's target; answered ones
    after, finished ones last."""
    return await rpc.call(requests.DESK_LIST, requests.DeskQuery(
        caller=staff.caller(), status=status, open_only=open_only, kind=kind,
        dossier_id=dossier_id, assignee=assignee, older_than_days=older_than_days, limit=limit,
        cursor=cursor))


@router.get("/requests/{request_id}", responses=answer_links(200, **SAME_REQUEST))
async def read_request(request_id: ObjectIdPath, request: Request, staff: StaffCaller,
                       rpc: Rpc) -> requests.OfficeRequest:
    """A request with its thread, timeline and internal notes (it is read by the office)."""
    found = await rpc.call(requests.DESK_GET, requests.DeskGetQuery(
        caller=staff.caller(), request_id=request_id))
    note_dossier_read(request.scope.setdefault("state", {}), found.dossier_id)
    return found


async def _optional_body(request: Request, model: type[ModelT]) -> ModelT:
    if not (await request.body()).strip():
        return model()
    return await json_body(request, model)


@router.post("/requests/{request_id}/take", responses=answer_links(200, **SAME_REQUEST),
             openapi_extra=_json_only(Versioned, required=False))
async def take(request_id: ObjectIdPath, request: Request, staff: StaffCaller, rpc: Rpc
               ) -> requests.OfficeRequest:
    """Take the request in progress: assigned to me."""
    body = await _optional_body(request, Versioned)
    return await rpc.call(requests.TAKE, requests.TakeCommand(
        caller=staff.caller(), request_id=request_id, staff_name=staff.name,
        version=body.version, correlation_id=correlation_id.get()))


@router.post("/requests/{request_id}/assign", responses=answer_links(200, **SAME_REQUEST),
             openapi_extra=_json_only(AssignBody))
async def assign(request_id: ObjectIdPath, request: Request, staff: StaffCaller, rpc: Rpc
                 ) -> requests.OfficeRequest:
    """Hand the request to a colleague (an active staff account)."""
    body = await json_body(request, AssignBody)
    try:
        colleague = await rpc.call(auth.GET_USER, auth.UserLookupRequest(
            caller=staff.caller(), user_id=body.assignee_id))
    except NotFound:
        colleague = None
    if colleague is None or colleague.role not in STAFF_ROLES or colleague.status != "active":
        raise Invalid("Assign the request to a member of the office.",
                      fields={"assignee_id": "not an active staff account"})
    return await rpc.call(requests.REASSIGN, requests.AssignCommand(
        caller=staff.caller(), request_id=request_id, staff_name=staff.name,
        assignee_id=colleague.user_id, assignee_name=colleague.display_name,
        version=body.version, correlation_id=correlation_id.get()))


@router.post("/requests/{request_id}/status", responses=answer_links(200, **SAME_REQUEST),
             openapi_extra=_json_only(StatusBody))
async def set_status(request_id: ObjectIdPath, request: Request, staff: StaffCaller, rpc: Rpc
                     ) -> requests.OfficeRequest:
    """Accept, refuse (a `reason` the client sees), close, release (`pending`) or take in
    progress; an illegal step is a 409."""
    body = await json_body(request, StatusBody)
    return await rpc.call(requests.SET_STATUS, requests.SetStatusCommand(
        caller=staff.caller(), request_id=request_id, staff_name=staff.name,
        status=body.status, reason=body.reason, version=body.version,
        correlation_id=correlation_id.get()))


@router.post("/requests/{request_id}/notes", status_code=status.HTTP_201_CREATED,
             responses=answer_links(201, **SAME_REQUEST), openapi_extra=_json_only(NoteBody))
async def add_note(request_id: ObjectIdPath, request: Request, staff: StaffCaller, rpc: Rpc
                   ) -> requests.OfficeRequest:
    """An internal note: the client never sees it."""
    body = await json_body(request, NoteBody)
    return await rpc.call(requests.ADD_NOTE, requests.AddNoteCommand(
        caller=staff.caller(), request_id=request_id, staff_name=staff.name, body=body.body,
        version=body.version, correlation_id=correlation_id.get()))


@router.post("/requests/{request_id}/answer", status_code=status.HTTP_201_CREATED,
             responses=answer_links(201, **SAME_REQUEST), openapi_extra=ANSWER_SCHEMA)
async def answer(request_id: ObjectIdPath, request: Request, staff: StaffCaller, rpc: Rpc,
                 state: State) -> requests.OfficeRequest:
    """Answer the client in the thread (JSON, or multipart with files, `description_1`, ...),
    optionally with a status change (`status`, `reason`) in the same step."""
    caller = staff.caller()
    if not is_multipart(request):
        body = await json_body(request, AnswerBody)
        return await _answer(rpc, staff.name, caller, request_id, body, [])
    # Before any file is read: the request exists and is still open.
    current = await rpc.call(requests.DESK_GET, requests.DeskGetQuery(
        caller=caller, request_id=request_id, mark_read=False))
    if current.status == requests.RequestStatus.CLOSED:
        raise Conflict("This conversation is closed; send a new message.")
    settings = state.settings
    uploads = await receive_uploads(request, memory_bytes=settings.upload_memory_bytes,
                                    limits=UploadLimits(
                                        max_file_bytes=settings.max_upload_bytes,
                                        max_files=settings.attachment_max_files))
    try:
        fields = uploads[0].fields
        version = fields.get("version", "").strip()
        body = AnswerBody.model_validate({
            "body": fields.get("body", ""), "status": fields.get("status") or None,
            "reason": fields.get("reason") or None,
            "version": int(version) if version.isdigit() else None})
        described = descriptions(uploads)
        refs = await store_attachments(rpc, state, caller, current.dossier_id, request_id,
                                       uploads, described)
    finally:
        close_all(uploads)
    return await _answer(rpc, staff.name, caller, request_id, body, refs)


async def _answer(rpc: RpcCaller, name: str, caller: Caller, request_id: str,
                  body: AnswerBody, refs: list[requests.AttachmentRef]
                  ) -> requests.OfficeRequest:
    return await rpc.call(requests.ANSWER, requests.AnswerCommand(
        caller=caller, request_id=request_id, staff_name=name, body=body.body,
        attachments=refs, status=body.status, reason=body.reason, version=body.version,
        correlation_id=correlation_id.get()))
