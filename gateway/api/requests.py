"""A client's requests and messages to the office ("Mijn aanvragen", manual 3.2 and 6): the list,
a request's thread, replies, and new messages, each with files (multipart) or without (JSON).

Files go the client-attachment path (gateway/streaming.py: 2 MB a file, 10 files, 10 MB
together, refused mid-stream) into the dossier's documents, context `request:<request_id>`;
the request keeps only their references. A new message's files are stored before the message,
under the request id the gateway chooses, so the message and its files arrive together.
"""

import json
from typing import Annotated, Any, TypeVar

from fastapi import Header, Request, status
from pydantic import BaseModel, Field, ValidationError

from gateway.api_links import answer_links, request_thread
from gateway.deps import (
    CurrentCaller,
    GatewayState,
    GrantedDossier,
    ObjectIdPath,
    Rpc,
    RpcCaller,
    State,
)
from gateway.problems import Problem, api_router
from gateway.streaming import SpooledUpload, UploadLimits, receive_uploads, store_upload
from libs.contracts import documents, dossier, requests
from libs.contracts.auth import AccessClaims
from libs.contracts.caller import Caller
from libs.contracts.envelope import new_id
from libs.contracts.ids import ObjectId
from libs.contracts.shown_names import GivenName
from libs.servicekit.errors import Conflict, Invalid, NotFound
from libs.servicekit.logs import correlation_id

router = api_router(prefix="/api/v1/dossiers/{dossier_id}", tags=["requests"])

MULTIPART = "multipart/form-data"
ABOUT_OBJECTS: dict[requests.AboutKind, dossier.ObjectKind] = {
    requests.AboutKind.PERSON: "person", requests.AboutKind.CONTRACT: "contract",
    requests.AboutKind.RISK_OBJECT: "risk_object", requests.AboutKind.CLAIM: "claim"}
DESCRIPTION_FIELD = "description_{number}"  # the description of the n-th file (1, 2, ...)
IdempotencyKey = Annotated[str | None, Header(
    alias="idempotency-key", min_length=1, max_length=requests.MAX_IDEMPOTENCY_KEY,
    description="The same key again (a double click, a retry) answers with the request "
    "stored the first time: never a second one")]


class MessageCreate(BaseModel):
    subject: GivenName = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=requests.MAX_BODY)
    about: requests.RequestAbout = Field(default_factory=requests.RequestAbout)


class ReplyCreate(BaseModel):
    body: str = Field(min_length=1, max_length=requests.MAX_BODY)


def _body_schema(model: type[BaseModel], files: dict[str, Any]) -> dict[str, Any]:
    """The request body of an operation taking JSON (`model`) or multipart with files."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    file_part = {"file": {"type": "array", "maxItems": requests.MAX_ATTACHMENTS,
                          "items": {"type": "string", "format": "binary"}}}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": schema},
        MULTIPART: {"schema": {"type": "object", "required": ["file"], "properties": {
            **file_part, **files,
            "description_1": {"type": "string", "maxLength": 500,
                              "description": "The first file's description (description_2 "
                              "the second's, ...)"}}}}}}}


MESSAGE_BODY = _body_schema(MessageCreate, {
    "subject": {"type": "string"}, "body": {"type": "string"},
    "about": {"type": "string", "description": "general, personal_data, or <kind>:<id> with "
              "kind person, contract, risk_object, claim"},
    "about_label": {"type": "string", "maxLength": 200}})
REPLY_BODY = _body_schema(ReplyCreate, {"body": {"type": "string"}})


def is_multipart(request: Request) -> bool:
    """Files come as multipart/form-data; anything else must be JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == MULTIPART:
        return True
    if content_type not in ("", "application/json") and not content_type.endswith("+json"):
        raise Problem(415, "unsupported_media_type",
                      "Send JSON, or multipart/form-data with files.")
    return False


ModelT = TypeVar("ModelT", bound=BaseModel)


async def json_body(request: Request, model: type[ModelT]) -> ModelT:
    """The JSON body as `model` (422 with the fields when it is not)."""
    raw = await request.body()
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        raise Invalid("The body is not valid JSON.", fields={"body": "not valid JSON"}) from None
    return model.model_validate(data)


async def receive_attachments(request: Request, state: GatewayState) -> list[SpooledUpload]:
    """The files of a multipart body under the client-attachment limits (413 mid-stream)."""
    settings = state.settings
    return await receive_uploads(request, memory_bytes=settings.upload_memory_bytes,
                                 limits=UploadLimits(
                                     max_file_bytes=settings.attachment_max_bytes,
                                     max_files=settings.attachment_max_files,
                                     max_total_bytes=settings.attachment_max_total_bytes))


def descriptions(uploads: list[SpooledUpload]) -> list[str]:
    """Each file's description (checked before any file is stored)."""
    fields = uploads[0].fields if uploads else {}
    found = [" ".join(fields.get(DESCRIPTION_FIELD.format(number=number), "").split())
             for number in range(1, len(uploads) + 1)]
    too_long = {DESCRIPTION_FIELD.format(number=number): "at most 500 characters"
                for number, text in enumerate(found, 1) if len(text) > 500}
    if too_long:
        raise Invalid("A description is too long.", fields=too_long)
    return found


async def store_attachments(
    rpc: RpcCaller, state: GatewayState, caller: Caller, dossier_id: str, request_id: str,
    uploads: list[SpooledUpload], described: list[str],
) -> list[requests.AttachmentRef]:
    """Store the files as documents of the request's context; their references."""
    context = documents.DocumentContext(kind=documents.ContextKind.REQUEST, ref_id=request_id)
    refs = []
    for upload, description in zip(uploads, described, strict=True):
        stored = await store_upload(rpc, state.storage, caller, dossier_id,
                                    description or upload.filename, upload, context)
        refs.append(requests.AttachmentRef(document_id=stored.document_id,
                                           filename=stored.filename, size=stored.size,
                                           description=description))
    return refs


def close_all(uploads: list[SpooledUpload]) -> None:
    for upload in uploads:
        upload.close()


def parse_about(kind_and_id: str | None, label: str | None) -> requests.RequestAbout:
    """`contract:C-1` (or `general`) from a form field, as a RequestAbout."""
    kind, _, ref_id = (kind_and_id or "general").partition(":")
    try:
        return requests.RequestAbout.model_validate(
            {"kind": kind, "ref_id": ref_id or None, "label": label or ""})
    except ValidationError:
        raise Invalid("What the message is about is not valid.", fields={
            "about": "general, personal_data, or <kind>:<id> with kind person, contract, "
                     "risk_object, claim"}) from None


async def require_about(rpc: RpcCaller, caller: Caller, dossier_id: str,
                        about: requests.RequestAbout) -> None:
    """A message about an object of the dossier names one of this dossier's: another
    dossier's (or a missing) contract, person, risk or claim is "not found"."""
    object_kind = ABOUT_OBJECTS.get(about.kind)
    if object_kind is None:
        if about.ref_id is not None:
            raise Invalid("Only a person, contract, risk object or claim has an id here.",
                          fields={"about.ref_id": "not for this kind"})
        return
    if about.ref_id is None:
        raise Invalid("Say which one the message is about.",
                      fields={"about.ref_id": "required for this kind"})
    unknown = await rpc.call(dossier.CHECK_REFERENCES, dossier.ReferencesQuery(
        caller=caller, objects=[dossier.DossierObjectRef(
            dossier_id=dossier_id, kind=object_kind, object_id=about.ref_id)]))
    if unknown.dossier_ids or unknown.objects:
        raise NotFound(f"This {object_kind.replace('_', ' ')} does not exist.")


@router.post("/messages", status_code=status.HTTP_201_CREATED, openapi_extra=MESSAGE_BODY,
             responses=answer_links(201, **request_thread("/request_id")))
async def send_message(
    dossier_id: GrantedDossier, request: Request, claims: CurrentCaller, rpc: Rpc,
    state: State, idempotency_key: IdempotencyKey = None,
) -> requests.RequestPublic:
    """Send a message to the office (manual 6), general or about something of the dossier
    (`about`); it starts as pending. JSON, or multipart with up to 10 files (`file`, with
    `description_1`, ...). An `Idempotency-Key` makes a resend return the first request; a key
    used before for a form is 409."""
    caller = claims.caller()
    if not is_multipart(request):
        message = await json_body(request, MessageCreate)
        await require_about(rpc, caller, dossier_id, message.about)
        return await _send(rpc, claims, dossier_id, message, [], idempotency_key, None)
    if idempotency_key is not None:  # a resend: its files are not stored a second time
        try:
            return await rpc.call(requests.FIND_RESUBMITTED, requests.FindResubmittedQuery(
                caller=caller, dossier_id=dossier_id, idempotency_key=idempotency_key,
                kind=requests.RequestKind.MESSAGE))  # a form's key: 409 before a file is read
        except NotFound:
            pass
    await rpc.call(requests.ADMIT_ATTACHMENT, requests.AdmitAttachmentRequest(
        caller=caller, dossier_id=dossier_id))
    uploads = await receive_attachments(request, state)
    try:
        fields = uploads[0].fields
        message = MessageCreate(subject=fields.get("subject", ""), body=fields.get("body", ""),
                                about=parse_about(fields.get("about"), fields.get("about_label")))
        described = descriptions(uploads)
        await require_about(rpc, caller, dossier_id, message.about)
        request_id = new_id()
        refs = await store_attachments(rpc, state, caller, dossier_id, request_id, uploads,
                                       described)
    finally:
        close_all(uploads)
    return await _send(rpc, claims, dossier_id, message, refs, idempotency_key, request_id)


async def _send(rpc: RpcCaller, claims: AccessClaims, dossier_id: str, message: MessageCreate,
                refs: list[requests.AttachmentRef], idempotency_key: str | None,
                request_id: ObjectId | None) -> requests.RequestPublic:
    return await rpc.call(requests.SEND_MESSAGE, requests.SendMessageRequest(
        caller=claims.caller(), dossier_id=dossier_id, subject=message.subject,
        body=message.body, about=message.about, attachments=refs, request_id=request_id,
        idempotency_key=idempotency_key, sender_name=claims.name,
        correlation_id=correlation_id.get()))


@router.get("/requests", responses=answer_links(200, **request_thread("/requests/0/request_id")))
async def list_requests(
    dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc, status: str | None = None
) -> requests.RequestList:
    """Requests and messages sent in this dossier, newest first, optionally only those with
    `status` (all, pending, in_progress, accepted, refused, closed)."""
    return await rpc.call(requests.LIST_REQUESTS, requests.ListRequestsQuery(
        caller=claims.caller(), dossier_id=dossier_id, status=status))


@router.get("/requests/{request_id}")
async def read_request(
    dossier_id: GrantedDossier, request_id: ObjectIdPath, claims: CurrentCaller, rpc: Rpc,
) -> requests.RequestPublic:
    """A request with what was sent, its thread (the office's answers) and timeline; reading
    it clears its "unread" marker."""
    return await rpc.call(requests.GET_REQUEST, requests.GetRequestQuery(
        caller=claims.caller(), dossier_id=dossier_id, request_id=request_id))


@router.post("/requests/{request_id}/replies", status_code=status.HTTP_201_CREATED,
             openapi_extra=REPLY_BODY, responses=answer_links(201, **request_thread("/request_id")))
async def reply(
    dossier_id: GrantedDossier, request_id: ObjectIdPath, request: Request,
    claims: CurrentCaller, rpc: Rpc, state: State,
) -> requests.RequestPublic:
    """Reply in the request's thread (JSON `body`, or multipart with files); a closed one
    takes no more replies (409: send a new message)."""
    caller = claims.caller()
    if not is_multipart(request):
        text = await json_body(request, ReplyCreate)
        return await _reply(rpc, claims, dossier_id, request_id, text.body, [])
    # Before any file is read: the request is this dossier's and still open.
    current = await rpc.call(requests.GET_REQUEST, requests.GetRequestQuery(
        caller=caller, dossier_id=dossier_id, request_id=request_id, mark_read=False))
    if current.status == requests.RequestStatus.CLOSED:
        raise Conflict("This conversation is closed; send a new message.")
    await rpc.call(requests.ADMIT_ATTACHMENT, requests.AdmitAttachmentRequest(
        caller=caller, dossier_id=dossier_id))
    uploads = await receive_attachments(request, state)
    try:
        body = uploads[0].fields.get("body", "")
        if len(body) > requests.MAX_BODY:
            raise Invalid("The reply is too long.", fields={"body": "too long"})
        described = descriptions(uploads)
        refs = await store_attachments(rpc, state, caller, dossier_id, request_id, uploads,
                                       described)
    finally:
        close_all(uploads)
    return await _reply(rpc, claims, dossier_id, request_id, body, refs)


async def _reply(rpc: RpcCaller, claims: AccessClaims, dossier_id: str, request_id: str,
                 body: str, refs: list[requests.AttachmentRef]) -> requests.RequestPublic:
    return await rpc.call(requests.REPLY, requests.ReplyCommand(
        caller=claims.caller(), dossier_id=dossier_id, request_id=request_id, body=body,
        attachments=refs, author_name=claims.name, correlation_id=correlation_id.get()))
