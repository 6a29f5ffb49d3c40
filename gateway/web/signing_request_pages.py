"""The office's page that offers a document of a dossier for signature (the admin API's
signature request, from the staff's document viewer).

Staff tick one or more persons of the dossier (a person can sign once a MyBroker account of
the dossier has their e-mail address: the others are shown but cannot be ticked), optionally a
fixed order (the positions typed beside the names), a due date and a message. The signing
service checks everything again; its refusals come back as readable messages beside the form.
"""

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from gateway.deps import DossierIdPath, ObjectIdPath, Rpc, RpcCaller
from gateway.web.admin_pages import Translate, office_page, staff_only
from gateway.web.pages import CsrfChecked, Pages, PageSession
from gateway.web.session import WebSession
from libs.contracts import auth, documents, dossier, signing
from libs.contracts.caller import Caller
from libs.contracts.envelope import office_day, utc_now
from libs.servicekit.errors import Invalid, NotFound, ServiceError, Unavailable
from libs.servicekit.logs import correlation_id

router = APIRouter(include_in_schema=False)
PDF = "application/pdf"


@dataclass(frozen=True)
class PersonChoice:
    """One person of the dossier on the form."""

    person_id: str
    name: str
    email: str
    has_account: bool


def _page_path(dossier_id: str, document_id: str) -> str:
    return f"/admin/dossiers/{dossier_id}/documents/{document_id}/signature-request"


async def _choices(rpc: RpcCaller, caller: Caller, dossier_id: str) -> list[PersonChoice]:
    persons = await rpc.call(dossier.LIST_PERSONS, dossier.DossierQuery(
        caller=caller, dossier_id=dossier_id))
    members = await rpc.call(auth.LIST_DOSSIER_MEMBERS, auth.DossierMembersRequest(
        caller=caller, dossier_id=dossier_id))
    addresses = {str(member.email).casefold() for member in members.members}
    return [PersonChoice(
        person_id=person.person_id, name=f"{person.first_name} {person.last_name}",
        email=person.email or "",
        has_account=(person.email or "").strip().casefold() in addresses)
        for person in persons.persons]


def _not_signable(document: documents.DocumentPublic, content_type: str | None,
                  _: Translate) -> str | None:
    """Why this document cannot be offered for signature (None: it can)."""
    if document.rendition.state is documents.RenditionState.PENDING:
        return _("The document is still being prepared; try again in a moment.")
    if (content_type or document.content_type) != PDF or \
            document.rendition.state is not documents.RenditionState.READY:
        return _("Only a document shown as PDF can be offered for signature.")
    return None


async def _form_page(request: Request, session: WebSession, pages: Pages, rpc: RpcCaller,
                     dossier_id: str, document_id: str, *, values: dict[str, Any],
                     error: str | None = None, status_code: int = 200) -> Response:
    caller = session.claims.caller()
    _ = pages.gettext(pages.language(request, session))
    ticket = await rpc.call(documents.OPEN_DOWNLOAD, documents.OpenDownloadRequest(
        caller=caller, dossier_id=dossier_id, document_id=document_id,
        variant=documents.BodyVariant.VIEW))
    blocked = _not_signable(ticket.document, ticket.content_type, _)
    if error is None and blocked is not None:
        error, status_code = blocked, 422
    return office_page(pages, request, session, "admin/signature_request.html", {
        "document": ticket.document, "persons": await _choices(rpc, caller, dossier_id),
        "values": values, "error": error, "blocked": blocked is not None,
        "action": _page_path(dossier_id, document_id),
        "viewer": f"/admin/dossiers/{dossier_id}/documents/{document_id}",
        "today": office_day(utc_now()).isoformat(), "max_signers": signing.MAX_SIGNERS},
        status_code=status_code)


def _empty_values() -> dict[str, Any]:
    return {"signers": [], "positions": {}, "ordered": False, "due_date": "", "message": ""}


@router.get("/admin/dossiers/{dossier_id}/documents/{document_id}/signature-request")
async def signature_request_page(
    dossier_id: DossierIdPath, document_id: ObjectIdPath, request: Request,
    session: PageSession, pages: Pages, rpc: Rpc,
) -> Response:
    """The form: the dossier's persons, the order, a due date and a message."""
    staff_only(session)
    return await _form_page(request, session, pages, rpc, dossier_id, document_id,
                            values=_empty_values())


def _ordered_signers(chosen: list[str], positions: dict[str, str]) -> list[str]:
    """The ticked persons by the position typed beside each (blank: after the numbered ones,
    in the form's order)."""
    def key(item: tuple[int, str]) -> tuple[int, int]:
        index, person_id = item
        typed = positions.get(person_id, "").strip()
        return (int(typed) if typed.isdigit() else 10**6, index)
    return [person_id for _, person_id in sorted(enumerate(dict.fromkeys(chosen)), key=key)]


def _refusal(error: Invalid, _: Translate) -> str:
    """The signing service's refusal of the form, readable."""
    fields = error.fields or {}
    if "document_id" in fields:
        if "prepared" in fields["document_id"]:
            return _("The document is still being prepared; try again in a moment.")
        return _("Only a document shown as PDF can be offered for signature.")
    if "due_date" in fields:
        return _("The due date has passed: choose today or a later day.")
    if "No MyBroker account" in fields.get("signer_person_ids", ""):
        return _("Every signer needs a MyBroker account of this dossier with their e-mail "
                 "address.")
    if "signer_person_ids" in fields:
        return _("Choose persons of this dossier, each once.")
    return _("The signature request cannot be made: %(detail)s") % {"detail": error.detail}


@router.post("/admin/dossiers/{dossier_id}/documents/{document_id}/signature-request",
             dependencies=[CsrfChecked])
async def create_signature_request(
    dossier_id: DossierIdPath, document_id: ObjectIdPath, request: Request,
    session: PageSession, pages: Pages, rpc: Rpc,
    signer: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies the default
    ordered: Annotated[str, Form(max_length=10)] = "",
    due_date: Annotated[str, Form(max_length=20)] = "",
    message: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Offer the document to the ticked persons; back to the list of requests when it is made,
    else the form again with what was filled in and why it was refused."""
    caller = staff_only(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    signer = list(dict.fromkeys(signer))
    form = await request.form()
    positions = {person_id: str(form.get(f"position-{person_id}", ""))[:3]
                 for person_id in signer[:signing.MAX_SIGNERS]}
    values = {"signers": signer, "positions": positions, "ordered": ordered == "yes",
              "due_date": due_date, "message": message}

    async def again(error: str, status_code: int = 422) -> Response:
        return await _form_page(request, session, pages, rpc, dossier_id, document_id,
                                values=values, error=error, status_code=status_code)

    if not signer:
        return await again(_("Choose at least one person to sign."))
    if len(signer) > signing.MAX_SIGNERS:
        return await again(_("At most %(count)s persons can sign one document.") % {
            "count": signing.MAX_SIGNERS})
    due: date | None = None
    if due_date.strip():
        try:
            due = date.fromisoformat(due_date.strip())
        except ValueError:
            return await again(_("The due date is not a date."))
    signers = _ordered_signers(signer, positions) if ordered == "yes" else signer
    try:
        command = signing.CreateSignatureRequest(
            caller=caller, dossier_id=dossier_id, document_id=document_id,
            signer_person_ids=signers, ordered=ordered == "yes", due_date=due,
            note=message.strip() or None, correlation_id=correlation_id.get())
    except ValidationError:
        return await again(_("Choose persons of this dossier, each once."))
    try:
        await rpc.call(signing.CREATE_SIGNATURE_REQUEST, command)
    except Invalid as error:
        return await again(_refusal(error, _))
    except NotFound:
        return await again(_("This document or one of the persons no longer exists."), 404)
    except Unavailable:
        return await again(_("The signing service cannot be reached; please try again."), 503)
    except ServiceError as error:
        return await again(_("The signature request cannot be made: %(detail)s") % {
            "detail": error.detail}, 409)
    return pages.redirect(request, "/admin/signing?done=signature_requested")
