# ruff: noqa: F811 - the service fixture imported from test_signing is used as a parameter
"""A confirmed client sheet becomes a PDF of the dossier offered for signature to the client who
confirmed it (by the system, not by staff); a redelivered confirmation offers it once; the
client signs it with the checkbox and the sealed PDF becomes a document."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from libs.contracts import client_sheet, documents, signing
from libs.contracts.client_sheet import ClientSheet, ClientSheetConfirmed
from libs.contracts.envelope import utc_now
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from services.requests.client_sheet.handlers import shipped_questionnaire
from services.signing.client_sheet_pdf import answer_text, render_client_sheet
from services.signing.client_sheets import ClientSheetSignatures, sheet_request_id
from services.signing.main import SigningService
from tests.service.test_signing import (  # noqa: F401 - the `service` fixture
    PIETER,
    STAFF,
    Office,
    call,
    service,
    wait_for_state,
)

QUESTIONNAIRE = client_sheet.Questionnaire(
    **shipped_questionnaire().model_dump(), version=1, published_at=utc_now())
SHEET = ClientSheet(
    sheet_id="sheet1", dossier_id="D1", questionnaire_version=1,
    answers={"birth_date": "1985-03-12", "email": "pieter@example.be",
             "family_status": "married"},
    confirmed_by="u-pieter", confirmed_by_name="Pieter Dupont",
    confirmed_at=datetime(2026, 12, 5, 10, 30, tzinfo=UTC), request_id="req1")


class SheetOffice(Office):
    """The stand-in, and the requests service's questionnaire."""

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel) -> ReplyT:
        reply: Any
        if method is client_sheet.GET_QUESTIONNAIRE:
            reply = QUESTIONNAIRE
            return method.reply.model_validate(reply.model_dump())
        if method is documents.LIST_DOCUMENTS:
            reply = documents.DocumentList(documents=[
                self.uploaded[document_id].model_copy(update={"uploaded_by": "service:signing"})
                for document_id in self.uploaded])
            return method.reply.model_validate(reply.model_dump())
        return await super().call(method, request)


@pytest.fixture
def office() -> SheetOffice:
    return SheetOffice()


def test_the_pdf_shows_the_answers_in_the_clients_words() -> None:
    questions = {q.question_id: q for s in QUESTIONNAIRE.sections for q in s.questions}
    assert answer_text(questions["family_status"], "married", "nl") == "Gehuwd"
    assert answer_text(questions["family_status"], "married", "fr") == "Marié(e)"
    assert answer_text(questions["birth_date"], "1985-03-12", "en") == "12/03/1985"
    body = render_client_sheet(SHEET, QUESTIONNAIRE, language="nl", confirmed_by="Pieter")
    assert body.startswith(b"%PDF")
    # The same sheet makes the same bytes: a retry offers the same document.
    assert body == render_client_sheet(SHEET, QUESTIONNAIRE, language="nl",
                                       confirmed_by="Pieter")


async def test_a_confirmed_sheet_is_offered_to_its_client_once_and_signed(
    service: SigningService, office: SheetOffice,
) -> None:
    sheets = ClientSheetSignatures(service.handlers, office)
    event = ClientSheetConfirmed(dossier_id="D1", sheet=SHEET)
    await sheets.on_sheet_confirmed(event)
    await sheets.on_sheet_confirmed(event)  # redelivered: nothing more
    assert list(office.uploaded) == ["signed1"]
    request_id = sheet_request_id("sheet1")
    offered = await call(service, signing.GET_SIGNATURE_REQUEST, signing.SignatureRequestQuery(
        caller=STAFF, signature_request_id=request_id))
    assert offered.title == "Klantenfiche 05/12/2026" and offered.requested_by == "service:signing"
    assert [(s.person_id, s.state) for s in offered.signers] == [("P1", "sent")]
    to_sign = await call(service, signing.LIST_DOCUMENTS_TO_SIGN, signing.DocumentsToSignQuery(
        caller=PIETER, dossier_id="D1"))
    assert [d.document_id for d in to_sign.documents] == [offered.document_id]

    await call(service, signing.DOCUMENT_SERVED, signing.DocumentServed(
        caller=PIETER, dossier_id="D1", document_id=offered.document_id))
    signed = await call(service, signing.SIGN, signing.SignRequest(
        caller=PIETER, signature_request_id=request_id, approved=True,
        authenticated_at=utc_now() - timedelta(minutes=1)))
    assert signed.signer.state == "signed"
    done = await wait_for_state(service, request_id, signing.RequestState.AWAITING_BROKER)
    assert done.signed_document_id in office.uploaded
    assert office.bodies[done.signed_document_id].startswith(office.bodies[offered.document_id])

    # A delivery cut short after the PDF was stored finds it again: no second document.
    other = ClientSheetConfirmed(dossier_id="D1", sheet=SHEET.model_copy(
        update={"sheet_id": "sheet9", "request_id": "req9"}))
    stored = await service.handlers.store_pdf(
        dossier_id="D1", title="x", filename="x.pdf",
        context=documents.DocumentContext(), body=render_client_sheet(
            other.sheet, QUESTIONNAIRE, language="nl", confirmed_by="Pieter Dupont"))
    uploads = len(office.uploaded)
    await sheets.on_sheet_confirmed(other)
    assert len(office.uploaded) == uploads
    again = await call(service, signing.GET_SIGNATURE_REQUEST, signing.SignatureRequestQuery(
        caller=STAFF, signature_request_id=sheet_request_id("sheet9")))
    assert again.document_id == stored.document_id != offered.document_id


async def test_a_sheet_of_an_account_no_longer_in_the_dossier_is_not_offered(
    service: SigningService, office: SheetOffice,
) -> None:
    stranger = SHEET.model_copy(update={"confirmed_by": "u-gone", "sheet_id": "sheet2"})
    await ClientSheetSignatures(service.handlers, office).on_sheet_confirmed(
        ClientSheetConfirmed(dossier_id="D1", sheet=stranger))
    assert office.uploaded == {}
    listed = await call(service, signing.LIST_SIGNATURE_REQUESTS,
                        signing.ListSignatureRequestsQuery(caller=STAFF))
    assert listed.total == 0
