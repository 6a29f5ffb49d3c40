"""The client's document pages: "Mijn documenten" (or one context's documents) and the viewer.

A context page links its "Documenten" button to /documents?context=<kind>:<id> (manual 3.4).
The files themselves are streamed through /documents/{id}/file on the page's cookie session.
"""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from gateway.api.documents import parse_context
from gateway.deps import ObjectIdPath, Rpc, State
from gateway.downloads import open_and_stream
from gateway.signing_evidence import document_served
from gateway.web.pages import Pages, PageSession, active_dossier_id, dossier_choices
from libs.contracts import documents, paging
from libs.servicekit.errors import Invalid, NotFound

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
# The type filter of the list: value shown in the URL -> content type (or prefix).
TYPE_FILTERS = {"pdf": "application/pdf", "image": "image/", "text": "text/"}


@router.get("/documents")
async def documents_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    context: str | None = None, type: str = "",
    cursor: Annotated[str, Query(max_length=paging.MAX_CURSOR)] = "",
) -> Response:
    """My documents: newest first, filtered by type, 20 a page ("Next" carries the list's
    cursor); or one context's documents. A page link whose cursor the service refuses
    (damaged, outdated, of another dossier or filter) shows the first page with a notice."""
    claims = session.claims
    active = active_dossier_id(request, claims)
    shown_type = type if type in TYPE_FILTERS else ""
    listing: documents.DocumentList | None = None
    outdated = False
    if active is not None:
        def query(start: str) -> documents.ListDocumentsQuery:
            return documents.ListDocumentsQuery(
                caller=claims.caller(), dossier_id=active, context=parse_context(context),
                content_type=TYPE_FILTERS.get(type), cursor=start or None, page_size=PAGE_SIZE)

        try:
            listing = await rpc.call(documents.LIST_DOCUMENTS, query(cursor))
        except Invalid:
            if not cursor:
                raise
            listing, outdated = await rpc.call(documents.LIST_DOCUMENTS, query("")), True
    # A cursor is one of its dossier's list: the links name the dossier (a second tab, a
    # shared address open in it whichever one is active there).
    shown = {"type": shown_type, **({"context": context} if context else {}),
             **({"dossier": active} if active else {})}
    next_cursor = listing.next_cursor if listing else None
    return pages.render(request, "documents/list.html", {
        "dossiers": await dossier_choices(rpc, claims), "active": active,
        "documents": listing.documents if listing else [], "context": context or "",
        "type": shown_type, "page_link_outdated": outdated,
        "is_first_page": not cursor or outdated,
        "first_page": "/documents?" + urlencode(shown),
        "next_page": None if next_cursor is None else
        "/documents?" + urlencode({**shown, "cursor": next_cursor})}, session=session)


@router.get("/documents/{document_id}")
async def viewer_page(
    document_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc
) -> Response:
    """The viewer: the PDF (or the image) shown inline, with a download of the original."""
    claims = session.claims
    active = active_dossier_id(request, claims)
    if active is None:
        raise NotFound("This document does not exist.")
    ticket = await rpc.call(documents.OPEN_DOWNLOAD, documents.OpenDownloadRequest(
        caller=claims.caller(), dossier_id=active, document_id=document_id))
    # Shown inline to a signer: an offer of it counts as opened, and the page offers "Sign".
    offer = await document_served(rpc, claims, request, dossier_id=active,
                                  document_id=document_id)
    return pages.render(request, "documents/viewer.html", {
        "dossiers": await dossier_choices(rpc, claims), "active": active,
        "document": ticket.document, "offer": offer}, session=session)


@router.get("/documents/{document_id}/file")
async def document_file(
    document_id: ObjectIdPath, request: Request, session: PageSession, rpc: Rpc, state: State,
    variant: documents.BodyVariant = documents.BodyVariant.VIEW, download: bool = False,
    range_header: Annotated[str | None, Header(alias="range")] = None,
    if_range: Annotated[str | None, Header(alias="if-range")] = None,
) -> Response:
    """A document's body for the pages (the viewer's PDF, an image, the original)."""
    claims = session.claims
    active = active_dossier_id(request, claims)
    if active is None:  # staff, or a client without a dossier: no document is theirs
        raise NotFound("This document does not exist.")
    return await open_and_stream(rpc, state.storage, claims.caller(), dossier_id=active,
                                 document_id=document_id, variant=variant,
                                 range_header=range_header, if_range=if_range,
                                 as_attachment=download)
