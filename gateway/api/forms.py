"""The client's forms (manual 4.1-4.4) through the JSON API: what a form is prefilled with,
submitting it (idempotent; the claim also as multipart with its files), drafts; and the office's
feed of accepted data changes."""

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Query, Request, Response, status
from pydantic import BaseModel, Field, JsonValue, ValidationError

from gateway.api.requests import DESCRIPTION_FIELD
from gateway.api_links import answer_links, draft, request_thread
from gateway.claim_declaration import ClaimFile, complete_claim
from gateway.deps import CurrentCaller, GrantedDossier, Rpc, StaffCaller, State
from gateway.problems import Problem, api_router
from gateway.streaming import ReceivedForm, UploadLimits, receive_form
from libs.contracts import request_forms, requests
from libs.contracts.auth import AccessClaims
from libs.contracts.request_forms import FormAbout, FormKind, parse_about
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Invalid, NotFound
from libs.servicekit.logs import correlation_id

router = api_router(prefix="/api/v1/dossiers/{dossier_id}", tags=["forms"])
admin_router = api_router(prefix="/admin/api/v1", tags=["admin"])
ABOUT_HELP = ("Where the form was opened from: `person:<id>` (personal data), "
              "`risk_object:<id>` or `contract:<id>` (claim)")
MAX_JSON_BYTES = 256 * 1024
FILE_FIELD = "file"
AboutQuery = Annotated[str | None, Query(max_length=100, description=ABOUT_HELP)]
IdempotencyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=128,
    description="The same key again returns the request stored the first time (200), never a "
                "second one")]


class FormSubmission(BaseModel):
    """A form as the API takes it (JSON, or the multipart field `submission` as JSON text)."""

    form: dict[str, Any] = Field(description="The kind's payload (see the FormKind models)")
    about: str | None = Field(default=None, max_length=100, description=ABOUT_HELP)
    remark: str = Field(default="", max_length=10_000)


class DraftBody(BaseModel):
    data: dict[str, JsonValue]


def _about(text: str | None) -> FormAbout | None:
    try:
        return parse_about(text)
    except ValueError as error:
        raise Invalid("The form's origin is not valid.", fields={"about": str(error)}) from None


async def _json_body(request: Request) -> FormSubmission:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise Problem(413, "too_large", "The form is too large.")
    try:
        return FormSubmission.model_validate_json(bytes(body))
    except ValidationError as error:
        raise Invalid("The form is not valid JSON of a form submission.", fields={
            ".".join(str(part) for part in problem["loc"]) or "body": problem["msg"]
            for problem in error.errors()}) from None


def _multipart_submission(received: ReceivedForm) -> FormSubmission:
    """The submission of a multipart claim, its attachments described from its files."""
    try:
        submission = FormSubmission.model_validate_json(received.fields.get("submission", "{}"))
    except ValidationError as error:
        raise Invalid("The field `submission` must hold the form as JSON.", fields={
            "submission": str(error.errors()[0]["msg"])}) from None
    files = {index: upload for index, upload in received.files}
    count = len(received.files) + len(received.refused)
    submission.form["attachments"] = [
        {"filename": files[index].filename if index in files else "",
         "size": files[index].size if index in files else 0,
         "description": received.fields.get(DESCRIPTION_FIELD.format(number=index + 1), "")}
        for index in range(count) if index in files]
    return submission


async def _keep_as_draft(rpc: Rpc, claims: AccessClaims, dossier_id: str, kind: FormKind,
                         submission: FormSubmission | None, fields: dict[str, str]) -> None:
    """A refused file must not lose the form: what was sent becomes the form's draft."""
    data: dict[str, JsonValue] = {"form": json.loads(json.dumps(submission.form))} \
        if submission is not None else {"fields": dict(fields)}
    if submission is not None:
        data["remark"] = submission.remark
    await rpc.call(request_forms.SAVE_DRAFT, request_forms.SaveDraft(
        caller=claims.caller(), dossier_id=dossier_id, kind=kind,
        about=_about(submission.about if submission else None), data=data))


@router.post(
    "/forms/{kind}",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": request_forms.FormSubmitted,
                     "description": "Sent before with this Idempotency-Key: that request",
                     "links": request_thread("/request_id")},
               **answer_links(201, **request_thread("/request_id"))},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": FormSubmission.model_json_schema()},
        "multipart/form-data": {"schema": {"type": "object", "required": ["submission"],
                                           "properties": {
            "submission": {"type": "string", "description": "FormSubmission as JSON"},
            FILE_FIELD: {"type": "array", "items": {"type": "string", "format": "binary"}},
            "description_1": {"type": "string",
                              "description": "The description of the first file (and so "
                                             "on: description_2, ...)"}}}}}}},
)
async def submit_form(
    dossier_id: GrantedDossier, kind: FormKind, request: Request, response: Response,
    claims: CurrentCaller, rpc: Rpc, state: State,
    idempotency_key: IdempotencyHeader = None,
) -> request_forms.FormSubmitted:
    """Send a form: it becomes a pending request (201), or with an Idempotency-Key used before,
    the request stored then (200). A claim may come as multipart/form-data with its files
    (`file`, the n-th described by `description_<n>` from 1: 2 MB a file, 10 files, 10 MB
    together); a file over a limit refuses the submission (413 naming each such file, `file.0`
    the first) and what was sent is kept as the form's draft."""
    multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
    received: ReceivedForm | None = None
    if multipart:
        if kind != FormKind.CLAIM:
            raise Problem(415, "unsupported_media_type", "Only a claim is sent with files.")
        if idempotency_key and (done := await _completed_resend(
                rpc, claims, dossier_id, idempotency_key)) is not None:
            response.status_code = status.HTTP_200_OK
            return done  # its files are not read again
        await rpc.call(requests.ADMIT_ATTACHMENT, requests.AdmitAttachmentRequest(
            caller=claims.caller(), dossier_id=dossier_id))
        settings = state.settings
        received = await receive_form(
            request, memory_bytes=settings.upload_memory_bytes, file_field=FILE_FIELD,
            limits=UploadLimits(max_file_bytes=settings.attachment_max_bytes,
                                max_files=settings.attachment_max_files,
                                max_total_bytes=settings.attachment_max_total_bytes))
    try:
        if received is not None:
            try:
                submission = _multipart_submission(received)
            except Invalid:
                if received.refused:
                    await _keep_as_draft(rpc, claims, dossier_id, kind, None, received.fields)
                raise
            if received.refused:
                await _keep_as_draft(rpc, claims, dossier_id, kind, submission,
                                     received.fields)
                raise FilesRefused(received)
        else:
            submission = await _json_body(request)
        sent = await rpc.call(request_forms.SUBMIT_FORM, request_forms.SubmitForm(
            caller=claims.caller(), dossier_id=dossier_id, kind=kind, payload=submission.form,
            about=_about(submission.about), remark=submission.remark,
            idempotency_key=idempotency_key, sender_name=claims.name,
            correlation_id=correlation_id.get()))
        if kind == FormKind.CLAIM:
            files = [ClaimFile(position, upload) for position, (_, upload)
                     in enumerate(received.files)] if received is not None else []
            sent = await complete_claim(rpc, state.storage, claims.caller(), sent, files,
                                        language=claims.lang)
    finally:
        if received is not None:
            received.close()
    if not sent.created:
        response.status_code = status.HTTP_200_OK
    return sent


async def _completed_resend(rpc: Rpc, claims: AccessClaims, dossier_id: str, key: str
                            ) -> request_forms.FormSubmitted | None:
    """The claim stored before under this key, if it has all its files and its declaration."""
    try:
        stored = await rpc.call(requests.FIND_RESUBMITTED, requests.FindResubmittedQuery(
            caller=claims.caller(), dossier_id=dossier_id, idempotency_key=key))
    except NotFound:
        return None
    if stored.kind != FormKind.CLAIM or stored.form is None:
        return None  # a resend of another kind: the service answers it (409)
    record = request_forms.ClaimRecord.model_validate(stored.form)
    if record.declaration_document_id is None or any(
            attachment.document_id is None for attachment in record.attachments):
        return None
    return request_forms.FormSubmitted(
        request_id=stored.request_id, dossier_id=stored.dossier_id, kind=FormKind.CLAIM,
        status=stored.status, sent_at=stored.sent_at, created=False, form=stored.form,
        about=FormAbout(kind=stored.about.kind.value, ref_id=stored.about.ref_id,
                        label=stored.about.label)
        if stored.about.kind.value in {kind.value for kind in request_forms.FormAboutKind}
        else None,
        status_note=request_forms.status_note(stored.kind, stored.status), request=stored)


class FilesRefused(Problem):
    """Files of a form over a limit: each named, the submission not made."""

    def __init__(self, received: ReceivedForm) -> None:
        names = ", ".join(gone.filename or f"#{gone.index + 1}" for gone in received.refused)
        super().__init__(413, "files_refused",
                         f"These files were not accepted: {names}. The form was kept as a "
                         "draft: send it again without them or with smaller files.",
                         {f"{FILE_FIELD}.{gone.index}": f"{gone.filename}: {gone.reason}"
                          for gone in received.refused})


@router.get("/forms/{kind}/context")
async def form_context(
    dossier_id: GrantedDossier, kind: FormKind, claims: CurrentCaller, rpc: Rpc,
    about: AboutQuery = None,
) -> request_forms.FormContext:
    """What the form is prefilled with, as the office holds it: the person (personal data),
    the household, the claim's general data and the risk objects to choose from (from a risk
    object: preselected; from a contract: only its own, preselected when it has one)."""
    return await rpc.call(request_forms.FORM_CONTEXT, request_forms.FormContextQuery(
        caller=claims.caller(), dossier_id=dossier_id, kind=kind, about=_about(about)))


@router.get("/drafts", responses=answer_links(200, **draft("$response.body#/drafts/0/kind")))
async def list_drafts(
    dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc
) -> request_forms.DraftList:
    """The caller's unfinished forms in this dossier (30 days after their last save, gone)."""
    return await rpc.call(request_forms.LIST_DRAFTS, request_forms.ListDraftsQuery(
        caller=claims.caller(), dossier_id=dossier_id))


@router.get("/drafts/{kind}")
async def get_draft(
    dossier_id: GrantedDossier, kind: FormKind, claims: CurrentCaller, rpc: Rpc,
    about: AboutQuery = None,
) -> request_forms.FormDraft:
    """The draft of this form (404 when there is none), on any device."""
    return await rpc.call(request_forms.GET_DRAFT, request_forms.DraftKey(
        caller=claims.caller(), dossier_id=dossier_id, kind=kind, about=_about(about)))


@router.put("/drafts/{kind}", responses=answer_links(
    200, **draft("$request.path.kind", about="$request.query.about")))
async def save_draft(
    dossier_id: GrantedDossier, kind: FormKind, body: DraftBody, claims: CurrentCaller,
    rpc: Rpc, about: AboutQuery = None,
) -> request_forms.FormDraft:
    """Autosave: the half-filled form (any JSON object up to 64 KB) replaces its draft."""
    return await rpc.call(request_forms.SAVE_DRAFT, request_forms.SaveDraft(
        caller=claims.caller(), dossier_id=dossier_id, kind=kind, about=_about(about),
        data=body.data))


@router.delete("/drafts/{kind}")
async def delete_draft(
    dossier_id: GrantedDossier, kind: FormKind, claims: CurrentCaller, rpc: Rpc,
    about: AboutQuery = None,
) -> Ack:
    """Throw the draft away (also done by the page once the form is sent)."""
    return await rpc.call(request_forms.DELETE_DRAFT, request_forms.DraftKey(
        caller=claims.caller(), dossier_id=dossier_id, kind=kind, about=_about(about)))


@admin_router.get("/requests/changes")
async def data_changes(
    staff: StaffCaller, rpc: Rpc,
    since: Annotated[datetime | None, Query(description="Changes recorded after this moment "
                                            "(ISO 8601 with offset)")] = None,
    cursor: Annotated[str | None, Query(max_length=4000, description="`next_cursor` of the "
                                        "previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> request_forms.ChangesPage:
    """Accepted personal-data, address and family-member requests as the dossier-import
    schema's records (the broker's system is the master: it imports them itself), oldest
    first; the next page by `cursor`."""
    return await rpc.call(request_forms.CHANGES_SINCE, request_forms.ChangesQuery(
        caller=staff.caller(), since=since, cursor=cursor, limit=limit))
