"""The office page that publishes documents into a dossier's context.

Staff choose a dossier, then a context among the dossier's objects (listed by name), give each
file a title and send them. The page's script uploads the files one by one to /files (so each
has its own progress bar and its own error: one refused file never loses the others), then
announces the published ones together to /batches: the documents service's PUBLISH_BATCH, the
same call as the admin API's batch, so the client gets one mail per batch.
The problems page lists damaged documents (never served to clients) and failed uploads with
their reason, the latest first, each with a link to its dossier's documents.
The staff's viewer shows any dossier's document (a client's attachment, say) as the client's
viewer does. The script's requests carry the CSRF token in a header (a form of another site
cannot set one): checking it before the body is read keeps a forged upload from being read.
"""

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from gateway.api.admin_documents import MAX_FILES_PER_BATCH, announce_batch
from gateway.api.documents import parse_context
from gateway.deps import DossierIdPath, ObjectIdPath, Rpc, RpcCaller, State
from gateway.downloads import open_and_stream
from gateway.problems import Problem
from gateway.streaming import UploadLimits, receive_uploads, store_upload
from gateway.web.admin_pages import Translate, office_page, staff_only
from gateway.web.pages import Pages, PageSession
from gateway.web.rendering import _mark, safe_next
from gateway.web.session import CSRF_COOKIE
from libs.contracts import documents, dossier
from libs.contracts.caller import Caller
from libs.servicekit.errors import Invalid, NotFound, ServiceError, Unavailable

router = APIRouter(include_in_schema=False)
CSRF_HEADER = "X-CSRF-Token"
MAX_OBJECTS_PER_KIND = 1000  # the context list shows this many persons, contracts... at most
_PAGE_SIZE = 100
_Item = TypeVar("_Item")


@dataclass(frozen=True)
class ContextChoice:
    """One entry of the context list: `value` as the API writes a context, and a name."""

    value: str
    name: str


async def check_csrf_header(request: Request) -> None:
    """Refuse a script request whose CSRF header does not match the cookie."""
    submitted = request.headers.get(CSRF_HEADER, "")
    expected = request.cookies.get(CSRF_COOKIE)
    if not (submitted and expected
            and hmac.compare_digest(submitted.encode(), expected.encode())):
        raise Problem(403, "csrf", "The page has expired or did not come from MyBroker.")


CsrfHeaderChecked = Depends(check_csrf_header)


async def _every_page(
    fetch: Callable[[str | None], Awaitable[tuple[list[_Item], str | None]]],
) -> list[_Item]:
    """The items of a list, page after page along its cursors, up to MAX_OBJECTS_PER_KIND."""
    items, next_cursor = await fetch(None)
    while next_cursor is not None and len(items) < MAX_OBJECTS_PER_KIND:
        more, next_cursor = await fetch(next_cursor)
        items.extend(more)
    return items[:MAX_OBJECTS_PER_KIND]


async def context_choices(
    rpc: RpcCaller, caller: Caller, dossier_id: str, _: Translate
) -> dict[str, list[ContextChoice]]:
    """The dossier's contexts by group: its general data, persons, risk objects, contracts,
    claims, each object by the name the client knows it by."""
    def query(cursor: str | None) -> dossier.ListQuery:
        return dossier.ListQuery(caller=caller, dossier_id=dossier_id, cursor=cursor,
                                 page_size=_PAGE_SIZE)

    async def risk_objects(cursor: str | None) -> tuple[list[dossier.RiskObject], str | None]:
        found = await rpc.call(dossier.LIST_RISK_OBJECTS, query(cursor))
        return [line.risk_object for line in found.items], found.next_cursor

    async def contracts(cursor: str | None) -> tuple[list[dossier.Contract], str | None]:
        found = await rpc.call(dossier.LIST_CONTRACT_PAGE, query(cursor))
        return found.items, found.next_cursor

    async def claims(cursor: str | None) -> tuple[list[dossier.Claim], str | None]:
        found = await rpc.call(dossier.LIST_CLAIMS, query(cursor))
        return found.items, found.next_cursor

    persons = await rpc.call(dossier.LIST_PERSONS, dossier.DossierQuery(
        caller=caller, dossier_id=dossier_id))
    return {
        _("General data"): [ContextChoice("general", _("The dossier's general data"))],
        _("Persons"): [ContextChoice(f"person:{p.person_id}", f"{p.first_name} {p.last_name}")
                       for p in persons.persons[:MAX_OBJECTS_PER_KIND]],
        _("Risk objects"): [ContextChoice(f"risk_object:{r.risk_object_id}", r.description)
                            for r in await _every_page(risk_objects)],
        _("Contracts"): [ContextChoice(f"contract:{c.contract_id}",
                                       f"{c.policy_number} · {c.product} ({c.insurer})")
                         for c in await _every_page(contracts)],
        _("Claims"): [ContextChoice(f"claim:{c.claim_id}", f"{c.claim_number} · {c.description}")
                      for c in await _every_page(claims)],
    }


@router.get("/admin/documents")
async def publish_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, state: State,
    dossier_id: str = "", context: str = "general",
) -> Response:
    """Choose a dossier and a context, then publish several files into it."""
    caller = staff_only(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    chosen = dossier_id.strip()
    values: dict[str, Any] = {"dossier_id": chosen, "context": context, "summary": None,
                              "contexts": {}, "recent": [], "error": None}
    try:
        shown_context = parse_context(context)
    except Invalid:
        shown_context, values["context"] = None, "general"  # a mistyped address: the general data
    if chosen:
        try:
            values["summary"] = await rpc.call(dossier.GET_DOSSIER_SUMMARY, dossier.DossierQuery(
                caller=caller, dossier_id=chosen))
        except (NotFound, Invalid, ValidationError):  # unknown, or not a dossier number at all
            values["error"] = _("No dossier has this number.")
        else:
            values["contexts"] = await context_choices(rpc, caller, chosen, _)
            recent = await rpc.call(documents.LIST_DOCUMENTS, documents.ListDocumentsQuery(
                caller=caller, dossier_id=chosen, context=shown_context, page_size=20))
            values["recent"] = recent.documents
    return office_page(pages, request, session, "admin/documents.html", {
        **values, "max_file_bytes": state.settings.max_upload_bytes,
        "max_files": MAX_FILES_PER_BATCH}, status_code=404 if values["error"] else 200)


def _refusal(error: ServiceError | Problem, _: Translate) -> tuple[str, int]:
    """What the page shows beside a refused file, and the status."""
    fields = (error.fields or {}) if isinstance(error, ServiceError) else {}
    if isinstance(error, Problem):
        if error.code.startswith("too_large"):
            return _("The file is too large."), error.status
        return _("The file could not be sent: %(detail)s") % {"detail": error.detail}, error.status
    if isinstance(error, NotFound):
        return _("This dossier or context does not exist."), 404
    if isinstance(error, Unavailable):
        return _("The document store cannot be reached; try this file again later."), 503
    if isinstance(error, Invalid):
        if "quota" in fields.get("size", ""):
            return _("The dossier's storage quota is used up."), 422
        if "size" in fields:
            return _("The file is too large."), 413
        if "unknown type" in fields.get("file", ""):
            return _("MyBroker cannot show this type of file (unknown type)."), 422
        if "context" in fields:
            return _("Choose a context."), 422
        return _("Some information is not valid: %(detail)s") % {"detail": error.detail}, 422
    return _("The file could not be published: %(detail)s") % {"detail": error.detail}, 409


@router.post("/admin/documents/{dossier_id}/files", dependencies=[CsrfHeaderChecked])
async def publish_file(
    dossier_id: DossierIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    state: State,
) -> JSONResponse:
    """One file of the page's batch (multipart: `file`, `title`, `context`), published but
    not yet announced; answers the document, or the reason it was refused."""
    caller = staff_only(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    settings = state.settings
    try:
        [upload] = await receive_uploads(request, memory_bytes=settings.upload_memory_bytes,
                                         limits=UploadLimits(settings.max_upload_bytes))
    except (ServiceError, Problem) as refused:
        message, status = _refusal(refused, _)
        return JSONResponse({"error": message}, status_code=status)
    try:
        title = " ".join(upload.fields.get("title", "").split())[:200] or upload.filename
        document = await store_upload(
            rpc, state.storage, caller, dossier_id, title, upload,
            parse_context(upload.fields.get("context", "general")), viewable_only=True)
    except (ServiceError, Problem) as refused:
        message, status = _refusal(refused, _)
        return JSONResponse({"error": message}, status_code=status)
    finally:
        upload.close()
    return JSONResponse(status_code=201, content={
        "document_id": document.document_id, "title": document.title,
        "filename": document.filename})


@router.post("/admin/documents/{dossier_id}/batches", dependencies=[CsrfHeaderChecked])
async def announce_files(
    dossier_id: DossierIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    document_ids: Annotated[list[str], Body(embed=True, min_length=1, max_length=100)],
) -> JSONResponse:
    """The page's files are all sent: announce the published ones as one batch (one mail)."""
    caller = staff_only(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    try:
        batch = await announce_batch(rpc, caller, dossier_id, document_ids)
    except (ServiceError, Problem) as refused:
        message, status = _refusal(refused, _)
        return JSONResponse({"error": message}, status_code=status)
    # Files the service announced itself meanwhile (this call came late) were mailed already.
    count = batch.count + batch.announced_before
    ngettext = pages.ngettext(pages.language(request, session))
    return JSONResponse({"count": count, "message": ngettext(
        "%(count)s document published; the client gets one e-mail about it.",
        "%(count)s documents published; the client gets one e-mail about them.", count) % {
        "count": count}})


PROBLEMS_SHOWN = 100  # the documents service lists the latest problems, without pages
# The documents service's fixed reasons, shown in the reader's language; the others carry
# figures (sizes, a hash) and are shown as the service wrote them.
KNOWN_REASONS = (
    _mark("The upload was never completed."),
    _mark("The stored file is missing."),
    _mark("The stored original is missing."),
    _mark("The stored rendition is missing."),
    _mark("The stored thumbnail is missing."),
    _mark("MyBroker cannot show this type of file (unknown type)."),
    # the documents service's refusals of ZIP containers (services/documents/sniffing.py)
    _mark("The file unpacks to more than 100 MB; it was refused as a possible zip bomb."),
    _mark("The file unpacks to more than 100 times its size; it was refused as a possible "
          "zip bomb."),
    _mark("The file holds too many parts; it was refused as a possible zip bomb."),
    _mark("The file's table of contents cannot be read; it was refused as a possible zip bomb."),
)


async def _dossier_names(rpc: RpcCaller, caller: Caller,
                         dossier_ids: set[str]) -> dict[str, str]:
    """The names of the dossiers that exist among these (a refused upload may name none)."""
    async def name_of(dossier_id: str) -> tuple[str, str | None]:
        try:
            summary = await rpc.call(dossier.GET_DOSSIER_SUMMARY, dossier.DossierQuery(
                caller=caller, dossier_id=dossier_id))
        except (NotFound, Invalid):
            return dossier_id, None
        return dossier_id, summary.name

    found = await asyncio.gather(*(name_of(dossier_id) for dossier_id in sorted(dossier_ids)))
    return {dossier_id: name for dossier_id, name in found if name is not None}


@router.get("/admin/document-problems")
async def document_problems_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
) -> Response:
    """Damaged documents and failed uploads with their reason, the latest first."""
    caller = staff_only(session).claims.caller()
    listed = await rpc.call(documents.LIST_DOCUMENT_PROBLEMS, documents.DocumentProblemsQuery(
        caller=caller, limit=PROBLEMS_SHOWN))
    names = await _dossier_names(rpc, caller, {problem.dossier_id for problem in listed.problems})
    _ = pages.gettext(pages.language(request, session))
    reasons = {problem.document_id: _(problem.reason) if problem.reason in KNOWN_REASONS
               else problem.reason for problem in listed.problems}
    return office_page(pages, request, session, "admin/document_problems.html", {
        "problems": listed.problems, "dossier_names": names, "reasons": reasons,
        "all_shown": len(listed.problems) < PROBLEMS_SHOWN, "shown": PROBLEMS_SHOWN,
        "error": None})


def _back_link(back: str) -> str | None:
    """Where the viewer's "Close" leads: an office page only (never another site)."""
    target = safe_next(back)
    return target if target.startswith("/admin/") else None


@router.get("/admin/dossiers/{dossier_id}/documents/{document_id}")
async def staff_viewer_page(
    dossier_id: DossierIdPath, document_id: ObjectIdPath, request: Request,
    session: PageSession, pages: Pages, rpc: Rpc,
    back: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """The staff's viewer of any dossier's document (a client's attachment, a claim's
    declaration): the PDF or image shown inline, with a download of the original."""
    caller = staff_only(session).claims.caller()
    ticket = await rpc.call(documents.OPEN_DOWNLOAD, documents.OpenDownloadRequest(
        caller=caller, dossier_id=dossier_id, document_id=document_id))
    return office_page(pages, request, session, "admin/document_viewer.html", {
        "document": ticket.document, "back": _back_link(back), "error": None})


@router.get("/admin/dossiers/{dossier_id}/documents/{document_id}/file")
async def staff_document_file(
    dossier_id: DossierIdPath, document_id: ObjectIdPath, session: PageSession, rpc: Rpc,
    state: State, variant: documents.BodyVariant = documents.BodyVariant.VIEW,
    download: bool = False,
    range_header: Annotated[str | None, Header(alias="range")] = None,
    if_range: Annotated[str | None, Header(alias="if-range")] = None,
) -> Response:
    """A document's body for the staff's viewer (the PDF, an image, the original)."""
    caller = staff_only(session).claims.caller()
    return await open_and_stream(rpc, state.storage, caller, dossier_id=dossier_id,
                                 document_id=document_id, variant=variant,
                                 range_header=range_header, if_range=if_range,
                                 as_attachment=download)
