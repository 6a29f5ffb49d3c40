"""A page form posted as multipart/form-data with its attachments (the claim form).

Unlike the API's upload path, a refused file must not lose the rest of the form (manual 4.4):
the text fields are all kept (repeated names too: the damaged goods' rows, one description per
file), a file over a limit is recorded as refused and its bytes are read and dropped instead of
ending the request, and the page shows the form again with what was typed. Reading stays
bounded: a body larger than the limits allow with room for a few refused files is refused
before a byte of it is read.
"""

import hashlib
import hmac
from dataclasses import dataclass, field
from enum import StrEnum
from tempfile import SpooledTemporaryFile

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from gateway.problems import Problem
from gateway.streaming import MAX_FIELD_BYTES, MULTIPART_OVERHEAD_BYTES, SpooledUpload, UploadLimits
from gateway.web.session import CSRF_COOKIE, CSRF_FIELD
from libs.servicekit.errors import Invalid

FILE_FIELD = "attachment"
"""Every file part of a form is sent under this name, in the order of its descriptions."""
MAX_TEXT_PARTS = 200  # a claim's rows and descriptions: far below this


class FileRefusal(StrEnum):
    """Why a file was not taken (manual 4.4's limits)."""

    TOO_LARGE = "too_large"  # over the limit per file
    TOO_MANY = "too_many"  # past the number of files
    TOO_LARGE_TOGETHER = "too_large_together"  # the files together over their limit


@dataclass
class RefusedFile:
    """A file the form carried but that was not taken, and why."""

    filename: str
    size: int
    reason: FileRefusal


@dataclass
class PostedFile:
    """A file taken, and its position among the form's file inputs (empty ones counted), which
    pairs it with its description."""

    upload: SpooledUpload
    position: int


@dataclass
class PostedForm:
    """What a multipart page form carried: its text fields in order, its files."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[PostedFile] = field(default_factory=list)
    refused: list[RefusedFile] = field(default_factory=list)

    def value(self, name: str) -> str:
        """The last value of field `name` ("" when absent)."""
        for key, value in reversed(self.fields):
            if key == name:
                return value
        return ""

    def values(self, name: str) -> list[str]:
        """Every value of field `name`, in order (checkboxes, repeated rows)."""
        return [value for key, value in self.fields if key == name]

    def close(self) -> None:
        """Free the spooled files."""
        for posted in self.files:
            posted.upload.close()


@dataclass
class _Current:
    name: str = ""
    filename: str | None = None
    content_type: str = "application/octet-stream"
    data: bytearray = field(default_factory=bytearray)
    spool: SpooledTemporaryFile[bytes] | None = None
    digest: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    size: int = 0
    position: int = 0
    refusal: FileRefusal | None = None


class _Receiver:
    def __init__(self, limits: UploadLimits, memory_bytes: int) -> None:
        self.limits = limits
        self.memory_bytes = memory_bytes
        self.form = PostedForm()
        self.total = 0
        self.parts = 0
        self.file_inputs = 0  # file parts of the form's field, empty ones too
        self.current = _Current()
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict[str, object]:
        return {"on_part_begin": self.part_begin, "on_part_data": self.part_data,
                "on_part_end": self.part_end, "on_header_field": self.header_field,
                "on_header_value": self.header_value_data, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished}

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_TEXT_PARTS + 2 * self.limits.max_files:
            raise Invalid("The form has too many parts.")
        self.current = _Current()
        self.headers = {}

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[bytes(self.header_name).lower()] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        current = self.current
        current.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            return
        current.filename = options[b"filename"].decode("utf-8", "replace")
        content_type = self.headers.get(b"content-type", b"").decode("latin-1").strip()
        current.content_type = content_type or "application/octet-stream"
        if current.name != FILE_FIELD:
            return  # a stray file: read and dropped
        self.file_inputs += 1
        if not current.filename:
            return  # an empty file input (nothing chosen)
        if len(self.form.files) >= self.limits.max_files:
            current.refusal = FileRefusal.TOO_MANY
            return
        # Closed by PostedForm.close() once the document store has it.
        current.position = self.file_inputs - 1
        current.spool = SpooledTemporaryFile(max_size=self.memory_bytes)  # noqa: SIM115

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        current = self.current
        if current.filename is None:
            current.data += chunk
            if len(current.data) > MAX_FIELD_BYTES:
                raise Invalid("A form field is too long.", fields={current.name: "too long"})
            return
        current.size += len(chunk)
        if current.spool is None or current.refusal is not None:
            return  # refused or not a file of the form: read and dropped
        if current.size > self.limits.max_file_bytes:
            current.refusal = FileRefusal.TOO_LARGE
        elif self.total + current.size > self.limits.total_bytes:
            current.refusal = FileRefusal.TOO_LARGE_TOGETHER
        else:
            current.digest.update(chunk)
            current.spool.write(chunk)

    def part_end(self) -> None:
        current = self.current
        if current.filename is None:
            if current.name:
                self.form.fields.append((current.name, current.data.decode("utf-8", "replace")))
            return
        if current.refusal is not None:
            self.form.refused.append(RefusedFile(current.filename, current.size, current.refusal))
        if current.spool is None:
            return
        if current.refusal is not None or current.size == 0:
            current.spool.close()
            return
        self.total += current.size
        current.spool.seek(0)
        self.form.files.append(PostedFile(SpooledUpload(
            file=current.spool, filename=current.filename, content_type=current.content_type,
            size=current.size, sha256=current.digest.hexdigest(), fields={}), current.position))

    def close(self) -> None:
        self.form.close()
        if self.current.spool is not None:
            self.current.spool.close()


def body_limit(limits: UploadLimits) -> int:
    """The largest body read: every file allowed, a few refused ones, and the text fields."""
    return (limits.total_bytes + 2 * limits.max_file_bytes
            + MULTIPART_OVERHEAD_BYTES * (limits.max_files + 2))


async def receive_form(request: Request, *, limits: UploadLimits,
                       memory_bytes: int) -> PostedForm:
    """Read a page's multipart form (CSRF field checked against the cookie after reading,
    the read being bounded); 413 for a body larger than `body_limit`."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Problem(415, "unsupported_media_type", "Send the form as multipart/form-data.")
    declared = request.headers.get("content-length", "")
    limit = body_limit(limits)
    if declared.isdigit() and int(declared) > limit:
        raise Problem(413, "too_large", "The form and its files are too large.")
    receiver = _Receiver(limits, memory_bytes)
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    read = 0
    try:
        async for chunk in request.stream():
            read += len(chunk)
            if read > limit:  # a body without (or with a false) length
                raise Problem(413, "too_large", "The form and its files are too large.")
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        receiver.close()
        raise Invalid("The form is not valid multipart/form-data: send it again.",
                      fields={"body": "malformed multipart"}) from None
    except BaseException:
        receiver.close()
        raise
    form = receiver.form
    submitted = form.value(CSRF_FIELD)
    expected = request.cookies.get(CSRF_COOKIE)
    if not (submitted and expected and hmac.compare_digest(submitted.encode(), expected.encode())):
        form.close()
        raise Problem(403, "csrf", "The form has expired or did not come from MyBroker.")
    return form
