"""The office's assets (its logo) in the documents service: kept in the office context, added by
the office admin only, PNG or JPEG only, served to anyone, never announced to a client."""

import hashlib
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from libs.contracts import documents
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Forbidden, Invalid, NotFound
from services.documents.main import DocumentsService
from tests.service.conftest import call_in_memory
from tests.service.documents_support import (  # noqa: F401 - fixtures
    POLICY_PDF,
    STAFF,
    begin,
    bucket_fixture,
    complete,
    publish,
    published_batches_fixture,
    published_events_fixture,
    put,
    service_fixture,
)

ADMIN = Caller(user_id="admin1", role=Role.ADMIN)
OFFICE = documents.DocumentContext(kind=documents.ContextKind.OFFICE)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 30), (31, 78, 121)).save(buffer, "PNG")
    return buffer.getvalue()


async def add_logo(service: DocumentsService, body: bytes, *, caller: Caller = ADMIN,
                   content_type: str = "image/png") -> documents.DocumentPublic:
    slot = await begin(service, body, caller=caller, dossier_id=documents.OFFICE_ASSETS,
                       content_type=content_type, title="Logo", filename="logo.png",
                       context=OFFICE)
    await put(slot, body)
    return await complete(service, slot, body, caller=caller)


async def open_asset(service: DocumentsService, document_id: str) -> documents.DownloadTicket:
    return await call_in_memory(service.runtime.broker, documents.OPEN_OFFICE_ASSET,
                                documents.OpenOfficeAssetRequest(document_id=document_id))


async def test_the_admins_logo_is_served_to_anyone_and_never_announced(
    service: DocumentsService,
) -> None:
    body = png()
    logo = await add_logo(service, body)
    assert (logo.dossier_id, logo.context.kind, logo.content_type) == (
        documents.OFFICE_ASSETS, documents.ContextKind.OFFICE, "image/png")
    ticket = await open_asset(service, logo.document_id)
    async with httpx.AsyncClient() as http:
        served = await http.get(ticket.download_url)
    assert served.content == body and ticket.sha256 == hashlib.sha256(body).hexdigest()

    service.announcer._clock = lambda: utc_now() + timedelta(hours=1)
    assert await service.announcer.announce_overdue() == []


async def test_only_the_office_admin_adds_office_assets(service: DocumentsService) -> None:
    with pytest.raises(Forbidden):
        await begin(service, png(), caller=STAFF, dossier_id=documents.OFFICE_ASSETS,
                    content_type="image/png", context=OFFICE)


@pytest.mark.parametrize(("dossier_id", "context"), [
    ("D1", OFFICE), (documents.OFFICE_ASSETS, documents.DocumentContext())])
async def test_office_assets_stay_in_their_own_place(
    service: DocumentsService, dossier_id: str, context: documents.DocumentContext,
) -> None:
    with pytest.raises(Invalid):
        await begin(service, png(), caller=ADMIN, dossier_id=dossier_id,
                    content_type="image/png", context=context)


async def test_a_logo_that_is_no_image_is_refused(service: DocumentsService) -> None:
    with pytest.raises(Invalid):
        await begin(service, POLICY_PDF, caller=ADMIN, dossier_id=documents.OFFICE_ASSETS,
                    content_type="application/pdf", context=OFFICE)
    # Declared as a PNG, but the bytes are a PDF: refused when the body is read.
    with pytest.raises(Invalid):
        await add_logo(service, POLICY_PDF)


async def test_a_dossiers_document_is_no_office_asset(
    service: DocumentsService, published_events: list[dict[str, Any]],
) -> None:
    document = await publish(service)
    with pytest.raises(NotFound):
        await open_asset(service, document.document_id)
