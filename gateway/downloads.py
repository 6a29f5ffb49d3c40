"""Downloads from object storage to the client: streamed, with safe headers, never unverified.

The documents service hands out a presigned GET whose body is relayed chunk by chunk and hashed
on the way; the last chunk is held back until the hash matches, so a damaged body never reaches
the client whole (the transfer is cut off and the document reported damaged). A whole body that
hashed right is reported too: ranges of it may then be served without another check.
A byte range cannot be hashed, so one is served (206) only when the documents service says the
whole stored body hashed right recently (the ticket's `ranges`). Anything else — several ranges,
an `If-Range` that does not name this body's ETag (its sha256), a body not verified in time —
gets the whole body, verified (RFC 9110 14.2 lets a server ignore Range).
"""

import hashlib
import re
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
from fastapi.responses import StreamingResponse

from gateway.deps import RpcCaller
from gateway.problems import Problem, problem
from gateway.streaming import CHUNK_BYTES
from libs.contracts import documents
from libs.contracts.caller import Caller
from libs.servicekit.errors import Unavailable
from libs.servicekit.logs import get_logger

log = get_logger(__name__)

INLINE_CONTENT_TYPES = documents.INLINE_TYPES  # every other type is offered as a download
# One range of bytes: "bytes=100-199", "bytes=100-" or "bytes=-500" (the last 500).
_SINGLE_RANGE = re.compile(r"bytes=(\d+-\d*|-\d+)")
VIEW_TYPES = ("application/pdf", *sorted(documents.BROWSER_IMAGE_TYPES))


def streamed_responses(description: str, *content_types: str,
                       ranges: bool = False) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route streaming a body of one of `content_types` (`*/*`: its own
    type); with `ranges`, one byte range of a PDF (206) and a range past its end (416)."""
    answers: dict[int | str, dict[str, Any]] = {200: {
        "description": description, "content": {kind: {} for kind in content_types}}}
    if ranges:
        answers[206] = {"description": "One byte range of a PDF (Range, If-Range)",
                        "content": {"application/pdf": {}}}
        answers[416] = problem(416, "The range is not in the file")
    return answers


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266: an ASCII `filename` fallback plus the exact UTF-8 name in `filename*`."""
    # "é" keeps its "e"; a character without an ASCII base becomes "_" rather than vanish.
    ascii_name = "".join(
        char if char.isascii() else ("" if unicodedata.combining(char) else "_")
        for char in unicodedata.normalize("NFKD", filename))
    fallback = re.sub(r"[^A-Za-z0-9 !#$&+,.;=@^_`{}~()\[\]-]", "_", ascii_name).strip()
    fallback = fallback or "document"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def single_range(range_header: str | None) -> bool:
    """True for a Range header asking one byte range; several ranges are served whole."""
    return range_header is not None and _SINGLE_RANGE.fullmatch(
        range_header.replace(" ", "")) is not None


def entity_tag(sha256: str) -> str:
    """The body's strong ETag: its hash, which changes with every byte."""
    return f'"{sha256}"'


def if_range_allows(if_range: str | None, sha256: str) -> bool:
    """RFC 9110 13.1.5: a range only when If-Range is absent or names this very body."""
    return if_range is None or if_range.strip() == entity_tag(sha256)


BodyReport = Callable[[str], Awaitable[None]]


async def open_and_stream(
    rpc: RpcCaller, storage: httpx.AsyncClient, caller: Caller, *, dossier_id: str,
    document_id: str, variant: documents.BodyVariant, range_header: str | None = None,
    if_range: str | None = None, as_attachment: bool = False,
) -> StreamingResponse:
    """Ask the documents service for the body (checked for ranges when one is asked) and
    stream it; a body that fails or passes its hash is reported back."""
    ticket = await rpc.call(documents.OPEN_DOWNLOAD, documents.OpenDownloadRequest(
        caller=caller, dossier_id=dossier_id, document_id=document_id, variant=variant,
        ranged=single_range(range_header)))

    async def report_damaged(observed_sha256: str) -> None:
        await rpc.call(documents.REPORT_DAMAGED, documents.ReportDamagedRequest(
            caller=caller, dossier_id=dossier_id, document_id=document_id, variant=variant,
            observed_sha256=observed_sha256))

    async def report_verified(observed_sha256: str) -> None:
        await rpc.call(documents.REPORT_VERIFIED, documents.ReportVerifiedRequest(
            caller=caller, dossier_id=dossier_id, document_id=document_id, variant=variant,
            observed_sha256=observed_sha256))

    return await stream_download(storage, ticket, range_header=range_header, if_range=if_range,
                                 as_attachment=as_attachment, on_damaged=report_damaged,
                                 on_verified=report_verified)


async def stream_download(
    storage: httpx.AsyncClient, ticket: documents.DownloadTicket, *,
    range_header: str | None = None, if_range: str | None = None, as_attachment: bool = False,
    on_damaged: BodyReport | None = None, on_verified: BodyReport | None = None,
) -> StreamingResponse:
    """Relay the object behind a presigned GET, with safe headers; verify its hash on the way
    unless it is one range of a body the ticket says was verified whole."""
    document = ticket.document
    content_type = ticket.content_type or document.content_type
    size = ticket.size if ticket.size is not None else document.size
    expected = ticket.sha256 or document.sha256
    ranged = (ticket.ranges and content_type == "application/pdf"
              and single_range(range_header) and if_range_allows(if_range, expected))
    headers = {"Range": range_header} if ranged and range_header else {}
    try:
        upstream = await storage.send(
            storage.build_request("GET", ticket.download_url, headers=headers), stream=True)
    except httpx.HTTPError as error:
        log.warning("object storage unreachable", error=str(error))
        raise Unavailable("The document store cannot be reached.") from None
    if ranged and upstream.status_code == 416:
        await upstream.aclose()
        raise Problem(416, "range_not_satisfiable", "The requested range is not in the file.")
    if upstream.status_code not in (200, 206) or (upstream.status_code == 206 and not ranged):
        await upstream.aclose()
        log.warning("object storage refused the download", status=upstream.status_code)
        raise Unavailable("The document cannot be read right now.")
    inline = content_type in INLINE_CONTENT_TYPES and not as_attachment
    response_headers = {
        "Content-Disposition": content_disposition(
            ticket.filename or document.filename, "inline" if inline else "attachment"),
        "X-Content-Type-Options": "nosniff",
        "X-Content-SHA256": expected,
        "ETag": entity_tag(expected),
        "Accept-Ranges": "bytes" if content_type == "application/pdf" else "none",
        "Cache-Control": "private, no-store",
    }
    if upstream.status_code == 206:
        response_headers["Content-Range"] = upstream.headers.get("content-range", "")
        response_headers["Content-Length"] = upstream.headers.get("content-length", "")
        body = _relay(upstream)
    else:
        response_headers["Content-Length"] = str(size)
        body = _relay_verified(upstream, expected, on_damaged, on_verified)
    return StreamingResponse(body, status_code=upstream.status_code, media_type=content_type,
                             headers=response_headers)


async def _relay(upstream: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in _chunks(upstream):
            yield chunk
    finally:  # also when the client goes away mid-download
        await upstream.aclose()


class DamagedBody(Exception):
    """The body read from the store does not match its hash: the transfer is cut off."""


async def _chunks(upstream: httpx.Response) -> AsyncIterator[bytes]:
    """The body in pieces of about CHUNK_BYTES, joined once (httpx's own chunker copies twice)."""
    parts: list[bytes] = []
    size = 0
    async for part in upstream.aiter_bytes():  # as read from the socket: 64 KiB at most
        parts.append(part)
        size += len(part)
        if size >= CHUNK_BYTES:
            yield b"".join(parts)
            parts, size = [], 0
    if parts:
        yield b"".join(parts)


async def _relay_verified(
    upstream: httpx.Response, expected_sha256: str, on_damaged: BodyReport | None,
    on_verified: BodyReport | None,
) -> AsyncIterator[bytes]:
    digest = hashlib.sha256()
    held: bytes | None = None
    try:
        async for chunk in _chunks(upstream):
            digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
    finally:
        await upstream.aclose()
    observed = digest.hexdigest()
    if observed != expected_sha256:
        held = None  # the unverified tail is dropped, never sent (nor kept in the traceback)
        log.error("stored body does not match its hash; transfer cut off",
                  expected_sha256=expected_sha256, observed_sha256=observed)
        if on_damaged is not None:
            await on_damaged(observed)
        raise DamagedBody(observed)
    if held is not None:
        yield held
    if on_verified is not None:
        # The client has every byte (Content-Length) by now; a lost report costs only a
        # server-side check before the next range.
        try:
            await on_verified(observed)
        except Exception as error:  # noqa: BLE001 - the download itself succeeded
            log.warning("could not report a verified body", error=str(error))
