"""The office admin's "Kantoor" page: the office's identity and look (name, addresses, legal
mentions, colours, logo). Every refused field is named next to its input, in the reader's
language, and the form keeps what was typed. Agents may read the page; only an admin saves.
"""

import hmac
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from gateway.deps import Rpc, State, origin_of
from gateway.problems import Problem
from gateway.streaming import FormRefused, UploadLimits, receive_page_form
from gateway.web.admin_pages import DONE_MESSAGES, Translate, office_page, staff_only
from gateway.web.office_assets import MAX_LOGO_BYTES, remove_logo, store_logo
from gateway.web.pages import CsrfChecked, Pages, PageSession
from gateway.web.rendering import _mark
from gateway.web.session import CSRF_COOKIE, CSRF_FIELD, WebSession
from libs.contracts import office
from libs.contracts.caller import Role
from libs.servicekit.errors import Conflict, Forbidden, Invalid, ServiceError

router = APIRouter(include_in_schema=False)
TEMPLATE = "admin/office.html"
TEXT_FIELDS = ("name", "postal_address", "phone", "fsma_number", "company_number", "website",
               "legal_footer", "opening_hours", "default_language")
ADDRESS_PURPOSES = ("general", "claims", "signatures", "registrations")
COLOUR_ROLES = ("primary", "accent")
RATIO = re.compile(r"(\d+\.\d+):1")

DONE_MESSAGES.update({
    "office_saved": _mark("The office settings are saved; every page shows them now."),
    "logo_saved": _mark("The logo is saved; every page shows it now."),
    "logo_removed": _mark("The logo is removed."),
})
# What the page says of each refused field (auth's reasons are in English).
FIELD_MESSAGES: dict[str, str] = {
    "name": _mark("Give the office's name."),
    "postal_address": _mark("The address is too long."),
    "phone": _mark("Give a phone number: digits, spaces and + ( ) . / - only."),
    "fsma_number": _mark("Give the FSMA number: digits, optionally with its letters, e.g. "
                         "114389 A."),
    "company_number": _mark("This is not a valid Belgian enterprise number (10 digits, e.g. "
                            "0403.170.701)."),
    "website": _mark("Give the website's full https:// address, e.g. https://www.example.be."),
    "legal_footer": _mark("The legal footer is too long (at most 1000 characters)."),
    "opening_hours": _mark("The opening hours are too long (at most 500 characters)."),
    "addresses": _mark("This is not a valid e-mail address."),
    "colours": _mark("Give the colour as #rrggbb, e.g. #1f4e79."),
    "logo": _mark("The logo must be a PNG or JPEG image of at most 512 KB and 2000 pixels a "
                  "side."),
}
CONTRAST_MESSAGE = _mark("This colour has a contrast of %(ratio)s:1 against the white page; "
                         "text needs at least 4.5:1 (WCAG AA). Choose a darker colour.")
STALE_MESSAGE = _mark("Someone changed the office settings meanwhile. The page shows their "
                      "version now: make your change again.")


def field_message(field: str, reason: str, _: Translate) -> str:
    """The reader's-language message of a field auth refused."""
    ratio = RATIO.search(reason)
    if field.startswith("colours.") and ratio:
        return _(CONTRAST_MESSAGE) % {"ratio": ratio.group(1)}
    message = FIELD_MESSAGES.get(field.split(".", 1)[0])
    return _(message) if message else reason


def form_values(settings: office.OfficeSettings) -> dict[str, str]:
    """The form's inputs of `settings` (flat names: `addresses.claims`, `colours.primary`)."""
    values: dict[str, str] = {field: str(getattr(settings, field)) for field in TEXT_FIELDS}
    values.update({f"addresses.{purpose}": getattr(settings.addresses, purpose)
                   for purpose in ADDRESS_PURPOSES})
    values.update({f"colours.{role}": getattr(settings.colours, role) for role in COLOUR_ROLES})
    return values


def settings_of(values: dict[str, str], current: office.OfficeSettingsPublic
                ) -> office.OfficeSettings:
    """The settings the form describes; the logo stays what it is (its own form)."""
    language = values["default_language"]
    return office.OfficeSettings(
        **{field: values[field] for field in TEXT_FIELDS if field != "default_language"},
        default_language=language if language in ("nl", "fr", "en") else "nl",
        addresses=office.OfficeAddresses(**{
            purpose: values[f"addresses.{purpose}"] for purpose in ADDRESS_PURPOSES}),
        colours=office.OfficeColours(**{
            role: values[f"colours.{role}"] for role in COLOUR_ROLES}),
        logo_document_id=current.logo_document_id, logo_sha256=current.logo_sha256)


async def _page(request: Request, session: WebSession, pages: Pages, rpc: Rpc, *,
                values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                error: str | None = None, status_code: int = 200, done: str = "",
                version: int | None = None) -> Response:
    current = await rpc.call(office.GET_OFFICE, office.GetOfficeRequest())
    context: dict[str, Any] = {
        "values": values or form_values(current), "errors": errors or {}, "error": error,
        "version": current.version if version is None else version, "current": current,
        "may_edit": session.claims.role == Role.ADMIN}
    return office_page(pages, request, session, TEMPLATE, context, status_code=status_code,
                       done=done)


@router.get("/admin/office")
async def office_settings_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                               done: str = "") -> Response:
    """The office settings form (staff read it; the office admin saves it)."""
    return await _page(request, staff_only(session), pages, rpc, done=done)


def _office_admin(session: WebSession) -> WebSession:
    if staff_only(session).claims.role != Role.ADMIN:
        raise Forbidden("Only the office admin may change the office settings.")
    return session


@router.post("/admin/office", dependencies=[CsrfChecked])
async def save_office_settings(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, state: State,
    expected_version: Annotated[int, Form(ge=0)],
    name: Annotated[str, Form(max_length=500)] = "",
    postal_address: Annotated[str, Form(max_length=2000)] = "",
    phone: Annotated[str, Form(max_length=200)] = "",
    fsma_number: Annotated[str, Form(max_length=200)] = "",
    company_number: Annotated[str, Form(max_length=200)] = "",
    website: Annotated[str, Form(max_length=2000)] = "",
    legal_footer: Annotated[str, Form(max_length=5000)] = "",
    opening_hours: Annotated[str, Form(max_length=5000)] = "",
    default_language: Annotated[str, Form(max_length=5)] = "nl",
    address_general: Annotated[str, Form(alias="addresses.general", max_length=500)] = "",
    address_claims: Annotated[str, Form(alias="addresses.claims", max_length=500)] = "",
    address_signatures: Annotated[str, Form(alias="addresses.signatures", max_length=500)] = "",
    address_registrations: Annotated[str, Form(alias="addresses.registrations",
                                               max_length=500)] = "",
    colour_primary: Annotated[str, Form(alias="colours.primary", max_length=50)] = "",
    colour_accent: Annotated[str, Form(alias="colours.accent", max_length=50)] = "",
) -> Response:
    """Save the settings; a refused field is shown next to its input with what was typed."""
    _office_admin(session)
    _ = pages.gettext(pages.language(request, session))
    values = {
        "name": name, "postal_address": postal_address, "phone": phone,
        "fsma_number": fsma_number, "company_number": company_number, "website": website,
        "legal_footer": legal_footer, "opening_hours": opening_hours,
        "default_language": default_language, "addresses.general": address_general,
        "addresses.claims": address_claims, "addresses.signatures": address_signatures,
        "addresses.registrations": address_registrations, "colours.primary": colour_primary,
        "colours.accent": colour_accent}
    # The logo is not part of this form: it stays as stored (not as this replica last heard).
    current = await rpc.call(office.GET_OFFICE, office.GetOfficeRequest())
    try:
        updated = await rpc.call(office.UPDATE_OFFICE, office.UpdateOfficeRequest(
            caller=session.claims.caller(), settings=settings_of(values, current),
            expected_version=expected_version, origin=origin_of(request)))
    except Conflict:
        return await _page(request, session, pages, rpc, error=_(STALE_MESSAGE),
                           status_code=409)
    except Invalid as refused:
        errors = {field: field_message(field, reason, _)
                  for field, reason in (refused.fields or {}).items()}
        return await _page(request, session, pages, rpc, values=values, errors=errors,
                           error=_("Some settings are not valid; see the marked fields."),
                           status_code=422, version=expected_version)
    state.office.offer(updated)
    return pages.redirect(request, "/admin/office?done=office_saved")


@router.post("/admin/office/logo")
async def save_logo(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                    state: State) -> Response:
    """A new logo from the page's file input."""
    _office_admin(session)
    _ = pages.gettext(pages.language(request, session))
    logo_error = {"logo": field_message("logo", "", _)}
    try:
        form = await receive_page_form(request, memory_bytes=state.settings.upload_memory_bytes,
                                       limits=UploadLimits(max_file_bytes=MAX_LOGO_BYTES))
    except FormRefused as refused:
        if isinstance(refused.error, Problem) and refused.error.status == 415:
            raise refused.error from None
        return await _page(request, session, pages, rpc, errors=logo_error, status_code=413
                           if isinstance(refused.error, Problem) else 422)
    try:
        submitted, expected = form.fields.get(CSRF_FIELD), request.cookies.get(CSRF_COOKIE)
        if not (submitted and expected
                and hmac.compare_digest(submitted.encode(), expected.encode())):
            raise Problem(403, "csrf", "The form has expired or did not come from MyBroker.")
        if not form.uploads:
            return await _page(request, session, pages, rpc, errors=logo_error,
                               status_code=422)
        try:
            await store_logo(state, session.claims.caller(), form.uploads[0],
                             origin_of(request))
        except Invalid:
            return await _page(request, session, pages, rpc, errors=logo_error,
                               status_code=422)
        except Conflict:
            return await _page(request, session, pages, rpc, error=_(STALE_MESSAGE),
                               status_code=409)
    finally:
        form.close()
    return pages.redirect(request, "/admin/office?done=logo_saved")


@router.post("/admin/office/logo/remove", dependencies=[CsrfChecked])
async def drop_logo(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                    state: State, expected_version: Annotated[int, Form(ge=0)]) -> Response:
    """Show no logo any more."""
    _office_admin(session)
    _ = pages.gettext(pages.language(request, session))
    try:
        await remove_logo(rpc, state.office, session.claims.caller(), origin_of(request),
                          expected_version)
    except ServiceError as refused:
        if not isinstance(refused, Conflict):
            raise
        return await _page(request, session, pages, rpc, error=_(STALE_MESSAGE),
                           status_code=409)
    return pages.redirect(request, "/admin/office?done=logo_removed")
