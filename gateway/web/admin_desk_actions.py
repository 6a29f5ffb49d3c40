"""What the office does with a request on its detail page: take it in progress, assign it to a
colleague, answer it (text and files, optionally accepting or refusing it in the same step),
accept, refuse with a reason, close, release, and write internal notes.

Each action is the requests service's own command (the same as the admin API's); the service
judges every transition. Each form carries the version of the request the page showed: an
action on a request that changed meanwhile, or a move its status does not allow, comes back
as the detail page with a readable message and the text the staff member typed, never lost.
The answer is a multipart form (its files are stored as documents of the request's context,
under the client attachments' limits); its CSRF field is checked once the form is read.
"""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from gateway.deps import ObjectIdPath, Rpc, RpcCaller, State
from gateway.problems import Problem
from gateway.streaming import UploadLimits, receive_form, store_upload
from gateway.web.admin_desk_pages import attachment_limits, detail_page, staff_members
from gateway.web.admin_pages import Translate, refusal_message, staff_only
from gateway.web.desk_view import STATUS_NAMES
from gateway.web.pages import CsrfChecked, Pages, PageSession
from gateway.web.session import CSRF_COOKIE, CSRF_FIELD, WebSession
from libs.contracts import documents, requests
from libs.contracts.rpc import RpcMethod
from libs.servicekit.errors import Conflict, Invalid, ServiceError, Unavailable
from libs.servicekit.logs import correlation_id

router = APIRouter(include_in_schema=False)
STATUS_ACTIONS = {"accepted", "refused", "closed", "pending"}
Text = Annotated[str, Form(max_length=requests.MAX_BODY)]
Reason = Annotated[str, Form(max_length=2000)]
Version = Annotated[str, Form(max_length=12)]


def _version(value: str) -> int | None:
    """The version the page showed (None when absent or not a number: no check)."""
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


async def _conflict_message(rpc: RpcCaller, session: WebSession, request_id: str,
                            version: int | None, _: Translate) -> str:
    """Why a refused move was refused, in words: someone acted first, or the status does not
    allow it (the requests service says Conflict for both)."""
    current = await rpc.call(requests.DESK_GET, requests.DeskGetQuery(
        caller=session.claims.caller(), request_id=request_id, mark_read=False))
    if version is not None and current.version != version:
        return _("This request changed since you opened it (a colleague or the client acted "
                 "on it). Here it is as it is now; check it and try again.")
    if current.status == requests.RequestStatus.CLOSED:
        return _("This request is closed: nothing can be changed or added any more, except "
                 "internal notes.")
    status = _(STATUS_NAMES[current.status]) if current.status in STATUS_NAMES else current.status
    return _("This is not possible for a request that is “%(status)s”.") % {"status": status}


async def _refused(
    request: Request, session: WebSession, pages: Pages, rpc: RpcCaller, request_id: str,
    error: ServiceError, version: int | None, typed: dict[str, str],
) -> Response:
    """The detail page again, with why the action was refused and what was typed."""
    _ = pages.gettext(pages.language(request, session))
    if isinstance(error, Conflict):
        message, status = await _conflict_message(rpc, session, request_id, version, _), 409
    elif isinstance(error, Invalid) and "reason" in (error.fields or {}):
        message, status = _("Give the reason of the refusal; the client reads it."), 422
    elif isinstance(error, Unavailable):
        raise error  # the readable "try again" page
    else:
        message, status = refusal_message(error, _)
    return await detail_page(request, session, pages, rpc, request_id, mark_read=False,
                             error=message, status_code=status, typed=typed)


async def _act(
    request: Request, session: WebSession, pages: Pages, rpc: RpcCaller, request_id: str,
    command: requests.OfficeCommand, method: RpcMethod[Any, Any], done: str,
    typed: dict[str, str],
) -> Response:
    try:
        await rpc.call(method, command)
    except ServiceError as error:
        return await _refused(request, session, pages, rpc, request_id, error,
                              command.version, typed)
    return pages.redirect(request, f"/admin/desk/{request_id}?done={done}")


def _command_base(session: WebSession, request_id: str, version: str) -> dict[str, object]:
    return {"caller": session.claims.caller(), "request_id": request_id,
            "staff_name": session.claims.name[:200], "version": _version(version),
            "correlation_id": correlation_id.get()}


@router.post("/admin/desk/{request_id}/take", dependencies=[CsrfChecked])
async def take_request(
    request_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    version: Version = "",
) -> Response:
    """Take the request in progress: it is assigned to me."""
    staff_only(session)
    return await _act(request, session, pages, rpc, request_id, requests.TakeCommand(
        **_command_base(session, request_id, version)), requests.TAKE, "taken", {})


@router.post("/admin/desk/{request_id}/assign", dependencies=[CsrfChecked])
async def assign_request(
    request_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    assignee_id: Annotated[str, Form(max_length=64)] = "", version: Version = "",
) -> Response:
    """Give the request to a colleague (or to myself)."""
    caller = staff_only(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    staff = {member.user_id: member.display_name for member in await staff_members(rpc, caller)}
    if assignee_id not in staff:
        return await detail_page(request, session, pages, rpc, request_id, mark_read=False,
                                 status_code=422, error=_("Choose a colleague in the list."))
    return await _act(request, session, pages, rpc, request_id, requests.AssignCommand(
        **_command_base(session, request_id, version), assignee_id=assignee_id,
        assignee_name=staff[assignee_id][:200]), requests.REASSIGN, "assigned", {})


@router.post("/admin/desk/{request_id}/status", dependencies=[CsrfChecked])
async def change_status(
    request_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    status: Annotated[str, Form(max_length=20)] = "", reason: Reason = "",
    version: Version = "",
) -> Response:
    """Accept, refuse (with a reason the client reads), close, or release the request."""
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    typed = {"refuse_reason": reason}
    if status not in STATUS_ACTIONS:
        return await detail_page(request, session, pages, rpc, request_id, mark_read=False,
                                 status_code=422, typed=typed,
                                 error=_("Choose what to do with the request."))
    if status == "refused" and not reason.strip():
        return await detail_page(request, session, pages, rpc, request_id, mark_read=False,
                                 status_code=422, typed=typed,
                                 error=_("Give the reason of the refusal; the client reads it."))
    return await _act(request, session, pages, rpc, request_id, requests.SetStatusCommand(
        **_command_base(session, request_id, version), status=requests.StatusChange(status),
        reason=reason.strip() if status == "refused" else None), requests.SET_STATUS, status,
        typed)


@router.post("/admin/desk/{request_id}/notes", dependencies=[CsrfChecked])
async def add_note(
    request_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    body: Text = "",
) -> Response:
    """An internal note on the request: for the office only, never shown to the client."""
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    typed = {"note_body": body}
    if not body.strip():
        return await detail_page(request, session, pages, rpc, request_id, mark_read=False,
                                 status_code=422, typed=typed, error=_("Write the note first."))
    return await _act(request, session, pages, rpc, request_id, requests.AddNoteCommand(
        **_command_base(session, request_id, ""), body=body.strip()), requests.ADD_NOTE,
        "noted", typed)


def _check_csrf_field(request: Request, submitted: str | None) -> None:
    """The multipart answer's CSRF field against the cookie (as check_csrf does for forms)."""
    expected = request.cookies.get(CSRF_COOKIE)
    if not (submitted and expected
            and hmac.compare_digest(submitted.encode(), expected.encode())):
        raise Problem(403, "csrf", "The form has expired or did not come from MyBroker.")


def _upload_refusal(error: Problem | ServiceError, limits: dict[str, Any], _: Translate
                    ) -> tuple[str, int]:
    """What the page says of refused files (the limits are the client attachments')."""
    if isinstance(error, Problem):
        if error.code == "too_many_files":
            return _("Too many files: at most %(count)s files can be sent with an "
                     "answer.") % limits, 413
        if error.code.startswith("too_large"):
            return _("The files are too large: at most %(file_size)s MB a file and "
                     "%(total_size)s MB together.") % limits, 413
        return _("The files could not be sent: %(detail)s") % {"detail": error.detail}, 415
    if isinstance(error, Invalid):
        return _("The form is damaged or a text is too long; check it and send it again."), 422
    raise error


@router.post("/admin/desk/{request_id}/answer")
async def answer_request(
    request_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    state: State,
) -> Response:
    """Answer the client (text and files), optionally accepting or refusing in the same step."""
    caller = staff_only(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    settings = state.settings
    limits = attachment_limits(settings)
    try:
        form = await receive_form(request, memory_bytes=settings.upload_memory_bytes,
                                  limits=UploadLimits(
                                      max_file_bytes=settings.attachment_max_bytes,
                                      max_files=settings.attachment_max_files,
                                      max_total_bytes=settings.attachment_max_total_bytes))
    except (Problem, Invalid) as refused:
        message, code = _upload_refusal(refused, limits, _)
        return await detail_page(request, session, pages, rpc, request_id, mark_read=False,
                                 error=message, status_code=code)
    fields, uploads = form.fields, [upload for _, upload in form.files]
    try:
        _check_csrf_field(request, fields.get(CSRF_FIELD))
        body = fields.get("body", "")[:requests.MAX_BODY]
        status, reason = fields.get("status", ""), fields.get("reason", "")[:2000]
        typed = {"answer_body": body, "answer_status": status, "answer_reason": reason}
        version = _version(fields.get("version", ""))
        error = None
        # A file input left empty is sent as a nameless empty part: no file, not a refusal.
        if left_out := [gone.filename for gone in form.refused if gone.filename]:
            error = _("These files were not sent: %(files)s. At most %(count)s files, "
                      "%(file_size)s MB a file and %(total_size)s MB together.") % {
                **limits, "files": ", ".join(left_out)}
        elif not body.strip() and not uploads:
            error = _("Write an answer or attach a file.")
        elif status not in ("", "accepted", "refused"):
            error = _("Choose what to do with the request.")
        elif status == "refused" and not reason.strip():
            error = _("Give the reason of the refusal; the client reads it.")
        if error is not None:
            return await detail_page(request, session, pages, rpc, request_id, mark_read=False,
                                     error=error, status_code=413 if left_out else 422,
                                     typed=typed)
        current = await rpc.call(requests.DESK_GET, requests.DeskGetQuery(
            caller=caller, request_id=request_id, mark_read=False))
        if current.status == requests.RequestStatus.CLOSED:  # before any file is stored
            return await _refused(request, session, pages, rpc, request_id,
                                  Conflict("closed"), version, typed)
        context = documents.DocumentContext(kind=documents.ContextKind.REQUEST,
                                            ref_id=request_id)
        attachments = []
        for upload in uploads:
            try:
                stored = await store_upload(rpc, state.storage, caller, current.dossier_id,
                                            upload.filename[:200], upload, context)
            except (Problem, Invalid) as refused:
                message, code = _upload_refusal(refused, limits, _)
                return await detail_page(request, session, pages, rpc, request_id,
                                         mark_read=False, error=message, status_code=code,
                                         typed=typed)
            attachments.append(requests.AttachmentRef(
                document_id=stored.document_id, filename=stored.filename, size=stored.size))
        return await _act(request, session, pages, rpc, request_id, requests.AnswerCommand(
            **_command_base(session, request_id, fields.get("version", "")),
            body=body.strip(), attachments=attachments,
            status=requests.StatusChange(status) if status else None,
            reason=reason.strip() if status == "refused" else None),
            requests.ANSWER, "answered", typed)
    finally:
        form.close()
