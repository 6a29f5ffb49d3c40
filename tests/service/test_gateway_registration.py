"""Self-registration and the staff's account actions as seen at the gateway."""

from datetime import UTC, date, datetime

from libs.contracts import auth
from libs.contracts.caller import Role
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Forbidden, Gone, Invalid
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)

FORM = {"last_name": "Maes", "first_name": "Lotte", "birth_date": "1985-07-30",
        "email": "lotte@example.be", "phone": "+32 470 12 34 56",
        "national_number": "85.07.30-033.28", "message": "Ik heb een autopolis."}


def csrf(gateway: Gateway) -> str:
    if "mb_csrf" not in gateway.client.cookies:
        gateway.client.get("/login")
    return str(gateway.client.cookies["mb_csrf"])


def pending_registration(**changes: object) -> auth.RegistrationPublic:
    values: dict[str, object] = {
        "registration_id": "g1", "status": "pending", "last_name": "Maes",
        "first_name": "Lotte", "birth_date": date(1985, 7, 30), "email": "lotte@example.be",
        "phone": "+32 470 12 34 56", "language": "nl", "user_id": "u9",
        "created_at": datetime(2025, 3, 1, tzinfo=UTC)}
    values.update(changes)
    return auth.RegistrationPublic.model_validate(values)


def test_the_login_page_offers_registration(gateway: Gateway) -> None:
    assert '<a href="/register">Zich inschrijven</a>' in gateway.client.get("/login").text


def test_the_registration_form_sends_everything_and_says_check_your_mail(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(auth.REGISTER, Ack())
    page = gateway.client.post("/register", data={**FORM, "csrf_token": csrf(gateway)})
    assert page.status_code == 200
    assert "Kijk in uw mailbox" in page.text
    [request] = gateway.rpc.called(auth.REGISTER)
    assert isinstance(request, auth.RegisterRequest)
    assert (request.birth_date, request.national_number, request.language) == (
        date(1985, 7, 30), "85.07.30-033.28", "nl")


def test_a_wrong_national_number_is_shown_next_to_its_field(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.REGISTER, Invalid("bad", fields={"national_number": "bad"}))
    page = gateway.client.post("/register", data={**FORM, "csrf_token": csrf(gateway)})
    assert page.status_code == 422
    assert "Dit rijksregisternummer is niet geldig" in page.text
    assert 'value="Lotte"' in page.text  # what was typed stays


def test_a_missing_birth_date_is_refused_before_reaching_auth(gateway: Gateway) -> None:
    page = gateway.client.post("/register", data={**FORM, "birth_date": "",
                                                  "csrf_token": csrf(gateway)})
    assert page.status_code == 422
    assert 'id="birth_date-error"' in page.text
    assert gateway.rpc.called(auth.REGISTER) == []


def test_confirming_shows_the_address_read_only_then_the_pending_page(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_REGISTRATION, auth.RegistrationPreview(
        email="lotte@example.be", display_name="Lotte Maes"))
    assert 'value="lotte@example.be" readonly' in gateway.client.get(
        "/register/confirm?token=t").text
    gateway.rpc.answer(auth.CONFIRM_REGISTRATION, Ack())
    page = gateway.client.post("/register/confirm", data={
        "token": "t", "password": "zeedijk 112 de panne",
        "password_confirmation": "zeedijk 112 de panne", "csrf_token": csrf(gateway)})
    assert page.status_code == 200
    assert "Uw aanvraag ligt bij uw makelaar." in page.text


def test_a_used_confirmation_link_says_so(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_REGISTRATION, Gone("used"))
    page = gateway.client.get("/register/confirm?token=t")
    assert page.status_code == 410
    assert "Deze bevestigingslink is verlopen of werd al gebruikt." in page.text


def test_logging_in_before_approval_says_the_account_awaits_the_broker(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, Forbidden("awaits"))
    page = gateway.client.post("/login", data={
        "email": "lotte@example.be", "password": "zeedijk 112 de panne",
        "csrf_token": csrf(gateway)})
    assert page.status_code == 403
    assert "Uw account wacht op de goedkeuring van uw makelaar." in page.text


def test_the_api_registration_answers_202(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.REGISTER, Ack())
    response = gateway.client.post("/api/v1/auth/register", json=FORM)
    assert response.status_code == 202


# --- staff ------------------------------------------------------------------------------------


def test_staff_approve_a_registration_and_auth_learns_who_and_from_where(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(auth.APPROVE_REGISTRATION, pending_registration(
        status="approved", dossier_ids=["D1"]))
    response = gateway.client.post(
        "/admin/api/v1/registrations/g1/approve", json={"dossier_ids": ["D1"]},
        headers={**gateway.bearer(role=Role.AGENT, user_id="agent-1"),
                 "User-Agent": "Firefox/140"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "approved"
    [request] = gateway.rpc.called(auth.APPROVE_REGISTRATION)
    assert isinstance(request, auth.ApproveRegistrationRequest)
    assert request.caller.user_id == "agent-1"
    assert request.origin == auth.StaffOrigin(client_ip="testclient", user_agent="Firefox/140")


def test_a_client_cannot_use_the_account_admin_api(gateway: Gateway) -> None:
    for method, path in (("GET", "/admin/api/v1/registrations"),
                         ("POST", "/admin/api/v1/users/u1/disable"),
                         ("GET", "/admin/api/v1/audit")):
        assert gateway.client.request(method, path, headers=gateway.bearer()).status_code == 403


def test_staff_list_pending_registrations_and_disable_an_account(gateway: Gateway) -> None:
    staff = gateway.bearer(role=Role.ADMIN, user_id="admin-1")
    gateway.rpc.answer(auth.LIST_REGISTRATIONS, auth.RegistrationList(
        registrations=[pending_registration()]))
    listed = gateway.client.get("/admin/api/v1/registrations", headers=staff)
    assert [r["email"] for r in listed.json()["registrations"]] == ["lotte@example.be"]
    gateway.rpc.answer(auth.DISABLE_USER, auth.UserPublic(
        user_id="u9", email="lotte@example.be", display_name="Lotte Maes", role=Role.CLIENT,
        status="disabled"))
    disabled = gateway.client.post("/admin/api/v1/users/u9/disable", headers=staff)
    assert disabled.json()["status"] == "disabled"
