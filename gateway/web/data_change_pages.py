"""The forms of "Mijn gegevens" as pages (manual 4.1-4.3): change a person's data, change the
address, add a family member. Each is prefilled from the form context, sent only when the
service accepts it, and shown again with the errors beside the fields otherwise (what every
form page shares is in form_pages)."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.deps import ObjectIdPath, Rpc
from gateway.web.form_pages import (
    NOTHING_CHANGED,
    REMARK_FIELD,
    RESUME,
    active_dossier,
    draft_values,
    drop_draft,
    form_context,
    new_idempotency_key,
    page_values,
    posted_fields,
    problem_of,
    saved_draft,
    sent,
    submit,
    valid_key,
    zone_context,
)
from gateway.web.pages import CsrfChecked, Pages, PageSession
from libs.contracts import request_forms as forms
from libs.contracts.request_forms import FormAbout, FormAboutKind, FormKind
from libs.servicekit.errors import Invalid, Unavailable

router = APIRouter(include_in_schema=False)


# --- 4.1 personal data --------------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def person_values(context: forms.FormContext) -> dict[str, Any]:
    """The person's values as the office holds them, as the form's fields."""
    person = context.person
    return {name: _text(getattr(person, name, None)) for name in forms.PERSONAL_DATA_FIELDS}


def changed_fields(values: dict[str, Any], held: dict[str, Any]) -> dict[str, str | None]:
    """Only what the client changed (the page compares; the service does again): a cleared
    optional field is sent as "" (email, phone) or null."""
    changed: dict[str, str | None] = {}
    for name in forms.PERSONAL_DATA_FIELDS:
        typed = str(values.get(name, "")).strip()
        if typed != str(held.get(name, "")).strip():
            changed[name] = typed if typed or name in ("email", "phone") else None
    return changed


def _person_about(person_id: str) -> FormAbout:
    return FormAbout(kind=FormAboutKind.PERSON, ref_id=person_id)


async def _personal_data_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                              person_id: str, values: dict[str, Any] | None,
                              errors: dict[str, str], key: str, resume: bool) -> Response:
    zone = await zone_context(request, session, rpc)
    dossier_id = active_dossier(zone)
    about = _person_about(person_id)
    context = await form_context(rpc, session.claims, dossier_id, FormKind.PERSONAL_DATA, about)
    draft = await saved_draft(rpc, session.claims, dossier_id, FormKind.PERSONAL_DATA, about)
    if values is None:
        values = {**person_values(context), REMARK_FIELD: ""}
        if draft is not None and resume:
            values.update(draft_values(draft))
    return pages.render(request, "forms/personal_data.html", {
        **zone, "context": context, "person": context.person, "values": values,
        "errors": errors, "idempotency_key": key, "kind": FormKind.PERSONAL_DATA.value,
        "about": about.key, "draft": draft if values and not resume and not errors else None,
        "form_path": f"/forms/personal-data/{person_id}",
        "languages_offered": [language.value for language in forms.Language]},
        session=session, status_code=422 if errors else 200)


@router.get("/forms/personal-data/{person_id}")
async def personal_data_form(request: Request, person_id: ObjectIdPath, session: PageSession,
                             pages: Pages, rpc: Rpc,
                             draft: Annotated[str, Query(max_length=10)] = "") -> Response:
    """4.1 "Gegevens wijzigen": the person's data as the office holds it, to change."""
    return await _personal_data_page(request, session, pages, rpc, person_id, None, {},
                                     new_idempotency_key(), draft == RESUME)


@router.post("/forms/personal-data/{person_id}", dependencies=[CsrfChecked])
async def send_personal_data(request: Request, person_id: ObjectIdPath, session: PageSession,
                             pages: Pages, rpc: Rpc) -> Response:
    """Send only the changed fields; refused -> the form again with the errors."""
    _ = pages.gettext(pages.language(request, session))
    values = page_values(await posted_fields(request))
    key = valid_key(str(values.get("idempotency_key", "")))
    zone = await zone_context(request, session, rpc)
    dossier_id = active_dossier(zone)
    about = _person_about(person_id)
    context = await form_context(rpc, session.claims, dossier_id, FormKind.PERSONAL_DATA, about)
    changed = changed_fields(values, person_values(context))
    if not changed:
        return await _personal_data_page(request, session, pages, rpc, person_id, values,
                                         {"form": _(NOTHING_CHANGED)}, key, False)
    try:
        await submit(rpc, session.claims, dossier_id, FormKind.PERSONAL_DATA,
                     {"person_id": person_id, **changed}, about,
                     str(values.get(REMARK_FIELD, "")), key)
    except (Invalid, Unavailable) as error:
        return await _personal_data_page(request, session, pages, rpc, person_id, values,
                                         problem_of(error, values, _), key, False)
    await drop_draft(rpc, session.claims, dossier_id, FormKind.PERSONAL_DATA, about)
    return sent(pages, request, FormKind.PERSONAL_DATA, dossier_id)


# --- 4.2 address ----------------------------------------------------------------------------


ADDRESS_FIELDS = ("start_date", "postal_code", "municipality", "street", "number", "box")


async def _address_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                        values: dict[str, Any] | None, errors: dict[str, str], key: str,
                        resume: bool) -> Response:
    zone = await zone_context(request, session, rpc)
    dossier_id = active_dossier(zone)
    context = await form_context(rpc, session.claims, dossier_id, FormKind.ADDRESS, None)
    draft = await saved_draft(rpc, session.claims, dossier_id, FormKind.ADDRESS, None)
    if values is None:
        values = {**dict.fromkeys(ADDRESS_FIELDS, ""), REMARK_FIELD: "",
                  "person_ids": [member.person_id for member in context.household]}
        if draft is not None and resume:
            values.update(draft_values(draft))
    return pages.render(request, "forms/address.html", {
        **zone, "context": context, "values": values, "errors": errors,
        "idempotency_key": key, "kind": FormKind.ADDRESS.value, "about": "",
        "draft": draft if not resume and not errors else None, "form_path": "/forms/address"},
        session=session, status_code=422 if errors else 200)


@router.get("/forms/address")
async def address_form(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                       draft: Annotated[str, Query(max_length=10)] = "") -> Response:
    """4.2 "Adres wijzigen": the start date, the new address, who of the household moves."""
    return await _address_page(request, session, pages, rpc, None, {}, new_idempotency_key(),
                               draft == RESUME)


@router.post("/forms/address", dependencies=[CsrfChecked])
async def send_address(request: Request, session: PageSession, pages: Pages,
                       rpc: Rpc) -> Response:
    """Send the new address; refused -> the form again with the errors."""
    _ = pages.gettext(pages.language(request, session))
    values = page_values(await posted_fields(request), lists=("person_ids",))
    key = valid_key(str(values.get("idempotency_key", "")))
    zone = await zone_context(request, session, rpc)
    dossier_id = active_dossier(zone)
    payload: dict[str, Any] = {name: str(values.get(name, "")).strip()
                               for name in ADDRESS_FIELDS}
    payload["start_date"] = payload["start_date"] or None
    payload["person_ids"] = values["person_ids"]
    try:
        await submit(rpc, session.claims, dossier_id, FormKind.ADDRESS, payload, None,
                     str(values.get(REMARK_FIELD, "")), key)
    except (Invalid, Unavailable) as error:
        return await _address_page(request, session, pages, rpc, values,
                                   problem_of(error, values, _), key, False)
    await drop_draft(rpc, session.claims, dossier_id, FormKind.ADDRESS, None)
    return sent(pages, request, FormKind.ADDRESS, dossier_id)


# --- 4.3 family member -------------------------------------------------------------------------


FAMILY_MEMBER_FIELDS = ("member_kind", "last_name", "first_name", "birth_date",
                        "national_number", "language", "email", "phone")


async def _family_member_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                              values: dict[str, Any] | None, errors: dict[str, str], key: str,
                              resume: bool) -> Response:
    zone = await zone_context(request, session, rpc)
    dossier_id = active_dossier(zone)
    context = await form_context(rpc, session.claims, dossier_id, FormKind.FAMILY_MEMBER, None)
    draft = await saved_draft(rpc, session.claims, dossier_id, FormKind.FAMILY_MEMBER, None)
    if values is None:
        values = {**dict.fromkeys(FAMILY_MEMBER_FIELDS, ""), REMARK_FIELD: ""}
        if draft is not None and resume:
            values.update(draft_values(draft))
    kinds = context.family_member_kinds or list(forms.FamilyMemberKind)
    return pages.render(request, "forms/family_member.html", {
        **zone, "context": context, "values": values, "errors": errors,
        "idempotency_key": key, "kind": FormKind.FAMILY_MEMBER.value, "about": "",
        "member_kinds": [kind.value for kind in kinds],
        "languages_offered": [language.value for language in forms.Language],
        "draft": draft if not resume and not errors else None,
        "form_path": "/forms/family-member"},
        session=session, status_code=422 if errors else 200)


@router.get("/forms/family-member")
async def family_member_form(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                             draft: Annotated[str, Query(max_length=10)] = "") -> Response:
    """4.3 "Familielid toevoegen": the kind of family member and their data."""
    return await _family_member_page(request, session, pages, rpc, None, {},
                                     new_idempotency_key(), draft == RESUME)


@router.post("/forms/family-member", dependencies=[CsrfChecked])
async def send_family_member(request: Request, session: PageSession, pages: Pages,
                             rpc: Rpc) -> Response:
    """Send the new family member; refused -> the form again with the errors."""
    _ = pages.gettext(pages.language(request, session))
    values = page_values(await posted_fields(request))
    key = valid_key(str(values.get("idempotency_key", "")))
    zone = await zone_context(request, session, rpc)
    dossier_id = active_dossier(zone)
    payload: dict[str, Any] = {}
    for name in FAMILY_MEMBER_FIELDS:
        typed = str(values.get(name, "")).strip()
        payload[name] = typed or (None if name not in ("last_name", "first_name") else "")
    try:
        await submit(rpc, session.claims, dossier_id, FormKind.FAMILY_MEMBER, payload, None,
                     str(values.get(REMARK_FIELD, "")), key)
    except (Invalid, Unavailable) as error:
        return await _family_member_page(request, session, pages, rpc, values,
                                         problem_of(error, values, _), key, False)
    await drop_draft(rpc, session.claims, dossier_id, FormKind.FAMILY_MEMBER, None)
    return sent(pages, request, FormKind.FAMILY_MEMBER, dossier_id)
