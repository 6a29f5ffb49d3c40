"""The claim declaration as a page ("Schade aangifte", manual 4.4), opened from a risk object or
from a contract.

Four sections as in the manual: the general data (prefilled; name and first name read-only),
the damaged goods (from a risk object: that one preselected, "+" adds another of the dossier's;
from a contract: preselected when it covers exactly one, else only the contract's offered; each
once), the loss (date and time, not in the future; description; VAT-liable; police report
number) and the attached documents, each with its size and a description.

The form is one multipart post, the files last (request-forms.js sends it with a progress bar
per file; without the script it is a plain post). A file over a limit is refused without losing
what was typed: the page comes back with the data kept and the refused files named. The files
of an accepted declaration and its PDF become documents of the request's context
(gateway/claim_declaration.py, as for the API).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.claim_declaration import ClaimFile, complete_claim
from gateway.deps import ObjectIdPath, Rpc, RpcCaller, State
from gateway.streaming import MULTIPART_OVERHEAD_BYTES, UploadLimits
from gateway.web.form_pages import (
    RESUME,
    Translate,
    draft_values,
    drop_draft,
    form_context,
    new_idempotency_key,
    page_values,
    problem_of,
    saved_draft,
    sent,
    submit,
    valid_key,
    zone_context,
)
from gateway.web.form_uploads import FileRefusal, PostedForm, receive_form
from gateway.web.pages import Pages, PageSession
from gateway.web.rendering import _mark
from libs.contracts import request_forms as forms
from libs.contracts import requests
from libs.contracts.auth import AccessClaims
from libs.contracts.request_forms import FormAbout, FormAboutKind, FormKind
from libs.servicekit.errors import Invalid, NotFound, Unavailable

router = APIRouter(include_in_schema=False)
GENERAL_FIELDS = ("email", "phone", "street", "number", "box", "postal_code", "municipality",
                  "iban")
ROW_LISTS = ("risk_object_id", "attachment_description")
REFUSALS: dict[FileRefusal, str] = {
    FileRefusal.TOO_LARGE: _mark("%(name)s was not added: a document may be at most 2 MB."),
    FileRefusal.TOO_MANY: _mark("%(name)s was not added: at most 10 documents can be added."),
    FileRefusal.TOO_LARGE_TOGETHER: _mark(
        "%(name)s was not added: the documents together may be at most 10 MB."),
}
CHOOSE_AGAIN = _mark("Your other data is kept. Please choose your documents again.")
Draft = Annotated[str, Query(max_length=10)]


def _about(kind: FormAboutKind, ref_id: str) -> FormAbout:
    return FormAbout(kind=kind, ref_id=ref_id)


def claim_values(context: forms.FormContext) -> dict[str, Any]:
    """The form's fields as the office's data prefills them (manual 4.4)."""
    claim = context.claim
    if claim is None:  # the service always sends it for a claim
        raise NotFound("This form is not available.")
    general = claim.general
    values: dict[str, Any] = {f"general.{name}": str(getattr(general, name) or "")
                              for name in (*GENERAL_FIELDS, "last_name", "first_name")}
    values["general.person_id"] = general.person_id or ""
    values.update({"risk_object_id": list(claim.preselected) or [""],
                   "other_risk_description": "", "loss_date": "", "loss_time": "",
                   "description": "", "vat_liable": "no", "police_report_number": "",
                   "attachment_description": []})
    return values


def claim_payload(values: dict[str, Any], context: forms.FormContext) -> dict[str, Any]:
    """The ClaimForm payload of the posted fields (the service checks every rule again)."""
    general: dict[str, Any] = {name: str(values.get(f"general.{name}", "")).strip()
                               for name in GENERAL_FIELDS}
    held = context.claim.general if context.claim else None
    general["person_id"] = held.person_id if held else None  # the declarant is not posted
    police = str(values.get("police_report_number", "")).strip()
    return {
        "general": general,
        "risk_object_ids": [choice for choice in values.get("risk_object_id", []) if choice],
        "other_risk_description": str(values.get("other_risk_description", "")).strip(),
        "loss_date": str(values.get("loss_date", "")).strip() or None,
        "loss_time": str(values.get("loss_time", "")).strip() or None,
        "description": str(values.get("description", "")).strip(),
        "vat_liable": values.get("vat_liable") == "yes",
        "police_report_number": police or None,
    }


def keep_read_only(values: dict[str, Any], context: forms.FormContext) -> None:
    """Name and first name are the office's, whatever a page posted (manual 4.4)."""
    fresh = claim_values(context)
    for name in forms.READ_ONLY_CLAIM_FIELDS:
        values[f"general.{name}"] = fresh[f"general.{name}"]


def refused_files(posted: PostedForm, _: Translate) -> str | None:
    """What the page says about the files the limits refused (None: all taken)."""
    if not posted.refused:
        return None
    lines = [_(REFUSALS[refused.reason]) % {"name": refused.filename}
             for refused in posted.refused]
    return " ".join([*lines, _(CHOOSE_AGAIN)])


def _limits(state: State) -> UploadLimits:
    settings = state.settings
    return UploadLimits(max_file_bytes=settings.attachment_max_bytes,
                        max_files=settings.attachment_max_files,
                        max_total_bytes=settings.attachment_max_total_bytes)


async def _claim_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                      state: State, about: FormAbout, form_path: str,
                      values: dict[str, Any] | None, errors: dict[str, str], key: str,
                      resume: bool) -> Response:
    zone = await zone_context(request, session, rpc)
    if not zone["active"]:
        raise NotFound("This dossier does not exist.")
    context = await form_context(rpc, session.claims, zone["active"], FormKind.CLAIM, about)
    draft = await saved_draft(rpc, session.claims, zone["active"], FormKind.CLAIM, about)
    if values is None:
        values = claim_values(context)
        if draft is not None and resume:
            values.update(draft_values(draft))
            values["risk_object_id"] = values.get("risk_object_id") or [""]
    keep_read_only(values, context)
    limits = _limits(state)
    return pages.render(request, "forms/claim.html", {
        **zone, "context": context, "claim": context.claim, "values": values, "errors": errors,
        "idempotency_key": key, "kind": FormKind.CLAIM.value, "about": about.key,
        "origin": about.kind.value, "origin_id": about.ref_id, "form_path": form_path,
        "draft": draft if not resume and not errors else None,
        "max_file_bytes": limits.max_file_bytes, "max_files": limits.max_files,
        "max_total_bytes": limits.total_bytes},
        session=session, status_code=422 if errors else 200)


def attachments_payload(posted: PostedForm, descriptions: list[str]) -> list[dict[str, Any]]:
    """The declaration's attachments as the payload announces them (their documents follow)."""
    return [{"filename": posted_file.upload.filename[:255], "size": posted_file.upload.size,
             "description": (descriptions[posted_file.position].strip()[:200]
                             if posted_file.position < len(descriptions) else "")}
            for posted_file in posted.files]


async def already_complete(rpc: RpcCaller, claims: AccessClaims, dossier_id: str,
                           key: str | None) -> bool:
    """Whether this key's declaration is stored with all its files and its PDF: its resend
    is answered before the files are read again (nothing else is done, so no CSRF is needed)."""
    if not key or len(key) > 128:
        return False
    try:
        stored = await rpc.call(requests.FIND_RESUBMITTED, requests.FindResubmittedQuery(
            caller=claims.caller(), dossier_id=dossier_id, idempotency_key=key))
    except (NotFound, Unavailable):  # unknown (or not known now): the form is read and sent
        return False
    if stored.kind != FormKind.CLAIM or stored.form is None:
        return False
    record = forms.ClaimRecord.model_validate(stored.form)
    return record.declaration_document_id is not None and all(
        attachment.document_id is not None for attachment in record.attachments)


async def _send_claim(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                      state: State, about: FormAbout, form_path: str) -> Response:
    _ = pages.gettext(pages.language(request, session))
    zone = await zone_context(request, session, rpc)
    if not zone["active"]:
        raise NotFound("This dossier does not exist.")
    dossier_id: str = zone["active"]
    if await already_complete(rpc, session.claims, dossier_id, request.query_params.get("key")):
        return sent(pages, request, FormKind.CLAIM, dossier_id)  # a double click, a retry
    # Like the API's attachments: a burst of uploads is refused before the body is read. A
    # declaration without files (or with a few small ones) is not counted as an upload, so
    # correcting a refused form never runs into the upload window.
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MULTIPART_OVERHEAD_BYTES:
        await rpc.call(requests.ADMIT_ATTACHMENT, requests.AdmitAttachmentRequest(
            caller=session.claims.caller(), dossier_id=dossier_id))
    posted = await receive_form(request, limits=_limits(state),
                                memory_bytes=state.settings.upload_memory_bytes)
    try:
        values = page_values(posted.fields, lists=ROW_LISTS)
        values["attachment_description"] = []  # the files are chosen again with theirs
        key = valid_key(str(values.get("idempotency_key", "")))
        context = await form_context(rpc, session.claims, dossier_id, FormKind.CLAIM, about)
        if not values["risk_object_id"]:
            values["risk_object_id"] = [""]
        refusal = refused_files(posted, _)
        if refusal is not None:
            return await _claim_page(request, session, pages, rpc, state, about, form_path,
                                     values, {"attachments": refusal}, key, False)
        descriptions = [value for name, value in posted.fields
                        if name == "attachment_description"]
        announced = attachments_payload(posted, descriptions)
        try:
            submitted = await submit(rpc, session.claims, dossier_id, FormKind.CLAIM,
                                     {**claim_payload(values, context), "attachments": announced},
                                     about, "", key)
        except (Invalid, Unavailable) as error:
            return await _claim_page(request, session, pages, rpc, state, about, form_path,
                                     values, problem_of(error, values, _), key, False)
        # The files and the declaration's PDF become documents of the request; a repeated
        # key finishes only what an interrupted first attempt left undone.
        await complete_claim(rpc, state.storage, session.claims.caller(), submitted,
                             [ClaimFile(index=index, upload=posted_file.upload)
                              for index, posted_file in enumerate(posted.files)],
                             language=pages.language(request, session))
    finally:
        posted.close()
    await drop_draft(rpc, session.claims, dossier_id, FormKind.CLAIM, about)
    return sent(pages, request, FormKind.CLAIM, dossier_id)


def _risk_path(risk_object_id: str) -> str:
    return f"/forms/claim/risk-objects/{risk_object_id}"


def _contract_path(contract_id: str) -> str:
    return f"/forms/claim/contracts/{contract_id}"


@router.get("/forms/claim/risk-objects/{risk_object_id}")
async def claim_from_risk_object(request: Request, risk_object_id: ObjectIdPath,
                                 session: PageSession, pages: Pages, rpc: Rpc, state: State,
                                 draft: Draft = "") -> Response:
    """"Schade aangifte" from a risk object: that risk object preselected."""
    return await _claim_page(request, session, pages, rpc, state,
                             _about(FormAboutKind.RISK_OBJECT, risk_object_id),
                             _risk_path(risk_object_id), None, {}, new_idempotency_key(),
                             draft == RESUME)


@router.post("/forms/claim/risk-objects/{risk_object_id}")
async def send_claim_from_risk_object(request: Request, risk_object_id: ObjectIdPath,
                                      session: PageSession, pages: Pages, rpc: Rpc,
                                      state: State) -> Response:
    """Declare the claim (multipart: the fields, then the files)."""
    return await _send_claim(request, session, pages, rpc, state,
                             _about(FormAboutKind.RISK_OBJECT, risk_object_id),
                             _risk_path(risk_object_id))


@router.get("/forms/claim/contracts/{contract_id}")
async def claim_from_contract(request: Request, contract_id: ObjectIdPath, session: PageSession,
                              pages: Pages, rpc: Rpc, state: State,
                              draft: Draft = "") -> Response:
    """"Schade aangifte" from a contract: only its risk objects offered."""
    return await _claim_page(request, session, pages, rpc, state,
                             _about(FormAboutKind.CONTRACT, contract_id),
                             _contract_path(contract_id), None, {}, new_idempotency_key(),
                             draft == RESUME)


@router.post("/forms/claim/contracts/{contract_id}")
async def send_claim_from_contract(request: Request, contract_id: ObjectIdPath,
                                   session: PageSession, pages: Pages, rpc: Rpc,
                                   state: State) -> Response:
    """Declare the claim (multipart: the fields, then the files)."""
    return await _send_claim(request, session, pages, rpc, state,
                             _about(FormAboutKind.CONTRACT, contract_id),
                             _contract_path(contract_id))
