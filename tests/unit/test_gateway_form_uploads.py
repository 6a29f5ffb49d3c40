"""A form with files read by the gateway: a file over a limit is left out and named, and the
form's other fields and files are still read (a refused file never loses the rest)."""

from typing import Any

import pytest
from starlette.requests import Request

from gateway.problems import Problem
from gateway.streaming import UploadLimits, receive_form

BOUNDARY = "----formboundary"
LIMITS = UploadLimits(max_file_bytes=100, max_files=2, max_total_bytes=150)


def multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else "")
        body += (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
                 + ("Content-Type: application/octet-stream\r\n" if filename else "")
                 + "\r\n").encode() + content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def request_of(body: bytes) -> Request:
    chunks = [body[i:i + 64] for i in range(0, len(body), 64)]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    return Request({"type": "http", "method": "POST", "path": "/", "headers": [
        (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
        (b"content-length", str(len(body)).encode())]}, receive)


async def test_a_file_over_a_limit_is_named_and_the_rest_of_the_form_is_kept() -> None:
    body = multipart(("submission", None, b'{"form": {"description": "Storm"}}'),
                     ("file", "big.jpg", b"x" * 101), ("file", "small.jpg", b"y" * 10),
                     ("file", "third.jpg", b"z" * 10), ("file", "fourth.jpg", b"w" * 10),
                     ("description_2", None, b"Het dak"))
    received = await receive_form(request_of(body), limits=LIMITS, memory_bytes=1024)
    try:
        assert received.fields == {"submission": '{"form": {"description": "Storm"}}',
                                   "description_2": "Het dak"}
        assert [(index, upload.filename, upload.size) for index, upload in received.files] == [
            (1, "small.jpg", 10), (2, "third.jpg", 10)]
        assert [(gone.index, gone.filename, gone.reason) for gone in received.refused] == [
            (0, "big.jpg", "The file is larger than the limit of 100 bytes."),
            (3, "fourth.jpg", "At most 2 files can be sent at once.")]
    finally:
        received.close()


async def test_files_together_over_the_limit_leave_out_the_one_that_passes_it() -> None:
    body = multipart(("file", "a.pdf", b"a" * 90), ("file", "b.pdf", b"b" * 90))
    received = await receive_form(request_of(body), limits=LIMITS, memory_bytes=1024)
    try:
        assert [upload.filename for _, upload in received.files] == ["a.pdf"]
        assert [(gone.index, gone.filename) for gone in received.refused] == [(1, "b.pdf")]
        assert received.refused[0].reason.startswith("The files together are larger")
    finally:
        received.close()


async def test_a_body_far_over_every_limit_is_refused_before_it_is_read() -> None:
    body = multipart(("file", "huge.bin", b"h" * 300_000))
    with pytest.raises(Problem) as refused:
        await receive_form(request_of(body), limits=LIMITS, memory_bytes=1024)
    assert refused.value.status == 413
