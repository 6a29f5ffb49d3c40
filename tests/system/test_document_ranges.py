"""Byte ranges of PDFs through the gateway, every process running: an intact body is served in
ranges (206), a body damaged in S3 is never served, not even a range of it (410)."""

import hashlib
import io

import httpx
import pytest
from minio import Minio

from deploy.local.demo_pdf import text_pdf
from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT
from tests.system.stack import ClientLogin, SystemStack, staff_log_in

pytestmark = pytest.mark.system


def publish_pdf(stack: SystemStack, gateway: httpx.Client, title: str) -> tuple[str, bytes]:
    """Staff publish a PDF into the Dupont dossier: its id and its bytes."""
    body = text_pdf(title, [f"Polis {title}"] * 40)
    response = gateway.post(
        f"/admin/api/v1/dossiers/{DUPONT}/documents", headers=bearer(staff_log_in(stack, gateway)),
        data={"title": title}, files={"file": (f"{title}.pdf", body, "application/pdf")})
    assert response.status_code == 201, response.text
    return str(response.json()["document_id"]), body


def damage_in_s3(stack: SystemStack, key: str, body: bytes) -> None:
    """One byte of the stored body changes behind the service's back (a failing disk)."""
    storage = stack.config.storage
    endpoint = httpx.URL(storage.endpoint)
    damaged = body[:50] + bytes([body[50] ^ 0xFF]) + body[51:]
    Minio(f"{endpoint.host}:{endpoint.port}", access_key=storage.access_key,
          secret_key=storage.secret_key, secure=False, region="us-east-1",
          ).put_object(stack.config.s3_bucket, key, io.BytesIO(damaged), len(damaged))


def content_path(document_id: str) -> str:
    return f"/api/v1/dossiers/{DUPONT}/documents/{document_id}/content"


def test_a_pdf_viewer_gets_ranges_of_an_intact_pdf(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
) -> None:
    document_id, body = publish_pdf(system_stack, gateway, "Ranges")
    client = bearer(dupont_client.log_in(gateway))

    first = gateway.get(content_path(document_id), headers={**client, "Range": "bytes=0-99"})
    assert first.status_code == 206, first.text
    assert first.content == body[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(body)}"
    etag = first.headers["etag"]
    assert etag == f'"{hashlib.sha256(body).hexdigest()}"'

    tail = gateway.get(content_path(document_id),
                       headers={**client, "Range": "bytes=-20", "If-Range": etag})
    assert tail.status_code == 206 and tail.content == body[-20:]
    several = gateway.get(content_path(document_id),
                          headers={**client, "Range": "bytes=0-9,20-29"})
    assert several.status_code == 200 and several.content == body  # served whole, verified
    past_the_end = gateway.get(content_path(document_id),
                               headers={**client, "Range": f"bytes={len(body) + 10}-"})
    assert past_the_end.status_code == 416


def test_a_pdf_damaged_in_s3_is_not_served_in_ranges_and_is_marked_damaged(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
) -> None:
    document_id, body = publish_pdf(system_stack, gateway, "Bit rot")
    damage_in_s3(system_stack, f"{DUPONT}/{document_id}", body)
    client = bearer(dupont_client.log_in(gateway))

    ranged = gateway.get(content_path(document_id), headers={**client, "Range": "bytes=0-99"})

    assert ranged.status_code == 410, ranged.text
    assert ranged.headers["content-type"].startswith("application/problem+json")
    whole = gateway.get(content_path(document_id), headers=client)
    assert whole.status_code == 410
    listed = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents", headers=client).json()
    [document] = [d for d in listed["documents"] if d["document_id"] == document_id]
    assert document["damaged"] is True
