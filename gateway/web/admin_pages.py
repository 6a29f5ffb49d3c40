"""The staff's web pages under /admin: registrations, eID links, invitations, accounts, staff,
the audit log. Every action calls the same auth RPCs as the admin API, with the request origin
for the audit log; auth re-checks the staff role (and the office admin role where needed).
"""

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from gateway.deps import ObjectIdPath, Rpc, origin_of
from gateway.web.dossier_numbers import malformed_numbers, printable, unknown_dossiers
from gateway.web.pages import CsrfChecked, Pages, PageSession
from gateway.web.rendering import _mark
from gateway.web.session import WebSession
from libs.contracts import auth, privacy
from libs.contracts.caller import Role
from libs.servicekit.errors import Conflict, Forbidden, Gone, Invalid, NotFound, ServiceError
from libs.servicekit.logs import correlation_id

router = APIRouter(include_in_schema=False)
Translate = Callable[[str], str]

# What the page says after an action went through (?done=<key> after the redirect).
DONE_MESSAGES: dict[str, str] = {
    "approved": _mark("The registration is approved; the client has been mailed."),
    "refused": _mark("The registration is refused; the client has been mailed the reason."),
    "eid_accepted": _mark("The eID is linked; the client has been mailed."),
    "eid_refused": _mark("The eID link is refused; the given address has been mailed the reason."),
    "invited": _mark("The invitation has been mailed."),
    "resent": _mark("A new activation link has been mailed; the previous one no longer works."),
    "revoked": _mark("The invitation no longer works."),
    "granted": _mark("The account now has access to the dossier."),
    "grant_removed": _mark("The account no longer has access to the dossier."),
    "disabled": _mark("The account is disabled and its sessions have ended."),
    "staff_created": _mark("The staff account is created."),
    "signature_requested": _mark("The signature request is made; the signers have been mailed."),
    "signature_cancelled": _mark("The signature request is cancelled; the signers who had not "
                                 "signed have been mailed."),
}


def staff_only(session: WebSession) -> WebSession:
    if not session.claims.caller().is_staff:
        raise Forbidden("Only the broker's staff may use the office pages.")
    return session


def office_admin(session: WebSession) -> WebSession:
    """`session`, if it is an office admin's (staff pages only an admin may open or use)."""
    if staff_only(session).claims.role != Role.ADMIN:
        raise Forbidden("Only an office admin may do this.")
    return session


def refusal_message(error: ServiceError, _: Translate) -> tuple[str, int]:
    """A readable message for a refused action, and the page's status."""
    if isinstance(error, NotFound):
        return _("This item does not exist (any more). Check what you typed."), 404
    if isinstance(error, Gone):
        return _("This was already handled or has expired."), 409
    if isinstance(error, Conflict):
        return _("This was already handled, or the account exists already."), 409
    if isinstance(error, Forbidden):
        return _("You do not have the right to do this."), 403
    if isinstance(error, Invalid):
        unknown = unknown_dossiers(error)
        if unknown:
            return _("No dossier has the number %(numbers)s. Choose one of the suggestions "
                     "shown as you type.") % {"numbers": unknown}, 422
        return _("Some information is not valid: %(detail)s") % {"detail": error.detail}, 422
    raise error  # unavailable and the like: the readable error page


def _dossier_ids(text: str) -> list[str]:
    """Dossier ids typed separated by commas, spaces or new lines."""
    return [part for part in text.replace(",", " ").split() if part]


def office_page(pages: Pages, request: Request, session: WebSession, template: str,
                context: dict[str, Any], *, status_code: int = 200, done: str = "") -> Response:
    """An office page with the notice of a done action and the admin flag of the menu."""
    _ = pages.gettext(pages.language(request, session))
    notice = _(DONE_MESSAGES[done]) if done in DONE_MESSAGES else None
    return pages.render(request, template, {
        "is_office_admin": session.claims.role == Role.ADMIN, "notice": notice, **context},
        session=session, status_code=status_code)


# --- registrations and eID links ---------------------------------------------------------------


async def _requests_page(
    request: Request, session: WebSession, pages: Pages, rpc: Rpc, *,
    error: str | None = None, status_code: int = 200, done: str = "",
) -> Response:
    caller = session.claims.caller()
    registrations = await rpc.call(auth.LIST_REGISTRATIONS, auth.ListRegistrationsRequest(
        caller=caller, status="pending"))
    links = await rpc.call(auth.LIST_EID_LINKS, auth.ListEidLinksRequest(caller=caller))
    return office_page(pages, request, session, "admin/requests.html", {
        "registrations": registrations.registrations,
        "eid_links": [link for link in links.links if link.status == "requested"],
        "error": error}, status_code=status_code, done=done)


@router.get("/admin")
async def admin_home(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, done: str = ""
) -> Response:
    """Registrations to approve or refuse, eID link requests to accept."""
    return await _requests_page(request, staff_only(session), pages, rpc, done=done)


@router.post("/admin/registrations/{registration_id}/approve", dependencies=[CsrfChecked])
async def approve_registration(
    registration_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    dossier_ids: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve a registration, granting the typed dossiers."""
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    ids = _dossier_ids(dossier_ids)
    if not ids:
        return await _requests_page(request, session, pages, rpc, status_code=422, error=_(
            "Give at least one dossier number to approve a registration."))
    if (malformed := malformed_numbers(ids, _)) is not None:
        return await _requests_page(request, session, pages, rpc, status_code=422,
                                    error=malformed)
    try:
        await rpc.call(auth.APPROVE_REGISTRATION, auth.ApproveRegistrationRequest(
            caller=session.claims.caller(), registration_id=registration_id, dossier_ids=ids,
            origin=origin_of(request)))
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _requests_page(request, session, pages, rpc, error=message,
                                    status_code=status)
    return pages.redirect(request, "/admin?done=approved")


@router.post("/admin/registrations/{registration_id}/refuse", dependencies=[CsrfChecked])
async def refuse_registration(
    registration_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Refuse a registration with a reason the client reads in their mail."""
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    if not reason.strip():
        return await _requests_page(request, session, pages, rpc, status_code=422, error=_(
            "Give the reason of the refusal; the client reads it in their mail."))
    try:
        await rpc.call(auth.REFUSE_REGISTRATION, auth.RefuseRegistrationRequest(
            caller=session.claims.caller(), registration_id=registration_id,
            reason=reason.strip(), origin=origin_of(request)))
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _requests_page(request, session, pages, rpc, error=message,
                                    status_code=status)
    return pages.redirect(request, "/admin?done=refused")


@router.post("/admin/eid-links/{link_id}/accept", dependencies=[CsrfChecked])
async def accept_eid_link(
    link_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
) -> Response:
    """Link the card to the account of the address the holder gave."""
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    try:
        await rpc.call(auth.ACCEPT_EID_LINK, auth.AcceptEidLinkRequest(
            caller=session.claims.caller(), link_id=link_id, origin=origin_of(request)))
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _requests_page(request, session, pages, rpc, error=message,
                                    status_code=status)
    return pages.redirect(request, "/admin?done=eid_accepted")


@router.post("/admin/eid-links/{link_id}/refuse", dependencies=[CsrfChecked])
async def refuse_eid_link(
    link_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Refuse to link the card, with a reason mailed to the given address."""
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    if not reason.strip():
        return await _requests_page(request, session, pages, rpc, status_code=422, error=_(
            "Give the reason of the refusal; the client reads it in their mail."))
    try:
        await rpc.call(auth.REFUSE_EID_LINK, auth.RefuseEidLinkRequest(
            caller=session.claims.caller(), link_id=link_id, reason=reason.strip(),
            origin=origin_of(request)))
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _requests_page(request, session, pages, rpc, error=message,
                                    status_code=status)
    return pages.redirect(request, "/admin?done=eid_refused")


# --- invitations and accounts --------------------------------------------------------------


async def _accounts_page(
    request: Request, session: WebSession, pages: Pages, rpc: Rpc, *, email: str = "",
    error: str | None = None, status_code: int = 200, done: str = "",
    invite: dict[str, str] | None = None,
) -> Response:
    _ = pages.gettext(pages.language(request, session))
    account: auth.UserPublic | None = None
    if email.strip() and error is None:
        try:
            account = await rpc.call(auth.FIND_USER, auth.FindUserRequest(
                caller=session.claims.caller(), email=email.strip()))
        except (NotFound, Invalid):
            error, status_code = _("No account has this e-mail address."), 404
    return office_page(pages, request, session, "admin/accounts.html", {
        "email": email.strip(), "account": account, "error": error,
        "invite": invite or {"email": "", "display_name": "", "language": "nl",
                             "dossier_ids": ""}}, status_code=status_code, done=done)


@router.get("/admin/accounts")
async def accounts_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    email: str = "", done: str = "",
) -> Response:
    """Invite a client; find an account by e-mail address and act on it."""
    return await _accounts_page(request, staff_only(session), pages, rpc, email=email, done=done)


@router.post("/admin/invitations", dependencies=[CsrfChecked])
async def invite_client(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    email: Annotated[str, Form(max_length=320)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    language: Annotated[str, Form(max_length=2)] = "nl",
    dossier_ids: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Invite a client: they are mailed an activation link."""
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    typed = {"email": email, "display_name": display_name, "language": language,
             "dossier_ids": dossier_ids}
    if (malformed := malformed_numbers(_dossier_ids(dossier_ids), _)) is not None:
        typed["dossier_ids"] = printable(dossier_ids)
        return await _accounts_page(request, session, pages, rpc, invite=typed, status_code=422,
                                    error=malformed)
    try:
        invitation = auth.InviteClientRequest(
            caller=session.claims.caller(), correlation_id=correlation_id.get(),
            origin=origin_of(request), email=email.strip(), display_name=display_name.strip(),
            language=language, dossier_ids=_dossier_ids(dossier_ids))
    except ValidationError:
        return await _accounts_page(request, session, pages, rpc, invite=typed, status_code=422,
                                    error=_("Give a valid e-mail address and a name."))
    try:
        await rpc.call(auth.INVITE_CLIENT, invitation)
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _accounts_page(request, session, pages, rpc, invite=typed, error=message,
                                    status_code=status)
    return pages.redirect(request, f"/admin/accounts?done=invited&email={quote(email.strip())}")


async def _account_action(
    request: Request, session: WebSession, pages: Pages, rpc: Rpc, email: str, done: str,
    call: Callable[[], Any],
) -> Response:
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    try:
        await call()
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _accounts_page(request, session, pages, rpc, email=email, error=message,
                                    status_code=status)
    return pages.redirect(request, f"/admin/accounts?done={done}&email={quote(email)}")


def _action(session: WebSession, request: Request, user_id: str) -> auth.AccountActionRequest:
    return auth.AccountActionRequest(caller=session.claims.caller(), user_id=user_id,
                                     origin=origin_of(request))


@router.post("/admin/users/{user_id}/invitation/resend", dependencies=[CsrfChecked])
async def resend_invitation(
    user_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Mail a new activation link."""
    return await _account_action(request, session, pages, rpc, email, "resent", lambda: rpc.call(
        auth.RESEND_INVITATION, _action(session, request, user_id)))


@router.post("/admin/users/{user_id}/invitation/revoke", dependencies=[CsrfChecked])
async def revoke_invitation(
    user_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """The activation link stops working."""
    return await _account_action(request, session, pages, rpc, email, "revoked", lambda: rpc.call(
        auth.REVOKE_INVITATION, _action(session, request, user_id)))


@router.post("/admin/users/{user_id}/disable", dependencies=[CsrfChecked])
async def disable_user(
    user_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Disable the account; its sessions end."""
    return await _account_action(request, session, pages, rpc, email, "disabled", lambda: rpc.call(
        auth.DISABLE_USER, _action(session, request, user_id)))


@router.post("/admin/users/{user_id}/grants", dependencies=[CsrfChecked])
async def change_grant(
    user_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    email: Annotated[str, Form(max_length=320)] = "",
    dossier_id: Annotated[str, Form(max_length=100)] = "",
    remove: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """Grant a dossier to the account, or take it away (`remove`)."""
    method, done = (auth.REVOKE_DOSSIER, "grant_removed") if remove else (
        auth.GRANT_DOSSIER, "granted")
    _ = pages.gettext(pages.language(request, session))
    if not dossier_id.strip():
        return await _accounts_page(request, staff_only(session), pages, rpc, email=email,
                                    status_code=422, error=_("Give a dossier number."))
    if (malformed := malformed_numbers([dossier_id.strip()], _)) is not None:
        return await _accounts_page(request, staff_only(session), pages, rpc, email=email,
                                    status_code=422, error=malformed)
    return await _account_action(request, session, pages, rpc, email, done, lambda: rpc.call(
        method, auth.GrantRequest(caller=session.claims.caller(), user_id=user_id,
                                  dossier_id=dossier_id.strip(), origin=origin_of(request))))


@router.post("/admin/users/{user_id}/erasure", dependencies=[CsrfChecked])
async def erase_client_account(
    user_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    email: Annotated[str, Form(max_length=320)] = "",
    confirm_email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Erase a client account (office admin): the admin confirms by typing its e-mail
    address; then the report of what was deleted and what was kept, and why."""
    caller = office_admin(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    try:
        account = await rpc.call(auth.GET_USER, auth.UserLookupRequest(caller=caller,
                                                                       user_id=user_id))
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _accounts_page(request, session, pages, rpc, email=email, error=message,
                                    status_code=status)
    if confirm_email.strip().casefold() != account.email.casefold():
        return await _accounts_page(
            request, session, pages, rpc, email=account.email, status_code=422,
            error=_("Type the account's e-mail address to confirm that it is erased."))
    try:
        report = await rpc.call(privacy.ERASE_ACCOUNT, privacy.AccountErasureRequest(
            caller=caller, user_id=user_id, origin=origin_of(request)))
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _accounts_page(request, session, pages, rpc, email=account.email,
                                    error=message, status_code=status)
    return office_page(pages, request, session, "privacy/account_erasure.html", {
        "account": account, "report": report})


# --- office admin: staff accounts and the audit log ----------------------------------------


@router.get("/admin/staff")
async def staff_page(
    request: Request, session: PageSession, pages: Pages, done: str = ""
) -> Response:
    """The form to create an agent or office admin account (office admins only)."""
    return office_page(pages, request, office_admin(session), "admin/staff.html", {
        "values": {"email": "", "display_name": "", "role": "agent"}, "error": None},
        done=done)


@router.post("/admin/staff", dependencies=[CsrfChecked])
async def create_staff(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    email: Annotated[str, Form(max_length=320)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=10)] = "agent",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Create a staff account with a first password."""
    office_admin(session)
    _ = pages.gettext(pages.language(request, session))
    values = {"email": email, "display_name": display_name, "role": role}
    error, status = None, 200
    try:
        staff = auth.CreateStaffRequest(
            caller=session.claims.caller(), email=email.strip(),
            display_name=display_name.strip(), role=Role(role) if role in ("agent", "admin")
            else Role.AGENT, password=password, origin=origin_of(request))
    except ValidationError:
        error, status = _("Give a valid e-mail address and a name."), 422
    else:
        try:
            await rpc.call(auth.CREATE_STAFF, staff)
        except ServiceError as refused:
            error, status = refusal_message(refused, _)
        else:
            return pages.redirect(request, "/admin/staff?done=staff_created")
    return office_page(pages, request, session, "admin/staff.html",
                       {"values": values, "error": error}, status_code=status)
