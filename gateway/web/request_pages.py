"""The client's requests as pages: "Mijn aanvragen" (manual 3.2) with its detail, the reply, a new
message (manual 6), and the page stream that keeps them live.

The list and the detail listen to /requests/events (htmx's SSE extension): when a request of
the dossier changes, they fetch their part again (`?part=list`, `?part=thread`) through these
same routes, so a live update is authorized exactly like a reload. Attachments follow the
client-attachment path (gateway/streaming.py, 2 MB a file, 10 files, 10 MB together): the
whole form is read first, so a refused file shows the form again with the typed text.
"""

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.api.requests import store_attachments
from gateway.deps import ObjectIdPath, Rpc, RpcCaller, State
from gateway.problems import Problem
from gateway.request_streams import open_stream
from gateway.streaming import FormRefused, PageForm, UploadLimits, receive_page_form
from gateway.web.form_display import readable_form
from gateway.web.message_about import AboutChoice, resolve_about
from gateway.web.pages import (
    DOSSIER_PARAMETER,
    Pages,
    PageSession,
    active_dossier_id,
    dossier_choices,
)
from gateway.web.rendering import in_dossier
from gateway.web.session import CSRF_COOKIE, CSRF_FIELD, DOSSIER_COOKIE, WebSession, queue_cookie
from libs.contracts import requests
from libs.contracts.caller import Caller
from libs.contracts.envelope import new_id
from libs.servicekit.errors import Conflict, Invalid, NotFound, RateLimited
from libs.servicekit.logs import correlation_id

router = APIRouter(include_in_schema=False)
STATUS_FILTERS = ("all", "pending", "in_progress", "accepted", "refused", "closed")
FILE_FIELD = "file"
Part = Annotated[str | None, Query(max_length=10)]
StatusFilter = Annotated[str, Query(max_length=20)]


def _limits(state: State) -> UploadLimits:
    settings = state.settings
    return UploadLimits(max_file_bytes=settings.attachment_max_bytes,
                        max_files=settings.attachment_max_files,
                        max_total_bytes=settings.attachment_max_total_bytes)


def _megabytes(size: int) -> str:
    return f"{size / 1048576:g}"


def _upload_settings(state: State) -> dict[str, int]:
    """What the page's script checks before sending (the server checks the same)."""
    limits = _limits(state)
    return {"max_bytes": limits.max_file_bytes, "max_files": limits.max_files,
            "max_total": limits.total_bytes}


def _own_dossier(request: Request, session: WebSession) -> str:
    active = active_dossier_id(request, session.claims)
    if active is None:  # staff, or a client without a dossier: no request is theirs
        raise NotFound("This request does not exist.")
    return active


def _csrf_matches(request: Request, fields: dict[str, str]) -> None:
    """The form's CSRF token (field, or header from the page's script) against the cookie."""
    submitted = request.headers.get("x-csrf-token") or fields.get(CSRF_FIELD, "")
    expected = request.cookies.get(CSRF_COOKIE)
    if not (submitted and expected
            and hmac.compare_digest(submitted.encode(), expected.encode())):
        raise Problem(403, "csrf", "The form has expired or did not come from MyBroker.")


async def _receive(request: Request, state: State) -> PageForm | FormRefused:
    """The posted form (or its refusal with the text read), once its CSRF token matches."""
    try:
        received: PageForm | FormRefused = await receive_page_form(
            request, limits=_limits(state), memory_bytes=state.settings.upload_memory_bytes,
            file_field=FILE_FIELD)
    except FormRefused as refused:
        received = refused
    try:
        _csrf_matches(request, received.fields)
    except Problem:
        if isinstance(received, PageForm):
            received.close()
        raise
    return received


def _refusal_text(error: Exception, pages: Pages, request: Request,
                  session: WebSession, state: State) -> tuple[str, int]:
    """What the form says beside its files about a refused upload, and the status."""
    _ = pages.gettext(pages.language(request, session))
    limits = _limits(state)
    code = getattr(error, "code", "")
    if code == "too_large":
        return _("A file is larger than %(mb)s MB. Remove it and send the form again.") % {
            "mb": _megabytes(limits.max_file_bytes)}, 413
    if code == "too_many_files":
        return _("At most %(files)s files can be attached. Remove some and send the form "
                 "again.") % {"files": limits.max_files}, 413
    if code == "too_large_together":
        return _("The files together are larger than %(mb)s MB. Remove some and send the form "
                 "again.") % {"mb": _megabytes(limits.total_bytes)}, 413
    if isinstance(error, RateLimited):
        return _("Too many attachments in a short time. Please try again in a few minutes."), 429
    return _("A file could not be read. Choose it again and send the form again."), 422


async def _store_attachments(
    rpc: RpcCaller, state: State, caller: Caller, dossier_id: str, request_id: str,
    received: PageForm,
) -> list[requests.AttachmentRef]:
    """The received files as documents of the request's context, in the order chosen."""
    if not received.uploads:
        return []
    await rpc.call(requests.ADMIT_ATTACHMENT, requests.AdmitAttachmentRequest(
        caller=caller, dossier_id=dossier_id))
    return await store_attachments(rpc, state, caller, dossier_id, request_id, received.uploads,
                                   [""] * len(received.uploads))


# --- "Mijn aanvragen" -----------------------------------------------------------------------


def _by_activity(summary: requests.RequestSummary) -> Any:
    return summary.last_entry_at or summary.updated_at or summary.sent_at


@router.get("/requests")
async def requests_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                        status: StatusFilter = "all", part: Part = None) -> Response:
    """My requests: every request, form and message, the latest activity first, filtered on
    status; `part=list` is the list alone (the live update)."""
    claims = session.claims
    active = active_dossier_id(request, claims)
    status = status if status in STATUS_FILTERS else "all"
    listed: list[requests.RequestSummary] | None = None
    if active is not None:
        listed = sorted((await rpc.call(requests.LIST_REQUESTS, requests.ListRequestsQuery(
            caller=claims.caller(), dossier_id=active,
            status=None if status == "all" else status))).requests,
            key=_by_activity, reverse=True)
    context = {"active": active, "listed": listed, "status": status,
               "filters": STATUS_FILTERS}
    if part == "list":
        return pages.render(request, "requests/_list.html", {**context, "live": True},
                            session=session)
    return pages.render(request, "requests/list.html", {
        **context, "dossiers": await dossier_choices(rpc, claims)}, session=session)


@router.get("/requests/events")
async def request_events_stream(request: Request, session: PageSession, pages: Pages,
                                state: State) -> Response:
    """The page stream of the active dossier's request changes (htmx's SSE extension)."""
    dossier_id = _own_dossier(request, session)
    return pages.finish(request, open_stream(state, session.claims, dossier_id, page=True))


async def _detail(rpc: RpcCaller, caller: Caller, dossier_id: str, request_id: str, *,
                  mark_read: bool = True) -> requests.RequestPublic:
    return await rpc.call(requests.GET_REQUEST, requests.GetRequestQuery(
        caller=caller, dossier_id=dossier_id, request_id=request_id, mark_read=mark_read))


async def _render_detail(
    request: Request, session: WebSession, pages: Pages, rpc: RpcCaller, state: State,
    detail: requests.RequestPublic, *, status_code: int = 200, **extra: Any,
) -> Response:
    language = pages.language(request, session)
    return pages.render(request, "requests/detail.html", {
        "dossiers": await dossier_choices(rpc, session.claims), "active": detail.dossier_id,
        "detail": detail, "form_rows": readable_form(detail.form, language,
                                                     pages.gettext(language)),
        "upload": _upload_settings(state), "reply_body": "", **extra},
        session=session, status_code=status_code)


async def _opened(request: Request, session: WebSession, rpc: RpcCaller,
                  request_id: str) -> requests.RequestPublic:
    """The request in the active dossier; an address that does not name its dossier may be of
    the client's other dossier (it becomes the active one, as a link naming it would). Only
    the client's own dossiers are tried: another's request stays "not found"."""
    dossier_id = _own_dossier(request, session)
    caller = session.claims.caller()
    try:
        return await _detail(rpc, caller, dossier_id, request_id)
    except NotFound:
        if DOSSIER_PARAMETER in request.query_params:
            raise
        for other in session.claims.dossiers:
            if other == dossier_id:
                continue
            try:
                detail = await _detail(rpc, caller, other, request_id)
            except NotFound:
                continue
            queue_cookie(request, DOSSIER_COOKIE, other)
            return detail
        raise


@router.get("/requests/{request_id}")
async def request_page(request: Request, request_id: ObjectIdPath, session: PageSession,
                       pages: Pages, rpc: Rpc, state: State, part: Part = None,
                       sent: bool = False, replied: bool = False) -> Response:
    """A request: what was sent, its attachments, the thread, the timeline and the office's
    target, the reply form; opening it marks the office's answer read. `part=thread`: the
    live part alone."""
    detail = await _opened(request, session, rpc, request_id)
    dossier_id = detail.dossier_id
    if part == "thread":
        language = pages.language(request, session)
        return pages.render(request, "requests/_thread.html", {
            "active": dossier_id, "detail": detail, "live": True,
            "form_rows": readable_form(detail.form, language, pages.gettext(language))},
            session=session)
    return await _render_detail(request, session, pages, rpc, state, detail, sent=sent,
                                replied=replied)


@router.post("/requests/{request_id}/replies")
async def reply(request: Request, request_id: ObjectIdPath, session: PageSession, pages: Pages,
                rpc: Rpc, state: State) -> Response:
    """The client's reply, with attachments, while the thread is not closed."""
    dossier_id = _own_dossier(request, session)
    received = await _receive(request, state)
    try:
        return await _reply(request, request_id, session, pages, rpc, state, dossier_id,
                            received)
    finally:
        if isinstance(received, PageForm):
            received.close()


async def _reply(request: Request, request_id: str, session: WebSession, pages: Pages,
                 rpc: RpcCaller, state: State, dossier_id: str,
                 received: PageForm | FormRefused) -> Response:
    caller = session.claims.caller()
    detail = await _detail(rpc, caller, dossier_id, request_id, mark_read=False)
    body = received.fields.get("body", "").strip()
    _ = pages.gettext(pages.language(request, session))

    async def again(status: int, errors: dict[str, str]) -> Response:
        shown = await _detail(rpc, caller, dossier_id, request_id, mark_read=False)
        return await _render_detail(request, session, pages, rpc, state, shown,
                                    status_code=status, reply_body=body, reply_errors=errors)

    if isinstance(received, FormRefused):
        text, status = _refusal_text(received.error, pages, request, session, state)
        return await again(status, {FILE_FIELD: text})
    closed = _("This conversation is closed; send a new message.")
    if detail.status == requests.RequestStatus.CLOSED:
        return await again(409, {"body": closed})
    if not body and not received.uploads:
        return await again(422, {"body": _("Write your reply or add a file.")})
    if len(body) > requests.MAX_BODY:
        return await again(422, {"body": _("Your reply is too long (at most 10,000 "
                                           "characters).")})
    try:
        refs = await _store_attachments(rpc, state, caller, dossier_id, request_id, received)
        await rpc.call(requests.REPLY, requests.ReplyCommand(
            caller=caller, dossier_id=dossier_id, request_id=request_id, body=body,
            attachments=refs, author_name=session.claims.name[:200],
            correlation_id=correlation_id.get()))
    except Conflict:  # closed meanwhile
        return await again(409, {"body": closed})
    except (RateLimited, Invalid) as error:
        text, status = _refusal_text(error, pages, request, session, state)
        return await again(status, {FILE_FIELD: text})
    return pages.redirect(request, in_dossier(f"/requests/{request_id}?replied=1#thread",
                                              dossier_id))


# --- a new message (manual 6) ---------------------------------------------------------------


def _message_id(dossier_id: str, user_id: str, key: str) -> str:
    """The request id of a message form: the same form sent twice names the same request, so a
    resubmission finds it instead of uploading its files again."""
    return hashlib.sha256(f"{dossier_id}\n{user_id}\n{key}".encode()).hexdigest()[:32]


async def _render_message_form(
    request: Request, session: WebSession, pages: Pages, rpc: RpcCaller, state: State,
    dossier_id: str, about: AboutChoice, values: dict[str, str], *,
    errors: dict[str, str] | None = None, status_code: int = 200,
) -> Response:
    return pages.render(request, "requests/new_message.html", {
        "dossiers": await dossier_choices(rpc, session.claims), "active": dossier_id,
        "about": about, "values": values, "errors": errors or {},
        "upload": _upload_settings(state)}, session=session, status_code=status_code)


@router.get("/messages/new")
async def new_message_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, state: State,
    about: Annotated[str, Query(max_length=200)] = "general",
) -> Response:
    """A new message: the subject is written by the client, or prefilled with the contract,
    risk object or claim it was started from (manual 6: subject and contract number)."""
    dossier_id = _own_dossier(request, session)
    language = pages.language(request, session)
    choice = await resolve_about(rpc, session.claims.caller(), dossier_id, about,
                                 pages.gettext(language))
    return await _render_message_form(request, session, pages, rpc, state, dossier_id, choice, {
        "subject": choice.subject, "body": "", "idempotency_key": new_id()})


async def _resubmitted(rpc: RpcCaller, caller: Caller, dossier_id: str,
                       key: str | None) -> str | None:
    """The confirmation of the message already sent with `key`, if one was."""
    if not key:
        return None
    try:
        sent = await rpc.call(requests.FIND_RESUBMITTED, requests.FindResubmittedQuery(
            caller=caller, dossier_id=dossier_id, idempotency_key=key))
    except NotFound:
        return None
    return in_dossier(f"/requests/{sent.request_id}?sent=1", dossier_id)


@router.post("/messages/new")
async def send_message(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                       state: State) -> Response:
    """Send the message with its files; it ends on the manual's confirmation. The page's script
    sends the form's idempotency key as a header too: a resend is answered before its files
    are read."""
    dossier_id = _own_dossier(request, session)
    header_key = request.headers.get("idempotency-key", "")[:requests.MAX_IDEMPOTENCY_KEY]
    if (sent := await _resubmitted(rpc, session.claims.caller(), dossier_id, header_key)):
        return pages.redirect(request, sent)
    received = await _receive(request, state)
    try:
        return await _send_message(request, session, pages, rpc, state, dossier_id, received)
    finally:
        if isinstance(received, PageForm):
            received.close()


async def _send_message(request: Request, session: WebSession, pages: Pages, rpc: RpcCaller,
                        state: State, dossier_id: str,
                        received: PageForm | FormRefused) -> Response:
    caller = session.claims.caller()
    fields = received.fields
    _ = pages.gettext(pages.language(request, session))
    about = await resolve_about(rpc, caller, dossier_id, fields.get("about", "general")[:200], _)
    key = fields.get("idempotency_key", "").strip()[:requests.MAX_IDEMPOTENCY_KEY] or new_id()
    values = {"subject": fields.get("subject", "").strip(), "body": fields.get("body", "").strip(),
              "idempotency_key": key}
    errors: dict[str, str] = {}
    if not values["subject"]:
        errors["subject"] = _("Write a subject.")
    elif len(values["subject"]) > 200:
        errors["subject"] = _("The subject is too long (at most 200 characters).")
    if not values["body"]:
        errors["body"] = _("Write your message.")
    elif len(values["body"]) > requests.MAX_BODY:
        errors["body"] = _("Your message is too long (at most 10,000 characters).")

    async def again(status: int) -> Response:
        return await _render_message_form(request, session, pages, rpc, state, dossier_id,
                                          about, values, errors=errors, status_code=status)

    if isinstance(received, FormRefused):
        errors[FILE_FIELD], status = _refusal_text(received.error, pages, request, session, state)
        return await again(status)
    if errors:
        return await again(422)
    if (sent := await _resubmitted(rpc, caller, dossier_id, key)) is not None:
        return pages.redirect(request, sent)  # a double click, a retry: the first one stands
    request_id = _message_id(dossier_id, caller.user_id, key)
    confirmation = in_dossier(f"/requests/{request_id}?sent=1", dossier_id)
    try:
        refs = await _store_attachments(rpc, state, caller, dossier_id, request_id, received)
        await rpc.call(requests.SEND_MESSAGE, requests.SendMessageRequest(
            caller=caller, dossier_id=dossier_id, subject=values["subject"],
            body=values["body"], sender_name=session.claims.name[:200], about=about.about,
            attachments=refs, idempotency_key=key, request_id=request_id,
            correlation_id=correlation_id.get()))
    except RateLimited:
        errors["form"] = _("Too many messages or attachments in a short time. Please try "
                           "again in a few minutes.")
        return await again(429)
    except Invalid as error:
        for name in error.fields or {"form": ""}:
            errors[name if name in ("subject", "body") else "form"] = _("Check this field.")
        return await again(422)
    return pages.redirect(request, confirmation)
