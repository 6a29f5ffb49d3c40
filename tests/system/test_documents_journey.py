"""Documents through the gateway, every process running: the office publishes files of every
supported type into a context, each is shown as PDF (images as themselves), the client reads
the PDF, another client gets 404; a client's attachment over 2 MB is refused mid-stream."""

import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader

from deploy.local.demo_pdf import text_pdf
from deploy.local.seed_demo import bearer
from tests.document_samples import converted, heic_bytes, msg_bytes, pptx_bytes, webp_bytes
from tests.system.conftest import DUPONT
from tests.system.stack import ClientLogin, SystemStack, staff_log_in

FIXTURES = Path(__file__).parent.parent / "fixtures" / "documents"
TEXT = "AUTO-2024-0001"
CAR_CONTRACT = "C-00417-AUTO"  # contexts name objects of the dossier (checked by the service)
MAIL = (b"From: Jan Makelaar <jan@kantoor.be>\r\nTo: pieter@example.be\r\nSubject: Uw polis\r\n"
        b"Date: Mon, 3 Nov 2025 10:00:00 +0100\r\n\r\nBeste Pieter, uw polis " + TEXT.encode()
        + b".\r\n")


def _png() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(picture, "PNG")
    return picture.getvalue()


def _office_files() -> list[tuple[str, bytes]]:
    files = [(path.name, path.read_bytes()) for path in sorted(FIXTURES.iterdir())]
    slides = pptx_bytes("Polis", TEXT)  # made now: .ppt and .odp by LibreOffice from it
    outlook = msg_bytes(sender="Jan Makelaar", sender_email="jan@kantoor.be", to="Pieter Dupont",
                        subject="Uw polis", body=f"Beste Pieter, uw polis {TEXT}.\r\n",
                        attachments={"groene-kaart.pdf": text_pdf("Groene kaart", [TEXT])})
    return [*files, ("notitie.txt", f"Polis {TEXT} — één\n".encode()),
            ("polis.html", f"<html><body><h1>Polis</h1><p>{TEXT}</p></body></html>".encode()),
            ("mail.eml", MAIL), ("polis.pdf", text_pdf("Polis", [TEXT])),
            ("slides.pptx", slides), ("slides.ppt", converted(slides, "slides.pptx", "ppt")),
            ("slides.odp", converted(slides, "slides.pptx", "odp")), ("bericht.msg", outlook)]


# Images are shown as themselves, except HEIC (browsers cannot show it): a JPEG made of it.
IMAGE_VIEWS = {"schade.png": ("image/png", (640, 480)),
               "schade.webp": ("image/webp", (800, 600)),
               "IMG_0042.HEIC": ("image/jpeg", (800, 600))}


def _wait_until_rendered(gateway: httpx.Client, client: dict[str, str], ids: set[str],
                         seconds: float = 120.0) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while True:
        listed = gateway.get(
            f"/api/v1/dossiers/{DUPONT}/documents?context=contract:{CAR_CONTRACT}",
            headers=client).json()["documents"]
        found = {d["document_id"]: d for d in listed if d["document_id"] in ids}
        if len(found) == len(ids) and all(d["rendition"]["state"] != "pending"
                                          for d in found.values()):
            return found
        assert time.monotonic() < deadline, f"still pending: {found}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def published(
    system_stack: SystemStack, gateway: httpx.Client, office_dossiers: tuple[str, str]
) -> dict[str, dict[str, Any]]:
    """Every supported type, published at once into a contract's context: file name -> doc."""
    staff_token = staff_log_in(system_stack, gateway)
    files = [*_office_files(), ("schade.png", _png()), ("schade.webp", webp_bytes()),
             ("IMG_0042.HEIC", heic_bytes())]
    response = gateway.post(
        f"/admin/api/v1/dossiers/{DUPONT}/documents/batch", headers=bearer(staff_token),
        data={"context": f"contract:{CAR_CONTRACT}"},
        files=[("file", (name, body, "application/octet-stream")) for name, body in files])
    assert response.status_code == 201, response.text
    return {d["filename"]: d for d in response.json()["documents"]}


def test_every_published_type_is_shown_as_a_pdf_with_its_text_or_as_an_image(
    gateway: httpx.Client, dupont_client: ClientLogin, published: dict[str, dict[str, Any]],
) -> None:
    client = bearer(dupont_client.log_in(gateway))
    rendered = _wait_until_rendered(gateway, client,
                                    {d["document_id"] for d in published.values()})
    for filename, document in published.items():
        state = rendered[document["document_id"]]["rendition"]
        assert state["state"] == "ready", f"{filename}: {state}"
        view = gateway.get(
            f"/api/v1/dossiers/{DUPONT}/documents/{document['document_id']}/view",
            headers=client)
        assert view.status_code == 200, f"{filename}: {view.text}"
        assert view.headers["x-content-type-options"] == "nosniff"
        assert view.headers["content-disposition"].startswith("inline;")
        if filename in IMAGE_VIEWS:
            content_type, size = IMAGE_VIEWS[filename]
            assert view.headers["content-type"] == content_type
            assert Image.open(io.BytesIO(view.content)).size == size, filename
            continue
        assert view.headers["content-type"] == "application/pdf", filename
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(view.content)).pages)
        assert TEXT in text, f"{filename}: {text[:200]!r}"


def test_another_client_gets_not_found_for_the_documents(
    gateway: httpx.Client, peeters_client: ClientLogin, published: dict[str, dict[str, Any]],
) -> None:
    intruder = bearer(peeters_client.log_in(gateway))
    for filename, document in published.items():
        for variant in ("content", "view", "thumbnail"):
            response = gateway.get(
                f"/api/v1/dossiers/{DUPONT}/documents/{document['document_id']}/{variant}",
                headers=intruder)
            assert response.status_code == 404, (filename, variant)


def test_a_pdf_viewer_reads_a_range_of_the_rendition(
    gateway: httpx.Client, dupont_client: ClientLogin, published: dict[str, dict[str, Any]],
) -> None:
    client = bearer(dupont_client.log_in(gateway))
    document_id = published["polis.odt"]["document_id"]
    _wait_until_rendered(gateway, client, {document_id})
    ranged = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents/{document_id}/view",
                         headers={**client, "Range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert ranged.content.startswith(b"%PDF-") and len(ranged.content) == 100


def test_a_client_attachment_over_two_megabytes_is_refused_mid_stream(
    gateway: httpx.Client, dupont_client: ClientLogin,
) -> None:
    client = bearer(dupont_client.log_in(gateway))
    sent = 0

    def body() -> Any:
        nonlocal sent
        boundary = b"--b\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="groot.pdf"'
        yield b"\r\nContent-Type: application/pdf\r\n\r\n"
        chunk = b"x" * 65536
        for _ in range(64):  # 4 MB offered, no length announced: the gateway must count
            sent += len(chunk)
            yield chunk
        yield b"\r\n--b--\r\n"

    refused = gateway.post(f"/api/v1/dossiers/{DUPONT}/documents", content=body(),
                           headers={**client, "Content-Type": "multipart/form-data; boundary=b"})
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("application/problem+json")

    small = gateway.post(f"/api/v1/dossiers/{DUPONT}/documents", headers=client,
                         data={"context": "claim:S-00417-1"},
                         files={"file": ("pv.txt", f"PV {TEXT}\n".encode(), "text/plain")})
    assert small.status_code == 201, small.text
    [attached] = small.json()["documents"]
    assert attached["uploader_kind"] == "client"
    assert attached["content_type"] == "text/plain"
