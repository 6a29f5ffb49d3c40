"""File bodies between client and object storage: streamed, bounded in memory, never on the bus.

Upload: the multipart body is parsed as it arrives; the file part is counted, hashed (sha256)
and spooled to a temporary file, and refused with 413 the moment it passes the limit. Then the
documents service hands out a presigned PUT, the spooled file is streamed to it with its
Content-Length, and the upload is completed with the size and hash measured here.
Download: the documents service hands out a presigned GET whose body is relayed chunk by chunk.
"""

import hashlib
import re
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from urllib.parse import quote

import httpx
from fastapi import Request
from fastapi.responses import StreamingResponse
from python_multipart.multipart import MultipartParser, parse_options_header

from gateway.deps import RpcCaller
from gateway.problems import Problem
from libs.contracts import documents
from libs.contracts.caller import Caller
from libs.servicekit.errors import Invalid, Unavailable
from libs.servicekit.logs import correlation_id, get_logger

log = get_logger(__name__)
CHUNK_BYTES = 256 * 1024
MAX_FIELD_BYTES = 16 * 1024  # text fields (title, ...) are short
MAX_PARTS = 16
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # headers and boundaries around the file part


def too_large(max_bytes: int) -> Problem:
    """The 413 problem of a body over the upload limit."""
    return Problem(413, "too_large", f"The file is larger than the limit of {max_bytes} bytes.")


@dataclass
class SpooledUpload:
    """A received file: on a temporary file (in memory while small), with its size and hash."""

    file: SpooledTemporaryFile[bytes]
    filename: str
    content_type: str
    size: int
    sha256: str
    fields: dict[str, str]

    def close(self) -> None:
        """Free the temporary file."""
        self.file.close()


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = "application/octet-stream"
    data: bytearray = field(default_factory=bytearray)


class _UploadReceiver:
    """python-multipart callbacks that spool the one file part and keep the short text fields."""

    def __init__(self, file_field: str, max_bytes: int, memory_bytes: int) -> None:
        self._file_field = file_field
        self._max_bytes = max_bytes
        # Outlives this parse: closed by SpooledUpload.close() after the store has it.
        self.spool: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(  # noqa: SIM115
            max_size=memory_bytes)
        self.digest = hashlib.sha256()
        self.size = 0
        self.fields: dict[str, str] = {}
        self.file_part: _Part | None = None
        self._parts = 0
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict[str, object]:
        """The callback table python-multipart expects."""
        return {
            "on_part_begin": self._on_part_begin, "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end, "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value, "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
        }

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise Invalid("The form has too many parts.")
        self._part = _Part()
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            if self._part.name != self._file_field or self.file_part is not None:
                raise Invalid("Send exactly one file, in the field "
                              f"'{self._file_field}'.", fields={self._file_field: "one file"})
            self._part.filename = options[b"filename"].decode("utf-8", "replace")
            content_type = self._headers.get(b"content-type", b"").decode("latin-1").strip()
            self._part.content_type = content_type or "application/octet-stream"
            self.file_part = self._part

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part is self.file_part:
            self.size += len(chunk)
            if self.size > self._max_bytes:
                raise too_large(self._max_bytes)
            self.digest.update(chunk)
            # A local temporary file write lands in the page cache: cheaper than a thread hop.
            self.spool.write(chunk)
        else:
            self._part.data += chunk
            if len(self._part.data) > MAX_FIELD_BYTES:
                raise Invalid("A form field is too long.", fields={self._part.name: "too long"})

    def _on_part_end(self) -> None:
        if self._part is not self.file_part and self._part.name:
            self.fields[self._part.name] = self._part.data.decode("utf-8", "replace")


async def receive_upload(
    request: Request, *, max_bytes: int, memory_bytes: int, file_field: str = "file"
) -> SpooledUpload:
    """Read a multipart/form-data body with one file part, refusing it past `max_bytes`."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Problem(415, "unsupported_media_type", "Send the file as multipart/form-data.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise too_large(max_bytes)  # refused before reading a byte of it
    receiver = _UploadReceiver(file_field, max_bytes, memory_bytes)
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except BaseException:
        receiver.spool.close()
        raise
    if receiver.file_part is None or receiver.size == 0:
        receiver.spool.close()
        raise Invalid("A non-empty file is required.", fields={file_field: "required"})
    receiver.spool.seek(0)
    return SpooledUpload(
        file=receiver.spool, filename=receiver.file_part.filename or "document",
        content_type=receiver.file_part.content_type, size=receiver.size,
        sha256=receiver.digest.hexdigest(), fields=receiver.fields,
    )


async def _read_chunks(upload: SpooledUpload) -> AsyncIterator[bytes]:
    upload.file.seek(0)
    while chunk := upload.file.read(CHUNK_BYTES):
        yield chunk


async def store_upload(
    rpc: RpcCaller, storage: httpx.AsyncClient, caller: Caller, dossier_id: str, title: str,
    upload: SpooledUpload,
) -> documents.DocumentPublic:
    """Reserve the document, stream the spooled body to its presigned PUT, then complete it."""
    slot = await rpc.call(documents.BEGIN_UPLOAD, documents.BeginUploadRequest(
        caller=caller, dossier_id=dossier_id, title=title, filename=upload.filename,
        content_type=upload.content_type, size=upload.size))
    if upload.size > slot.max_size:
        raise too_large(slot.max_size)
    try:
        response = await storage.put(slot.upload_url, content=_read_chunks(upload), headers={
            "Content-Length": str(upload.size), "Content-Type": upload.content_type})
    except httpx.HTTPError as error:
        log.warning("object storage unreachable", error=str(error))
        raise Unavailable("The document store cannot be reached.") from None
    if response.status_code >= 300:
        log.warning("object storage refused the upload", status=response.status_code,
                    body=response.text[:500])
        raise Unavailable("The document store refused the file.")
    return await rpc.call(documents.COMPLETE_UPLOAD, documents.CompleteUploadRequest(
        caller=caller, document_id=slot.document_id, size=upload.size, sha256=upload.sha256,
        correlation_id=correlation_id.get()))


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266: an ASCII `filename` fallback plus the exact UTF-8 name in `filename*`."""
    # "é" keeps its "e"; a character without an ASCII base becomes "_" rather than vanish.
    ascii_name = "".join(
        char if char.isascii() else ("" if unicodedata.combining(char) else "_")
        for char in unicodedata.normalize("NFKD", filename))
    fallback = re.sub(r"[^A-Za-z0-9 !#$&+,.;=@^_`{}~()\[\]-]", "_", ascii_name).strip()
    fallback = fallback or "document"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def stream_download(
    storage: httpx.AsyncClient, ticket: documents.DownloadTicket
) -> StreamingResponse:
    """Relay the object behind a presigned GET, with the document's headers."""
    try:
        upstream = await storage.send(storage.build_request("GET", ticket.download_url),
                                      stream=True)
    except httpx.HTTPError as error:
        log.warning("object storage unreachable", error=str(error))
        raise Unavailable("The document store cannot be reached.") from None
    if upstream.status_code != 200:
        await upstream.aclose()
        log.warning("object storage refused the download", status=upstream.status_code)
        raise Unavailable("The document cannot be read right now.")

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes(CHUNK_BYTES):
                yield chunk
        finally:  # also when the client goes away mid-download
            await upstream.aclose()

    document = ticket.document
    return StreamingResponse(body(), media_type=document.content_type, headers={
        "Content-Length": str(document.size),
        "Content-Disposition": content_disposition(document.filename),
        "X-Content-SHA256": document.sha256,
    })

