"""The claim declaration ("Schade aangifte", manual 4.4) as a PDF among the dossier's documents,
so the office can forward it to the insurer; and the claim's files, stored in the request's
context.

The gateway does this because it is the service that streams bodies to the document store
(nothing else but the documents service may reach it). It runs after the request is stored:
a resubmission with the same idempotency key finishes what an interrupted one left undone
(files still without a document, no declaration yet).
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile

import httpx

from gateway.deps import RpcCaller
from gateway.streaming import SpooledUpload, store_upload
from libs.contracts import documents, request_forms
from libs.contracts.caller import Caller
from libs.contracts.request_forms import ClaimRecord, FormSubmitted
from libs.servicekit.form_pdf import FormPdf

LABELS: dict[str, dict[str, str]] = {
    "title": {"nl": "Schadeaangifte", "fr": "Déclaration de sinistre",
              "en": "Claim declaration"},
    "dossier": {"nl": "Dossier", "fr": "Dossier", "en": "Dossier"},
    "reference": {"nl": "Referentie", "fr": "Référence", "en": "Reference"},
    "sent_at": {"nl": "Verzonden op", "fr": "Envoyée le", "en": "Sent on"},
    "general": {"nl": "Algemene gegevens", "fr": "Données générales", "en": "General data"},
    "name": {"nl": "Naam", "fr": "Nom", "en": "Name"},
    "email": {"nl": "E-mail", "fr": "E-mail", "en": "Email"},
    "phone": {"nl": "Telefoon", "fr": "Téléphone", "en": "Phone"},
    "address": {"nl": "Adres", "fr": "Adresse", "en": "Address"},
    "iban": {"nl": "Rekeningnummer", "fr": "Numéro de compte", "en": "Account number"},
    "goods": {"nl": "Mijn beschadigde goederen", "fr": "Mes biens endommagés",
              "en": "My damaged goods"},
    "contract": {"nl": "Contract", "fr": "Contrat", "en": "Contract"},
    "other_risk": {"nl": "Omschrijving ander risico", "fr": "Description d'un autre risque",
                   "en": "Description of another risk"},
    "loss": {"nl": "Mijn schadegeval - omschrijving", "fr": "Mon sinistre - description",
             "en": "My claim - description"},
    "loss_at": {"nl": "Datum en uur van het schadegeval", "fr": "Date et heure du sinistre",
                "en": "Date and time of the loss"},
    "description": {"nl": "Omschrijving", "fr": "Description", "en": "Description"},
    "vat_liable": {"nl": "Btw-plichtige", "fr": "Assujetti à la TVA", "en": "VAT-liable"},
    "police_report": {"nl": "Proces-verbaal", "fr": "Procès-verbal", "en": "Police report"},
    "attachments": {"nl": "Toegevoegde documenten", "fr": "Documents ajoutés",
                    "en": "Attached documents"},
    "remark": {"nl": "Opmerking", "fr": "Remarque", "en": "Remark"},
    "yes": {"nl": "Ja", "fr": "Oui", "en": "Yes"},
    "no": {"nl": "Nee", "fr": "Non", "en": "No"},
    "none": {"nl": "Geen", "fr": "Aucun", "en": "None"},
}
LANGUAGES = ("nl", "fr", "en")


def _label(key: str, language: str) -> str:
    return LABELS[key].get(language, LABELS[key]["en"])


def render_declaration(record: ClaimRecord, submitted: FormSubmitted, *, remark: str = "",
                       language: str = "nl") -> bytes:
    """The declaration as the client sent it, as a PDF (A4, one column)."""
    language = language if language in LANGUAGES else "nl"
    pdf = FormPdf(f"{_label('title', language)} {submitted.request_id}")
    heading, line = pdf.heading, pdf.line

    heading(_label("title", language), 16)
    line(_label("dossier", language), submitted.dossier_id)
    line(_label("reference", language), submitted.request_id)
    line(_label("sent_at", language), submitted.sent_at.strftime("%d/%m/%Y %H:%M UTC"))
    general = record.general
    heading(_label("general", language))
    line(_label("name", language), f"{general.last_name} {general.first_name}".strip())
    line(_label("email", language), general.email)
    line(_label("phone", language), general.phone)
    street = " ".join(part for part in (general.street, general.number, general.box) if part)
    place = " ".join(part for part in (general.postal_code, general.municipality) if part)
    line(_label("address", language), ", ".join(part for part in (street, place) if part))
    if general.iban:
        line(_label("iban", language), general.iban)
    heading(_label("goods", language))
    if record.policy_number:
        line(_label("contract", language), record.policy_number)
    for risk in record.risk_objects:
        line(risk.kind, risk.description)
    if record.other_risk_description:
        line(_label("other_risk", language), record.other_risk_description)
    heading(_label("loss", language))
    line(_label("loss_at", language),
         f"{record.loss_date.strftime('%d/%m/%Y')} {record.loss_time.strftime('%H:%M')}")
    line(_label("description", language), record.description)
    line(_label("vat_liable", language), _label("yes" if record.vat_liable else "no", language))
    line(_label("police_report", language), record.police_report_number or "")
    heading(_label("attachments", language))
    if not record.attachments:
        line("", _label("none", language))
    for attachment in record.attachments:
        line(attachment.filename, attachment.description)
    if remark:
        heading(_label("remark", language))
        line("", remark)
    return pdf.output()


def spooled(body: bytes, filename: str, content_type: str) -> SpooledUpload:
    """Bytes made here as an upload store_upload can stream."""
    file: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(  # noqa: SIM115 (closed by caller)
        max_size=len(body) + 1)
    file.write(body)
    file.seek(0)
    return SpooledUpload(file=file, filename=filename, content_type=content_type,
                         size=len(body), sha256=hashlib.sha256(body).hexdigest(), fields={})


@dataclass(frozen=True)
class ClaimFile:
    """A file sent with the claim: its place among the declaration's attachments."""

    index: int
    upload: SpooledUpload


async def complete_claim(
    rpc: RpcCaller, storage: httpx.AsyncClient, caller: Caller, submitted: FormSubmitted,
    files: Sequence[ClaimFile] = (), *, language: str = "nl",
) -> FormSubmitted:
    """Store the claim's files and its declaration PDF as documents of the request's context
    and record them on the request; what was done before (a resubmission) is not redone."""
    if submitted.kind != request_forms.FormKind.CLAIM:
        return submitted
    record = ClaimRecord.model_validate(submitted.form)
    context = documents.DocumentContext(kind=documents.ContextKind.REQUEST,
                                        ref_id=submitted.request_id)
    ids: list[str | None] = [None] * len(record.attachments)
    for file in files:
        if file.index < len(ids) and record.attachments[file.index].document_id is None:
            attachment = record.attachments[file.index]
            stored = await store_upload(
                rpc, storage, caller, submitted.dossier_id,
                attachment.description or file.upload.filename, file.upload, context)
            ids[file.index] = stored.document_id
    declaration_id = record.declaration_document_id
    if declaration_id is None:
        shown = record.model_copy(update={"attachments": [
            attachment.model_copy(update={"document_id": attachment.document_id or ids[i]})
            for i, attachment in enumerate(record.attachments)]})
        remark = submitted.request.body if submitted.request is not None else ""
        body = render_declaration(shown, submitted, remark=remark, language=language)
        upload = spooled(body, f"{_label('title', language)}-{submitted.request_id}.pdf",
                         "application/pdf")
        try:
            stored = await store_upload(rpc, storage, caller, submitted.dossier_id,
                                        _label("title", language), upload, context)
        finally:
            upload.close()
        declaration_id = stored.document_id
    if declaration_id == record.declaration_document_id and not any(ids):
        return submitted
    completed = await rpc.call(request_forms.ATTACH_CLAIM_DOCUMENTS,
                               request_forms.AttachClaimDocuments(
        caller=caller, dossier_id=submitted.dossier_id, request_id=submitted.request_id,
        document_ids=ids, declaration_document_id=declaration_id))
    return completed.model_copy(update={"created": submitted.created})
