"""A confirmed client sheet is signed (manual 4.5: "bevestigen = ondertekenen").

The requests service stores ClientSheetConfirmed with the sheet's request (its outbox: the
confirmation never waits for this service, and no confirmation is lost when it is away). Here
the sheet becomes a PDF of the dossier, in the client's language, offered for signature to the
client who confirmed it, by the system: the same request, mail, checkbox signature and seal as
a staff member's. The request's id comes from the sheet's, so a redelivered event offers it once.
"""

import asyncio
import hashlib
from collections.abc import Callable
from datetime import datetime

from libs.contracts import auth, client_sheet, documents, dossier
from libs.contracts.client_sheet import ClientSheetConfirmed
from libs.contracts.documents import DocumentContext
from libs.contracts.envelope import utc_now
from libs.contracts.signing import SignerRecipient
from libs.servicekit.logs import get_logger
from services.signing.client_sheet_pdf import render_client_sheet, sheet_title
from services.signing.domain import SignatureRequest, Signer
from services.signing.handlers import PDF, SIGNING_CALLER, RpcCalling, SigningHandlers

log = get_logger(__name__)
SYSTEM_ACTOR = "service:signing"
RECENT_DOCUMENTS = 50  # where a sheet's PDF stored by an interrupted delivery is looked for


def sheet_request_id(sheet_id: str) -> str:
    """The signature request of a sheet: the same id however often the event comes."""
    return "sheet-" + hashlib.sha256(sheet_id.encode()).hexdigest()[:40]


class ClientSheetSignatures:
    """Makes the PDF of a confirmed sheet and offers it to its client for signature."""

    def __init__(self, handlers: SigningHandlers, rpc: RpcCalling, *,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._handlers = handlers
        self._rpc = rpc
        self._clock = clock

    async def on_sheet_confirmed(self, event: ClientSheetConfirmed) -> None:
        sheet = event.sheet
        request_id = sheet_request_id(sheet.sheet_id)
        if await self._handlers.has_request(request_id):
            return
        members = await self._rpc.call(auth.LIST_DOSSIER_MEMBERS, auth.DossierMembersRequest(
            caller=SIGNING_CALLER, dossier_id=sheet.dossier_id))
        member = next((m for m in members.members if m.user_id == sheet.confirmed_by), None)
        if member is None:  # the account lost the dossier meanwhile: nobody may sign it
            log.warning("client sheet not offered for signature: its client is no member",
                        dossier_id=sheet.dossier_id, sheet_id=sheet.sheet_id)
            return
        persons = await self._rpc.call(dossier.LIST_PERSONS, dossier.DossierQuery(
            caller=SIGNING_CALLER, dossier_id=sheet.dossier_id))
        email = str(member.email).casefold()
        person = next((p for p in persons.persons
                       if p.email and p.email.strip().casefold() == email), None)
        questionnaire = await self._rpc.call(
            client_sheet.GET_QUESTIONNAIRE, client_sheet.QuestionnaireQuery(
                caller=SIGNING_CALLER, version=sheet.questionnaire_version))
        name = sheet.confirmed_by_name or member.display_name
        title = sheet_title(sheet, member.language)
        body = await asyncio.to_thread(render_client_sheet, sheet, questionnaire,
                                       language=member.language, confirmed_by=name)
        sha256 = hashlib.sha256(body).hexdigest()
        document = await self._stored_before(sheet.dossier_id, sha256) or \
            await self._handlers.store_pdf(
                dossier_id=sheet.dossier_id, title=title,
                filename=f"klantenfiche-{sheet.confirmed_at:%Y-%m-%d}.pdf",
                context=DocumentContext(), body=body)
        now = self._clock()
        request = SignatureRequest(
            request_id=request_id, dossier_id=sheet.dossier_id,
            document_id=document.document_id, title=title, content_type=PDF,
            filename=document.filename, context=document.context, document_sha256=sha256,
            original_sha256=sha256, requested_by=SYSTEM_ACTOR, requested_at=now,
            signers=[Signer(
                person_id=person.person_id if person else f"account-{member.user_id}",
                order=1, name=f"{person.first_name} {person.last_name}" if person else name,
                recipients=[SignerRecipient(
                    user_id=member.user_id, email=str(member.email),
                    display_name=member.display_name, language=member.language)])])
        await self._handlers.offer_for_signature(request, {
            "source": "client_sheet", "sheet_id": sheet.sheet_id,
            "request_id": sheet.request_id, "signers": request.signers[0].person_id})

    async def _stored_before(self, dossier_id: str, sha256: str
                             ) -> documents.DocumentPublic | None:
        """The sheet's PDF, if an earlier delivery stored it and stopped before its request
        (the same sheet makes the same bytes; each sheet's name its own reference)."""
        listed = await self._rpc.call(documents.LIST_DOCUMENTS, documents.ListDocumentsQuery(
            caller=SIGNING_CALLER, dossier_id=dossier_id, content_type=PDF,
            page_size=RECENT_DOCUMENTS))
        return next((document for document in listed.documents
                     if document.sha256 == sha256
                     and document.uploaded_by == SIGNING_CALLER.user_id), None)
