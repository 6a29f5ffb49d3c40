"""Uploads between client and object storage: streamed, bounded in memory, never on the bus.

The multipart body is parsed as it arrives; each file part is counted, hashed (sha256)
and spooled to a temporary file, and refused with 413 the moment a limit is passed (per file,
number of files, all files together): reading stops there. Then the documents service hands
out a presigned PUT, the spooled file is streamed to it with its Content-Length, and the upload
is completed with the size and hash measured here. Downloads: see gateway/downloads.py.
"""

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile

import httpx
from fastapi import Request
from python_multipart.exceptions import MultipartParseError
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


@dataclass(frozen=True)
class UploadLimits:
    """What one multipart body may carry: bytes per file, files, bytes of all files together."""

    max_file_bytes: int
    max_files: int = 1
    max_total_bytes: int | None = None

    @property
    def total_bytes(self) -> int:
        """The most all files together may weigh."""
        return self.max_total_bytes or self.max_file_bytes * self.max_files


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


@dataclass
class _FilePart:
    part: "_Part"
    spool: SpooledTemporaryFile[bytes]
    digest: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    size: int = 0
    index: int = 0  # its place among the form's file parts


@dataclass(frozen=True)
class RefusedFile:
    """A file of a form left out for a limit; the rest of the form was still read."""

    index: int  # its place among the form's files (0-based)
    filename: str
    reason: str


class _UploadReceiver:
    """python-multipart callbacks that spool the file parts and keep the short text fields.

    With `keep_going`, a file over a limit is left out (and named in `refused`) instead of
    ending the read: a form with files keeps its other fields and files."""

    def __init__(self, file_field: str, limits: UploadLimits, memory_bytes: int, *,
                 keep_going: bool = False) -> None:
        self._file_field = file_field
        self._limits = limits
        self._memory_bytes = memory_bytes
        self._keep_going = keep_going
        self.refused: list[RefusedFile] = []
        self._skipping: RefusedFile | None = None
        self._file_parts = 0
        self.files: list[_FilePart] = []
        self.total = 0
        self.fields: dict[str, str] = {}
        self._current: _FilePart | None = None
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
        if self._parts > MAX_PARTS + self._limits.max_files * (2 if self._keep_going else 1):
            raise Invalid("The form has too many parts.")
        self._part = _Part()
        self._current = None
        self._skipping = None
        self._headers = {}

    def _refuse(self, index: int, filename: str, problem: Problem) -> None:
        if not self._keep_going:
            raise problem
        self._skipping = RefusedFile(index, filename, problem.detail)
        self.refused.append(self._skipping)

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
            if self._part.name != self._file_field:
                raise Invalid(f"Send the files in the field '{self._file_field}'.",
                              fields={self._file_field: "files go here"})
            filename = options[b"filename"].decode("utf-8", "replace")
            index = self._file_parts
            self._file_parts += 1
            if len(self.files) >= self._limits.max_files:
                self._refuse(index, filename, Problem(
                    413, "too_many_files",
                    f"At most {self._limits.max_files} files can be sent at once."))
                return
            self._part.filename = filename
            content_type = self._headers.get(b"content-type", b"").decode("latin-1").strip()
            self._part.content_type = content_type or "application/octet-stream"
            # Outlives this parse: closed by SpooledUpload.close() after the store has it.
            spool: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(  # noqa: SIM115
                max_size=self._memory_bytes)
            self._current = _FilePart(self._part, spool, index=index)
            self.files.append(self._current)

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._skipping is not None:
            return  # a refused file's bytes are read past, not kept
        if (current := self._current) is not None:
            current.size += len(chunk)
            self.total += len(chunk)
            problem = None
            if current.size > self._limits.max_file_bytes:
                problem = too_large(self._limits.max_file_bytes)
            elif self.total > self._limits.total_bytes:
                problem = Problem(413, "too_large_together", "The files together are larger "
                                  f"than the limit of {self._limits.total_bytes} bytes.")
            if problem is not None:
                self._refuse(self._file_parts - 1, current.part.filename or "", problem)
                self.total -= current.size
                current.spool.close()
                self.files.remove(current)
                self._current = None
                return
            current.digest.update(chunk)
            # A local temporary file write lands in the page cache: cheaper than a thread hop.
            current.spool.write(chunk)
        else:
            self._part.data += chunk
            if len(self._part.data) > MAX_FIELD_BYTES:
                raise Invalid("A form field is too long.", fields={self._part.name: "too long"})

    def _on_part_end(self) -> None:
        if self._skipping is not None:
            self._skipping = None
            return
        if self._current is None and self._part.name and self._part.filename is None:
            self.fields[self._part.name] = self._part.data.decode("utf-8", "replace")
        self._current = None

    def close(self) -> None:
        """Free every spooled file."""
        for file in self.files:
            file.spool.close()


async def receive_uploads(
    request: Request, *, limits: UploadLimits, memory_bytes: int, file_field: str = "file"
) -> list[SpooledUpload]:
    """Read a multipart/form-data body with 1..max_files file parts, refusing it (413) the
    moment it passes a limit. Every upload has the form's text fields."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Problem(415, "unsupported_media_type", "Send the file as multipart/form-data.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > (
            limits.total_bytes + MULTIPART_OVERHEAD_BYTES * limits.max_files):
        raise too_large(limits.total_bytes)  # refused before reading a byte of it
    receiver = _UploadReceiver(file_field, limits, memory_bytes)
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        receiver.close()
        raise Invalid("The form is not valid multipart/form-data: send it again.",
                      fields={"body": "malformed multipart"}) from None
    except BaseException:
        receiver.close()
        raise
    if not receiver.files or any(file.size == 0 for file in receiver.files):
        receiver.close()
        raise Invalid("A non-empty file is required.", fields={file_field: "required"})
    uploads = []
    for file in receiver.files:
        file.spool.seek(0)
        uploads.append(SpooledUpload(
            file=file.spool, filename=file.part.filename or "document",
            content_type=file.part.content_type, size=file.size,
            sha256=file.digest.hexdigest(), fields=receiver.fields))
    return uploads


@dataclass
class ReceivedForm:
    """A multipart form with 0..max_files files: its text fields, the files kept (each with
    its place among the form's files) and those left out for a limit."""

    fields: dict[str, str]
    files: list[tuple[int, SpooledUpload]]
    refused: list[RefusedFile]

    def close(self) -> None:
        """Free every spooled file."""
        for _, upload in self.files:
            upload.close()


async def receive_form(
    request: Request, *, limits: UploadLimits, memory_bytes: int, file_field: str = "file"
) -> ReceivedForm:
    """Read a multipart/form-data form whose files are optional. A file over a limit (per
    file, number, all together) is left out and named in `refused`; the rest is kept. A body
    declared larger than every file could be, or growing past that, is still refused at once
    (413)."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Problem(415, "unsupported_media_type", "Send the form as multipart/form-data.")
    # Refused files are read past too: the body may carry some more than the limits.
    ceiling = 2 * (limits.total_bytes + MULTIPART_OVERHEAD_BYTES * limits.max_files)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > ceiling:
        raise too_large(limits.total_bytes)
    receiver = _UploadReceiver(file_field, limits, memory_bytes, keep_going=True)
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    read = 0
    try:
        async for chunk in request.stream():
            read += len(chunk)
            if read > ceiling:
                raise too_large(limits.total_bytes)
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        receiver.close()
        raise Invalid("The form is not valid multipart/form-data: send it again.",
                      fields={"body": "malformed multipart"}) from None
    except BaseException:
        receiver.close()
        raise
    files: list[tuple[int, SpooledUpload]] = []
    refused = list(receiver.refused)
    for file in receiver.files:
        index = file.index
        if file.size == 0:
            refused.append(RefusedFile(index, file.part.filename or "", "The file is empty."))
            file.spool.close()
            continue
        file.spool.seek(0)
        files.append((index, SpooledUpload(
            file=file.spool, filename=file.part.filename or "document",
            content_type=file.part.content_type, size=file.size,
            sha256=file.digest.hexdigest(), fields=receiver.fields)))
    return ReceivedForm(fields=receiver.fields, files=files,
                        refused=sorted(refused, key=lambda gone: gone.index))


async def receive_upload(
    request: Request, *, max_bytes: int, memory_bytes: int, file_field: str = "file"
) -> SpooledUpload:
    """Read a multipart/form-data body with one file part, refusing it past `max_bytes`."""
    [upload] = await receive_uploads(request, limits=UploadLimits(max_file_bytes=max_bytes),
                                     memory_bytes=memory_bytes, file_field=file_field)
    return upload


async def _read_chunks(upload: SpooledUpload) -> AsyncIterator[bytes]:
    upload.file.seek(0)
    while chunk := upload.file.read(CHUNK_BYTES):
        yield chunk


async def store_upload(
    rpc: RpcCaller, storage: httpx.AsyncClient, caller: Caller, dossier_id: str, title: str,
    upload: SpooledUpload, context: documents.DocumentContext | None = None, *,
    viewable_only: bool = False,
) -> documents.DocumentPublic:
    """Reserve the document, stream the spooled body to its presigned PUT, then complete it
    (`viewable_only`: a type MyBroker cannot show is refused)."""
    slot = await rpc.call(documents.BEGIN_UPLOAD, documents.BeginUploadRequest(
        caller=caller, dossier_id=dossier_id, title=title, filename=upload.filename,
        content_type=upload.content_type, size=upload.size,
        context=context or documents.DocumentContext()))
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
        correlation_id=correlation_id.get(), viewable_only=viewable_only))
