"""Byte ranges through the gateway: one range of a PDF whose stored body the documents service
verified (206); anything else — several ranges, a stale If-Range, a body not verified in time, a
type other than PDF — the whole body, verified on the way."""

import hashlib

import httpx
import pytest

from libs.contracts import documents
from libs.servicekit.errors import Gone
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
    ticket_for,
)

PDF_BODY = b"%PDF-1.7 " + bytes(range(256)) * 10


def get_content(gateway: Gateway, **headers: str) -> httpx.Response:
    response: httpx.Response = gateway.client.get(
        "/api/v1/dossiers/D1/documents/doc9/content", headers={**gateway.bearer(), **headers})
    return response


def test_a_pdf_viewer_gets_the_range_it_asks_for_once_the_body_is_verified(
    gateway: Gateway,
) -> None:
    ticket_for(gateway, PDF_BODY, ranges=True)
    response = get_content(gateway, Range="bytes=100-199")
    assert response.status_code == 206
    assert response.content == PDF_BODY[100:200]
    assert response.headers["content-range"] == f"bytes 100-199/{len(PDF_BODY)}"
    assert response.headers["content-length"] == "100"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{hashlib.sha256(PDF_BODY).hexdigest()}"'
    [request] = gateway.rpc.called(documents.OPEN_DOWNLOAD)
    assert isinstance(request, documents.OpenDownloadRequest) and request.ranged


def test_a_range_of_a_body_not_verified_in_time_is_served_whole_and_verified(
    gateway: Gateway,
) -> None:
    ticket_for(gateway, PDF_BODY, ranges=False)
    response = get_content(gateway, Range="bytes=100-199")
    assert response.status_code == 200
    assert response.content == PDF_BODY
    assert "content-range" not in response.headers
    [verified] = gateway.rpc.called(documents.REPORT_VERIFIED)
    assert isinstance(verified, documents.ReportVerifiedRequest)
    assert verified.observed_sha256 == hashlib.sha256(PDF_BODY).hexdigest()


@pytest.mark.parametrize("range_header", ["bytes=0-9,20-29", "bytes=0-9, -5", "items=0-9",
                                          "bytes=abc"])
def test_several_ranges_or_a_range_not_understood_get_the_whole_body(
    gateway: Gateway, range_header: str,
) -> None:
    ticket_for(gateway, PDF_BODY, ranges=True)
    response = get_content(gateway, Range=range_header)
    assert response.status_code == 200
    assert response.content == PDF_BODY
    [request] = gateway.rpc.called(documents.OPEN_DOWNLOAD)
    assert isinstance(request, documents.OpenDownloadRequest) and not request.ranged


def test_an_if_range_naming_this_body_gets_the_range_and_any_other_the_whole_body(
    gateway: Gateway,
) -> None:
    ticket_for(gateway, PDF_BODY, ranges=True)
    etag = f'"{hashlib.sha256(PDF_BODY).hexdigest()}"'
    assert get_content(gateway, Range="bytes=-10", **{"If-Range": etag}).content == (
        PDF_BODY[-10:])
    stale = get_content(gateway, Range="bytes=-10", **{"If-Range": '"' + "0" * 64 + '"'})
    assert stale.status_code == 200 and stale.content == PDF_BODY
    dated = get_content(gateway, Range="bytes=-10",
                        **{"If-Range": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert dated.status_code == 200 and dated.content == PDF_BODY


def test_a_range_of_anything_but_a_pdf_gets_the_whole_verified_body(gateway: Gateway) -> None:
    ticket_for(gateway, b"plain text body", content_type="text/plain", ranges=True)
    response = get_content(gateway, Range="bytes=0-4")
    assert response.status_code == 200 and response.content == b"plain text body"
    assert response.headers["accept-ranges"] == "none"


def test_a_range_past_the_end_is_a_416_problem(gateway: Gateway) -> None:
    ticket_for(gateway, b"%PDF-1.7 short", ranges=True)
    response = get_content(gateway, Range="bytes=5000-")
    assert response.status_code == 416


def test_a_damaged_body_is_refused_before_any_range_is_served(gateway: Gateway) -> None:
    gateway.rpc.answer(documents.OPEN_DOWNLOAD, Gone("This document's file is damaged."))
    response = get_content(gateway, Range="bytes=0-99")
    assert response.status_code == 410
    assert response.headers["content-type"] == "application/problem+json"
