"""The download of a client's data export: the ZIP relayed from object storage in chunks (never
whole in the gateway), from the short-lived link the auth service hands to the account's owner
only."""

from collections.abc import AsyncIterator

import httpx
from fastapi.responses import StreamingResponse

from gateway.deps import RpcCaller
from gateway.downloads import content_disposition
from libs.contracts import privacy
from libs.contracts.caller import Caller
from libs.servicekit.errors import Unavailable
from libs.servicekit.logs import get_logger

log = get_logger(__name__)


async def stream_export(rpc: RpcCaller, storage: httpx.AsyncClient, caller: Caller,
                        export_id: str) -> StreamingResponse:
    """Ask auth for the caller's own export (404 someone else's, 410 expired) and relay it."""
    ticket = await rpc.call(privacy.OPEN_EXPORT_DOWNLOAD,
                            privacy.ExportQuery(caller=caller, export_id=export_id))
    try:
        upstream = await storage.send(storage.build_request("GET", ticket.download_url),
                                      stream=True)
    except httpx.HTTPError as error:
        log.warning("object storage unreachable", error=str(error))
        raise Unavailable("The export cannot be read right now.") from None
    if upstream.status_code != 200:
        await upstream.aclose()
        log.warning("object storage refused the export", status=upstream.status_code)
        raise Unavailable("The export cannot be read right now.")

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        finally:  # also when the client goes away mid-download
            await upstream.aclose()

    headers = {"Content-Disposition": content_disposition(ticket.filename),
               "Content-Length": upstream.headers.get("content-length", str(ticket.size)),
               "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
    return StreamingResponse(relay(), media_type="application/zip", headers=headers)
