"""The client's data export (GDPR articles 15 and 20) in the JSON API, and the office's list.

One export at a time per account (asking again shows the running one), a few a day; the ZIP
is downloadable by its owner only, for a limited time (then 410).
"""

from typing import Annotated

from fastapi import Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from gateway.api_links import answer_links, export
from gateway.deps import CurrentCaller, Rpc, StaffCaller, State
from gateway.downloads import streamed_responses
from gateway.privacy_downloads import stream_export
from gateway.problems import api_router
from libs.contracts import privacy
from libs.contracts.ids import ID_MAX_LENGTH, ID_PATTERN
from libs.i18n import as_language

router = api_router(prefix="/api/v1/privacy", tags=["privacy"])
admin_router = api_router(prefix="/admin/api/v1/privacy", tags=["admin"])
ExportIdPath = Annotated[str, Path(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN,
                                   description="An export's id")]


@router.post("/exports", status_code=202, responses={
    200: {"model": privacy.ExportStarted, "links": export("/export/export_id"),
          "description": "An export of yours is running: that one"},
    **answer_links(202, **export("/export/export_id"))})
async def request_export(claims: CurrentCaller, rpc: Rpc, request: Request,
                         response: Response) -> privacy.ExportStarted:
    """Ask for everything the portal holds about you; 200 with the running one if any."""
    language = as_language(request.headers.get("accept-language", "")[:2].lower())
    started = await rpc.call(privacy.REQUEST_EXPORT, privacy.RequestExport(
        caller=claims.caller(), language=language))
    if not started.created:
        response.status_code = 200
    return started


@router.get("/exports", responses=answer_links(200, **export("/exports/0/export_id")))
async def list_my_exports(claims: CurrentCaller, rpc: Rpc) -> privacy.ExportList:
    """Your exports, the newest first."""
    return await rpc.call(privacy.LIST_MY_EXPORTS, privacy.ExportsQuery(caller=claims.caller()))


@router.get("/exports/{export_id}")
async def get_export(export_id: ExportIdPath, claims: CurrentCaller, rpc: Rpc
                     ) -> privacy.ExportPublic:
    """One of your exports: its state, its parts, why it failed."""
    return await rpc.call(privacy.GET_EXPORT, privacy.ExportQuery(
        caller=claims.caller(), export_id=export_id))


@router.get("/exports/{export_id}/download", response_class=StreamingResponse,
            responses=streamed_responses("The export's ZIP", "application/zip"))
async def download_export(export_id: ExportIdPath, claims: CurrentCaller, rpc: Rpc,
                          state: State) -> StreamingResponse:
    """The ZIP of one of your ready exports (410 once it expired)."""
    return await stream_export(rpc, state.storage, claims.caller(), export_id)


@admin_router.get("/exports")
async def list_exports(staff: StaffCaller, rpc: Rpc,
                       state: privacy.ExportState | None = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> privacy.ExportList:
    """Every client's exports, the newest first (which failed, and which part)."""
    return await rpc.call(privacy.LIST_EXPORTS, privacy.StaffExportsQuery(
        caller=staff.caller(), state=state, limit=limit))
