"""What every request form page shares (manual 4.1-4.4): the form context, drafts, the
idempotency key, field errors; and the shared routes: the confirmation, autosave, the
municipalities of a postal code. The forms themselves: data_change_pages (4.1-4.3) and
claim_form_pages (4.4).

Each form is prefilled from the requests service's form context (the values as the office
holds them), posted as a plain form (htmx boosts it), checked by the service, and shown again
with what was typed and each error beside its field when refused. A rendered form carries an
idempotency key, so a double click or a retry creates one request. A half-filled form is kept
as a draft (autosaved by request-forms.js), which another device offers to resume.
"""

import uuid
from collections.abc import Callable
from contextlib import suppress
from typing import Annotated, Any

import belgica
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from gateway.deps import Rpc, RpcCaller
from gateway.web.admin_document_pages import CsrfHeaderChecked
from gateway.web.pages import (
    CsrfChecked,
    Pages,
    PageSession,
    active_dossier_id,
    dossier_choices,
)
from gateway.web.rendering import _mark, in_dossier
from libs.contracts import request_forms as forms
from libs.contracts.auth import AccessClaims
from libs.contracts.request_forms import FormAbout, FormKind
from libs.servicekit.errors import Invalid, NotFound, Unavailable
from libs.servicekit.logs import correlation_id

router = APIRouter(include_in_schema=False)
SENT_PATH = "/forms/sent"
RESUME = "resume"  # ?draft=resume: the form shows the saved draft instead of the office's data
REMARK_FIELD = "remark"
MAX_FORM_FIELDS = 200  # what a form posts: far fewer fields; more is no form of ours

Translate = Callable[[str], str]

# What a page says beside a refused field. The service names the field, the page says it in the
# reader's language; a field without its own text gets the general one.
FIELD_MESSAGES: dict[str, str] = {
    "national_number": _mark("This national register number is not valid or does not match "
                             "the birth date."),
    "email": _mark("Enter a valid e-mail address."),
    "phone": _mark("Enter a valid phone number."),
    "birth_date": _mark("Enter a valid date that is not in the future."),
    "start_date": _mark("Enter a valid date."),
    "postal_code": _mark("Enter a Belgian postal code of 4 digits."),
    "municipality": _mark("This municipality does not go with the postal code."),
    "person_ids": _mark("Choose at least one member of your household."),
    "member_kind": _mark("Choose the kind of family member."),
    "loss_date": _mark("Enter the date of the loss; it cannot be in the future."),
    "loss_time": _mark("Enter the time of the loss; it cannot be in the future."),
    "risk_object_ids": _mark("Choose each risk object once, among those offered."),
    "attachments": _mark("Check the attached documents."),
}
LIST_FIELDS = {"person_ids", "risk_object_ids", "member_kind", "attachments"}
REQUIRED_MESSAGE = _mark("This field is mandatory.")
GENERAL_MESSAGE = _mark("Please check this field.")
NOTHING_CHANGED = _mark("You have not changed anything yet.")
UNAVAILABLE_MESSAGE = _mark("Your request could not be sent right now. Your data stays on this "
                            "page: please try again in a moment.")


async def zone_context(request: Request, session: PageSession, rpc: RpcCaller) -> dict[str, Any]:
    """What every page of the zone shows around its content: the dossiers and the active one."""
    return {"dossiers": await dossier_choices(rpc, session.claims),
            "active": active_dossier_id(request, session.claims)}


def active_dossier(zone: dict[str, Any]) -> str:
    """The zone's active dossier; a caller without one (staff) finds no form here."""
    if not zone["active"]:
        raise NotFound("This dossier does not exist.")
    dossier_id: str = zone["active"]
    return dossier_id


def new_idempotency_key() -> str:
    """A fresh key for one rendered form."""
    return uuid.uuid4().hex


def field_errors(error: Invalid, values: dict[str, Any], _: Translate) -> dict[str, str]:
    """The service's field errors as the page shows them: by field name, in words."""
    errors: dict[str, str] = {}
    for path in (error.fields or {}):
        name = path.removeprefix("payload.")
        base = name.split(".")[-1] if name.startswith("general.") else name.split(".")[0]
        typed = values.get(name)
        if typed in ("", None) and base not in LIST_FIELDS:
            message = REQUIRED_MESSAGE
        else:
            message = FIELD_MESSAGES.get(base, GENERAL_MESSAGE)
        errors.setdefault(name, _(message))
        if name != base and not name.startswith("general."):
            errors.setdefault(base, _(message))  # a row's error also heads its list
    if not errors:
        errors["form"] = _(GENERAL_MESSAGE)
    return errors


def problem_of(error: Invalid | Unavailable, values: dict[str, Any],
               _: Translate) -> dict[str, str]:
    """What the form shows for a refusal: the field errors, or that it could not be sent."""
    if isinstance(error, Unavailable):
        return {"form": _(UNAVAILABLE_MESSAGE)}
    return field_errors(error, values, _)


async def form_context(rpc: RpcCaller, claims: AccessClaims, dossier_id: str, kind: FormKind,
                       about: FormAbout | None) -> forms.FormContext:
    """What the form is prefilled with (NotFound for another dossier's person or object)."""
    return await rpc.call(forms.FORM_CONTEXT, forms.FormContextQuery(
        caller=claims.caller(), dossier_id=dossier_id, kind=kind, about=about))


async def saved_draft(rpc: RpcCaller, claims: AccessClaims, dossier_id: str, kind: FormKind,
                      about: FormAbout | None) -> forms.FormDraft | None:
    """The caller's draft of this form, if any (none while the service is away: the form
    still works from the office's data)."""
    try:
        return await rpc.call(forms.GET_DRAFT, forms.DraftKey(
            caller=claims.caller(), dossier_id=dossier_id, kind=kind, about=about))
    except (NotFound, Unavailable):
        return None


async def drop_draft(rpc: RpcCaller, claims: AccessClaims, dossier_id: str, kind: FormKind,
                     about: FormAbout | None) -> None:
    """Delete the draft of a form that was sent (or discarded); a draft already gone is fine."""
    with suppress(NotFound, Unavailable):  # else it expires by itself within 30 days
        await rpc.call(forms.DELETE_DRAFT, forms.DraftKey(
            caller=claims.caller(), dossier_id=dossier_id, kind=kind, about=about))


def draft_values(draft: forms.FormDraft) -> dict[str, Any]:
    """A draft's fields as the form shows them (strings, lists of strings)."""
    values: dict[str, Any] = {}
    for name, value in draft.data.items():
        if isinstance(value, list):
            values[name] = [str(item) for item in value if isinstance(item, str | int)]
        elif isinstance(value, str | int | float | bool):
            values[name] = str(value)
    return values


async def submit(rpc: RpcCaller, claims: AccessClaims, dossier_id: str, kind: FormKind,
                 payload: dict[str, Any], about: FormAbout | None, remark: str,
                 idempotency_key: str) -> forms.FormSubmitted:
    """Send the form; the same key again returns the request already made."""
    return await rpc.call(forms.SUBMIT_FORM, forms.SubmitForm(
        caller=claims.caller(), dossier_id=dossier_id, kind=kind, payload=payload, about=about,
        remark=remark.strip(), idempotency_key=idempotency_key or None,
        sender_name=claims.name, correlation_id=correlation_id.get()))


def valid_key(value: str) -> str:
    """The posted idempotency key when it has the key's shape, else a fresh one."""
    ok = 8 <= len(value) <= 128 and all(c.isalnum() or c in "_.:-" for c in value)
    return value if ok else new_idempotency_key()


def sent(pages: Pages, request: Request, kind: FormKind, dossier_id: str) -> Response:
    """After a form was sent: the confirmation page (see-other, so a reload sends nothing)."""
    return pages.redirect(request, in_dossier(f"{SENT_PATH}?kind={kind.value}", dossier_id))


def page_values(fields: list[tuple[str, str]], lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """A posted form's fields by name (the last of each), `lists` as every value in order."""
    values: dict[str, Any] = {name: [] for name in lists}
    for name, value in fields[:MAX_FORM_FIELDS]:
        if name in lists:
            values[name].append(value)
        elif name != "csrf_token":
            values[name] = value
    return values


async def posted_fields(request: Request) -> list[tuple[str, str]]:
    """The text fields of a url-encoded page form, in order."""
    form = await request.form()
    return [(name, value) for name, value in form.multi_items() if isinstance(value, str)]


# --- shared: the confirmation, drafts -------------------------------------------------------------


@router.get(SENT_PATH)
async def form_sent_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                         kind: Annotated[str, Query(max_length=40)] = "") -> Response:
    """The manual's confirmation: sent, and pending at the broker; a link to "Mijn aanvragen"."""
    zone = await zone_context(request, session, rpc)
    shown = kind if kind in {k.value for k in FormKind} else ""
    return pages.render(request, "forms/sent.html", {**zone, "kind": shown}, session=session)


def municipality_names(postal_code: str, language: str) -> list[str]:
    """The official names of the municipalities of a Belgian postal code, in the reader's
    language where the list has it (the service checks the pair against the same list)."""
    code = postal_code.strip()
    if len(code) != 4 or not code.isdigit():
        return []
    names: list[str] = []
    for municipality in belgica.get_municipalities_for_postal_code(code):
        official = {key: str(value) for key, value in municipality["name"].items()}
        name = official.get(language) or official.get("nl") or next(iter(official.values()))
        if name not in names:
            names.append(name)
    return names


@router.get("/forms/municipalities")
async def municipality_options(request: Request, session: PageSession, pages: Pages,
                               postal_code: Annotated[str, Query(max_length=10)] = "",
                               ) -> Response:
    """The municipalities of the typed postal code (the address form's suggestions)."""
    language = pages.language(request, session)
    return pages.render(request, "forms/_municipalities.html", {
        "names": municipality_names(postal_code, language)}, session=session)


def _about_of(text: str) -> FormAbout | None:
    try:
        return forms.parse_about(text)
    except ValueError:
        raise Invalid("This form is not known.", fields={"about": "not valid"}) from None


def _kind_of(text: str) -> FormKind:
    try:
        return FormKind(text)
    except ValueError:
        raise Invalid("This form is not known.", fields={"kind": "not valid"}) from None


DRAFT_NOT_SAVED = {"kind", "about", "csrf_token", "idempotency_key", "attachment_description"}
# The fields of several values a draft keeps as lists (an empty list too: all unchecked).
DRAFT_LISTS: dict[FormKind, tuple[str, ...]] = {FormKind.ADDRESS: ("person_ids",),
                                                FormKind.CLAIM: ("risk_object_id",)}


@router.post("/forms/draft", dependencies=[CsrfHeaderChecked], status_code=204)
async def save_draft(request: Request, session: PageSession, rpc: Rpc) -> Response:
    """Autosave: the form as the page holds it, at most 64 KB (the CSRF token in a header)."""
    fields = await posted_fields(request)
    kind = _kind_of(next((value for name, value in fields if name == "kind"), ""))
    values = page_values(fields, lists=DRAFT_LISTS.get(kind, ()))
    about = _about_of(str(values.get("about", "")))
    data = {name: value for name, value in values.items() if name not in DRAFT_NOT_SAVED}
    dossier_id = active_dossier_id(request, session.claims)
    if not dossier_id:
        raise NotFound("This dossier does not exist.")
    await rpc.call(forms.SAVE_DRAFT, forms.SaveDraft(
        caller=session.claims.caller(), dossier_id=dossier_id, kind=kind, about=about,
        data=data))
    return Response(status_code=204)


@router.post("/forms/draft/discard", dependencies=[CsrfChecked])
async def discard_draft(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                        kind: Annotated[str, Form(max_length=40)] = "",
                        about: Annotated[str, Form(max_length=200)] = "",
                        next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    """Throw the draft away; the form shows the office's data again."""
    zone = await zone_context(request, session, rpc)
    await drop_draft(rpc, session.claims, active_dossier(zone), _kind_of(kind), _about_of(about))
    return pages.redirect(request, next)

