"""The page "Mijn privacy": the client asks for an export of all their data and downloads it
(GDPR articles 15 and 20). The work is the auth service's; the page shows its state."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.api.privacy_exports import ExportIdPath
from gateway.deps import Rpc, State
from gateway.privacy_downloads import stream_export
from gateway.web.dossier_pages import _zone
from gateway.web.pages import CsrfChecked, Pages, PageSession
from gateway.web.rendering import _mark
from libs.contracts import privacy
from libs.servicekit.errors import Gone, RateLimited

router = APIRouter(include_in_schema=False)
LIFETIME_DAYS = 7  # shown on the page; auth's MYBROKER_AUTH_EXPORT_LIFETIME_DAYS decides
# How the page names a part that failed (the same words as the ZIP's index.html).
PART_TITLES = {
    "account": _mark("Your account and login history"),
    "dossiers": _mark("Your dossiers: persons, risk objects, contracts, claims and invoices"),
    "documents": _mark("Your documents (the original files)"),
    "requests": _mark("Your requests, forms and messages"),
    "signatures": _mark("Your signatures and their evidence"),
    "mails": _mark("The e-mails sent to you"),
    "zip": _mark("The archive (ZIP)"),
}


async def _privacy_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc, *,
                        notice: str | None = None, status_code: int = 200) -> Response:
    _ = pages.gettext(pages.language(request, session))
    context = await _zone(request, session, rpc)
    listed = await rpc.call(privacy.LIST_MY_EXPORTS,
                            privacy.ExportsQuery(caller=session.claims.caller()))
    running = next((item for item in listed.exports
                    if item.state == privacy.ExportState.RUNNING), None)
    return pages.render(request, "privacy/privacy.html", {
        **context, "exports": listed.exports, "running": running, "notice": notice,
        "lifetime_days": LIFETIME_DAYS, "failed_parts": {
            item.export_id: "; ".join(_(PART_TITLES.get(name, name)) for name in
                                      item.failed_parts) for item in listed.exports}},
        session=session, status_code=status_code)


@router.get("/privacy")
async def privacy_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc
                       ) -> Response:
    """"Mijn privacy": the exports of the client's data and the button to ask one."""
    return await _privacy_page(request, session, pages, rpc)


@router.post("/privacy/exports", dependencies=[CsrfChecked])
async def ask_export(request: Request, session: PageSession, pages: Pages, rpc: Rpc
                     ) -> Response:
    """Ask for an export (a running one is shown instead), then back to the page."""
    _ = pages.gettext(pages.language(request, session))
    try:
        await rpc.call(privacy.REQUEST_EXPORT, privacy.RequestExport(
            caller=session.claims.caller(), language=pages.language(request, session)))
    except RateLimited:
        return await _privacy_page(request, session, pages, rpc, status_code=429, notice=_(
            "You have asked for your data several times today. Please try again tomorrow."))
    return pages.redirect(request, "/privacy")


@router.get("/privacy/exports/{export_id}/download")
async def download_export(export_id: ExportIdPath, request: Request, session: PageSession,
                          pages: Pages, rpc: Rpc, state: State) -> Response:
    """The ZIP of the client's own export; once expired, a page that says so (410)."""
    try:
        return await stream_export(rpc, state.storage, session.claims.caller(), export_id)
    except Gone:
        context = await _zone(request, session, rpc)
        return pages.render(request, "privacy/expired.html", context, session=session,
                            status_code=410)
