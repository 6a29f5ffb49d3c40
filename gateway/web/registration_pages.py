"""Self-registration pages ("Zich inschrijven"): the form, "check your mail", the confirmation
(choose a password), and "your request is pending at your broker"."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from gateway.deps import Rpc, RpcCaller
from gateway.web.access_pages import new_password_problem
from gateway.web.pages import CsrfChecked, Pages
from libs.contracts import auth
from libs.contracts.auth import PASSWORD_MIN_LENGTH
from libs.servicekit.errors import Conflict, Gone, Invalid, NotFound

router = APIRouter(include_in_schema=False)
FORM_FIELDS = ("last_name", "first_name", "birth_date", "email", "phone", "national_number",
               "message")


@router.get("/register")
async def registration_page(request: Request, pages: Pages) -> Response:
    """The registration form."""
    return pages.render(request, "access/register.html", {
        "values": dict.fromkeys(FORM_FIELDS, ""), "errors": {}, "sent": False})


@router.post("/register", dependencies=[CsrfChecked])
async def register(
    request: Request, pages: Pages, rpc: Rpc,
    last_name: Annotated[str, Form(max_length=100)] = "",
    first_name: Annotated[str, Form(max_length=100)] = "",
    birth_date: Annotated[str, Form(max_length=10)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    phone: Annotated[str, Form(max_length=30)] = "",
    national_number: Annotated[str, Form(max_length=20)] = "",
    message: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the form; the same "check your mail" page whether or not the address is known."""
    _ = pages.gettext(pages.language(request))
    values = {"last_name": last_name, "first_name": first_name, "birth_date": birth_date,
              "email": email, "phone": phone, "national_number": national_number,
              "message": message}
    errors: dict[str, str] = {}
    try:
        form = auth.RegisterRequest(
            last_name=last_name.strip(), first_name=first_name.strip(),
            birth_date=birth_date, email=email.strip(), phone=phone.strip(),
            national_number=national_number.strip() or None, message=message.strip() or None,
            language=pages.language(request),
            client_ip=request.client.host if request.client else None)
    except ValidationError as invalid:
        for error in invalid.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(field, _("Please check this field."))
    else:
        try:
            await rpc.call(auth.REGISTER, form)
        except Invalid as refused:
            if refused.fields and "national_number" in refused.fields:
                errors["national_number"] = _(
                    "This national register number is not valid or does not match the birth "
                    "date.")
            else:
                errors["form"] = _("Please check this field.")
    if errors:
        return pages.render(request, "access/register.html", {
            "values": values, "errors": errors, "sent": False}, status_code=422)
    return pages.render(request, "access/register.html", {
        "values": values, "errors": {}, "sent": True})


async def _preview(
    rpc: RpcCaller, token: str, _: Callable[[str], str]
) -> tuple[auth.RegistrationPreview | None, str | None, int]:
    try:
        return await rpc.call(auth.LOOK_UP_REGISTRATION,
                              auth.RegistrationLookupRequest(token=token)), None, 200
    except (NotFound, Invalid):
        return None, _("This confirmation link is not valid. Please register again."), 404
    except Gone:
        return None, _("This confirmation link has expired or was already used."), 410


@router.get("/register/confirm")
async def confirmation_page(
    request: Request, pages: Pages, rpc: Rpc, token: str = ""
) -> Response:
    """Confirm the address (read-only) and choose a password."""
    _ = pages.gettext(pages.language(request))
    preview, error, status = await _preview(rpc, token, _)
    return pages.render(request, "access/register_confirm.html", {
        "token": token, "preview": preview, "error": error,
        "password_min_length": PASSWORD_MIN_LENGTH}, status_code=status)


@router.post("/register/confirm", dependencies=[CsrfChecked])
async def confirm(
    request: Request, pages: Pages, rpc: Rpc,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_confirmation: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Save the password; the request now waits for the broker."""
    _ = pages.gettext(pages.language(request))
    preview, error, status = await _preview(rpc, token, _)
    if preview is not None:
        error, status = new_password_problem(password, password_confirmation, _), 422
        if error is None:
            try:
                await rpc.call(auth.CONFIRM_REGISTRATION, auth.ConfirmRegistrationRequest(
                    token=token, password=password))
            except Invalid:
                error = _("This password is not accepted: it is too common or too easy to "
                          "guess. Choose another one.")
            except Conflict:
                error = _("An account with this e-mail address exists already. Log in or ask "
                          "for a new password.")
            except (Gone, NotFound):
                error, status = _(
                    "This confirmation link has expired or was already used."), 410
            else:
                return pages.render(request, "access/register_pending.html", {})
    return pages.render(request, "access/register_confirm.html", {
        "token": token, "preview": preview, "error": error,
        "password_min_length": PASSWORD_MIN_LENGTH}, status_code=status)
