"""Every document except images is shown as PDF (manual 3.4): the rendition state machine.

A published document's rendition goes pending -> ready, or -> failed with a reason while the
original stays downloadable. Runs LibreOffice for real (Debian libreoffice-*-nogui).
"""

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from faststream.rabbit import TestRabbitBroker
from PIL import Image
from pypdf import PdfReader

from libs.contracts import documents
from libs.contracts.documents import BodyVariant, RenditionState
from services.documents.config import DocumentsSettings
from services.documents.conversion import ConversionFailed, soffice_to_pdf
from services.documents.main import DocumentsService, build
from tests.document_samples import converted, heic_bytes, msg_bytes, pptx_bytes, webp_bytes
from tests.service.conftest import call_in_memory
from tests.service.documents_support import (  # noqa: F401 - fixtures
    CLIENT,
    bucket_fixture,
    publish,
    published_batches_fixture,
    published_events_fixture,
    service_fixture,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "documents"
MAIL = (b"From: Jan Makelaar <jan@kantoor.be>\r\nTo: an@example.be\r\n"
        b"Subject: Uw polis\r\nDate: Mon, 3 Nov 2025 10:00:00 +0100\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Beste An, hierbij uw polis AUTO-2024-0001.\r\n")


async def rendered(
    service: DocumentsService, body: bytes, filename: str
) -> documents.DocumentPublic:
    """Publish `body`, let the worker handle the event, and return the document as listed."""
    document = await publish(service, body, filename=filename, title=filename)
    await service.relay.relay_pending()
    query = documents.ListDocumentsQuery(caller=CLIENT, dossier_id="D1")
    found = await call_in_memory(service.runtime.broker, documents.LIST_DOCUMENTS, query)
    return next(d for d in found.documents if d.document_id == document.document_id)


async def body_of(service: DocumentsService, document_id: str, variant: BodyVariant) -> bytes:
    ticket = await call_in_memory(
        service.runtime.broker, documents.OPEN_DOWNLOAD, documents.OpenDownloadRequest(
            caller=CLIENT, dossier_id="D1", document_id=document_id, variant=variant))
    async with httpx.AsyncClient() as http:
        response = await http.get(ticket.download_url)
    response.raise_for_status()
    assert len(response.content) == ticket.size
    return response.content


def pdf_text(body: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


@pytest.mark.parametrize("filename", ["polis.docx", "polis.odt", "polis.doc", "polis.rtf",
                                      "premies.xlsx", "premies.ods", "premies.xls"])
async def test_an_office_document_is_shown_as_a_pdf_with_its_text(
    service: DocumentsService, filename: str
) -> None:
    original = (FIXTURES / filename).read_bytes()
    document = await rendered(service, original, filename)
    assert document.rendition.state == RenditionState.READY, document.rendition.reason
    assert document.rendition.content_type == "application/pdf"
    assert "AUTO-2024-0001" in pdf_text(await body_of(service, document.document_id,
                                                      BodyVariant.VIEW))
    assert await body_of(service, document.document_id, BodyVariant.ORIGINAL) == original


@pytest.mark.parametrize(("body", "filename"), [
    ("Polis AUTO-2024-0001 — één ü\n".encode(), "notitie.txt"),
    (b"<html><body><h1>Polis</h1><p>AUTO-2024-0001</p>"
     b"<img src='http://198.51.100.1/tracker.png'></body></html>", "polis.html"),
    (MAIL, "mail.eml"),
])
async def test_text_html_and_mails_are_shown_as_a_pdf_with_their_text(
    service: DocumentsService, body: bytes, filename: str
) -> None:
    document = await rendered(service, body, filename)
    assert document.rendition.state == RenditionState.READY, document.rendition.reason
    text = pdf_text(await body_of(service, document.document_id, BodyVariant.VIEW))
    assert "AUTO-2024-0001" in text
    if filename == "mail.eml":
        assert "Uw polis" in text and "jan@kantoor.be" in text


async def test_an_image_is_shown_as_itself_with_a_thumbnail(service: DocumentsService) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (1200, 800), (200, 30, 30)).save(picture, "PNG")
    document = await rendered(service, picture.getvalue(), "schade.png")
    assert document.rendition.state == RenditionState.READY
    assert document.rendition.content_type == "image/png"
    assert document.rendition.has_thumbnail
    assert await body_of(service, document.document_id, BodyVariant.VIEW) == picture.getvalue()
    thumbnail = Image.open(io.BytesIO(
        await body_of(service, document.document_id, BodyVariant.THUMBNAIL)))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) == 320


@pytest.mark.parametrize("extension", ["pptx", "ppt", "odp"])
async def test_a_presentation_is_shown_as_a_pdf_with_its_text(
    service: DocumentsService, extension: str
) -> None:
    slides = pptx_bytes("Polis", "AUTO-2024-0001")
    original = slides if extension == "pptx" else converted(slides, "polis.pptx", extension)
    document = await rendered(service, original, f"polis.{extension}")
    assert document.content_type.startswith("application/vnd."), document.content_type
    assert document.rendition.state == RenditionState.READY, document.rendition.reason
    assert "AUTO-2024-0001" in pdf_text(await body_of(service, document.document_id,
                                                      BodyVariant.VIEW))


async def test_an_outlook_message_is_shown_as_a_pdf_with_headers_text_and_attachments(
    service: DocumentsService,
) -> None:
    message = msg_bytes(sender="Jan Makelaar", sender_email="jan@kantoor.be",
                        to="An Peeters", subject="Uw polis",
                        body="Beste An,\r\nhierbij uw polis AUTO-2024-0001 — één.\r\n",
                        attachments={"groene-kaart.pdf": b"%PDF-1.4\n" * 600,
                                     "foto.jpg": b"\xff\xd8\xff" + b"\x00" * 100})
    document = await rendered(service, message, "Uw polis.msg")
    assert document.content_type == "application/vnd.ms-outlook"
    assert document.rendition.state == RenditionState.READY, document.rendition.reason
    text = pdf_text(await body_of(service, document.document_id, BodyVariant.VIEW))
    for shown in ("Jan Makelaar", "jan@kantoor.be", "An Peeters", "Uw polis",
                  "AUTO-2024-0001", "één", "groene-kaart.pdf", "foto.jpg", "03 Nov 2025"):
        assert shown in text, (shown, text)
    assert await body_of(service, document.document_id, BodyVariant.ORIGINAL) == message


async def test_an_ole_file_named_msg_that_is_no_message_fails_with_a_reason(
    service: DocumentsService,
) -> None:
    not_a_message = (FIXTURES / "polis.doc").read_bytes()
    document = await rendered(service, not_a_message, "bericht.msg")
    assert document.rendition.state == RenditionState.FAILED
    assert "Outlook message could not be read" in (document.rendition.reason or "")
    assert await body_of(service, document.document_id, BodyVariant.ORIGINAL) == not_a_message


async def test_a_heic_photo_is_viewed_as_a_jpeg_and_downloaded_as_heic(
    service: DocumentsService,
) -> None:
    photo = heic_bytes()
    document = await rendered(service, photo, "IMG_0042.HEIC")
    assert document.content_type == "image/heic"
    assert document.rendition.state == RenditionState.READY, document.rendition.reason
    assert document.rendition.content_type == "image/jpeg"
    view = Image.open(io.BytesIO(await body_of(service, document.document_id,
                                               BodyVariant.VIEW)))
    assert view.format == "JPEG" and view.size == (800, 600)
    assert view.getpixel((400, 300)) == pytest.approx((240, 200, 40), abs=12)
    thumbnail = Image.open(io.BytesIO(
        await body_of(service, document.document_id, BodyVariant.THUMBNAIL)))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) == 320
    assert await body_of(service, document.document_id, BodyVariant.ORIGINAL) == photo


async def test_a_webp_picture_is_shown_as_itself_with_a_thumbnail(
    service: DocumentsService,
) -> None:
    picture = webp_bytes()
    document = await rendered(service, picture, "schade.webp")
    assert document.rendition.state == RenditionState.READY, document.rendition.reason
    assert document.rendition.content_type == "image/webp"
    assert await body_of(service, document.document_id, BodyVariant.VIEW) == picture
    thumbnail = Image.open(io.BytesIO(
        await body_of(service, document.document_id, BodyVariant.THUMBNAIL)))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) == 320


async def test_a_broken_office_file_fails_with_a_reason_and_the_original_stays(
    service: DocumentsService,
) -> None:
    broken = b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml" + b"\x13" * 500
    document = await rendered(service, broken, "kapot.docx")
    assert document.rendition.state == RenditionState.FAILED
    assert document.rendition.reason and "LibreOffice" in document.rendition.reason
    assert await body_of(service, document.document_id, BodyVariant.ORIGINAL) == broken


async def test_libreoffice_runs_under_a_memory_and_a_cpu_limit(tmp_path: Path) -> None:
    # A stand-in converter whose "PDF" is the limits the kernel applies to its own child.
    reporter = tmp_path / "soffice"
    reporter.write_text('#!/bin/sh\nwhile [ $# -gt 1 ]; do [ "$1" = --outdir ] && out="$2"; '
                        'shift; done\nname=$(basename "$1")\nmkdir -p "$out"\n'
                        'cat /proc/self/limits > "$out/${name%.*}.pdf"\n')
    reporter.chmod(0o755)
    source = tmp_path / "polis.docx"
    source.write_bytes((FIXTURES / "polis.docx").read_bytes())
    produced = await soffice_to_pdf(source, tmp_path, soffice=str(reporter),
                                    profile=tmp_path / "profile", timeout_seconds=30.0,
                                    memory_bytes=512 * 1024 * 1024)
    limits = {line[:26].strip(): line[26:].split() for line in
              produced.read_text().splitlines()[1:]}
    assert limits["Max address space"][:2] == [str(512 * 1024 * 1024)] * 2
    assert limits["Max cpu time"][:2] == ["30", "30"]


async def test_a_conversion_that_needs_more_memory_than_allowed_fails_at_once(
    tmp_path: Path,
) -> None:
    source = tmp_path / "polis.docx"
    source.write_bytes((FIXTURES / "polis.docx").read_bytes())
    started = asyncio.get_running_loop().time()
    with pytest.raises(ConversionFailed, match="LibreOffice could not convert"):
        await soffice_to_pdf(source, tmp_path, soffice="soffice", profile=tmp_path / "profile",
                             timeout_seconds=30.0, memory_bytes=64 * 1024 * 1024)
    assert asyncio.get_running_loop().time() - started < 10.0


CONVERSION_STARTED = "soffice-started"  # the hanging 'LibreOffice' leaves this when it runs


@pytest.fixture
async def slow_service(
    mongo_url: str, database_name: str, s3_settings: dict[str, str], bucket: str,
    tmp_path: Path,
) -> AsyncIterator[DocumentsService]:
    """The service with a 'LibreOffice' that never finishes and a 1 s time limit."""
    hanging = tmp_path / "soffice"
    hanging.write_text(f"#!/bin/sh\ntouch {tmp_path / CONVERSION_STARTED}\nsleep 60\n")
    hanging.chmod(0o755)
    built = build(DocumentsSettings(
        mongo_url=mongo_url, mongo_db=database_name, s3_endpoint=s3_settings["endpoint"],
        s3_access_key=s3_settings["access_key"], s3_secret_key=s3_settings["secret_key"],
        s3_bucket=bucket, soffice_path=str(hanging), conversion_timeout_seconds=1.0))
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def test_a_conversion_over_the_time_limit_fails_without_blocking_the_service(
    slow_service: DocumentsService, tmp_path: Path,
) -> None:
    document = await publish(slow_service, (FIXTURES / "polis.docx").read_bytes(),
                             filename="polis.docx")
    converting = asyncio.create_task(slow_service.relay.relay_pending())
    for _ in range(500):  # until 'LibreOffice' runs
        if (tmp_path / CONVERSION_STARTED).exists():
            break
        await asyncio.sleep(0.02)
    assert (tmp_path / CONVERSION_STARTED).exists(), "the conversion never started"
    # Meanwhile the service answers: the pending document is listed with its state.
    query = documents.ListDocumentsQuery(caller=CLIENT, dossier_id="D1")
    listed = await call_in_memory(slow_service.runtime.broker, documents.LIST_DOCUMENTS, query)
    assert not converting.done()
    assert listed.documents[0].rendition.state == RenditionState.PENDING
    await asyncio.wait_for(converting, 10)
    failed = await slow_service.store.get(document.document_id)
    assert failed is not None and failed.rendition_state == RenditionState.FAILED
    assert failed.rendition_reason == "The conversion to PDF took longer than 1 s."


async def test_a_redelivered_event_does_not_convert_again(
    service: DocumentsService, published_events: list[dict[str, Any]],
) -> None:
    document = await rendered(service, b"Polis AUTO-2024-0001\n", "notitie.txt")
    before = await service.store.get(document.document_id)
    [event] = [documents.DocumentPublished.model_validate(e) for e in published_events]
    await service.renditions.on_document_published(event)
    assert await service.store.get(document.document_id) == before
