"""The office pages under /admin, as seen at the gateway (auth is a fake)."""

from datetime import UTC, date, datetime

from libs.contracts import auth
from libs.contracts.caller import Role
from libs.servicekit.errors import Gone, NotFound
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)

WHEN = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def csrf(gateway: Gateway) -> str:
    if "mb_csrf" not in gateway.client.cookies:
        gateway.client.get("/login")
    return str(gateway.client.cookies["mb_csrf"])


def sign_in_as_staff(gateway: Gateway, role: Role = Role.AGENT) -> str:
    """Log in through the login form as staff; where the browser is sent."""
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair(
        user_id="staff1", role=role, dossiers=(), name="Els Kantoor"))
    response = gateway.client.post("/login", data={
        "email": "els@mybroker.example", "password": "correct horse battery", "next": "/",
        "csrf_token": csrf(gateway)})
    assert response.status_code == 303
    return str(response.headers["location"])


def registration() -> auth.RegistrationPublic:
    return auth.RegistrationPublic(
        registration_id="g1", status="pending", last_name="Maes", first_name="Lotte",
        birth_date=date(1985, 7, 30), email="lotte@example.be", phone="+32 470 12 34 56",
        message="Ik heb een autopolis.", language="nl", user_id="u9", created_at=WHEN)


def account(**changes: object) -> auth.UserPublic:
    values: dict[str, object] = {
        "user_id": "u9", "email": "lotte@example.be", "display_name": "Lotte Maes",
        "role": Role.CLIENT, "status": "invited", "dossier_ids": ["D1"]}
    values.update(changes)
    return auth.UserPublic.model_validate(values)


def with_requests(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LIST_REGISTRATIONS, auth.RegistrationList(
        registrations=[registration()]))
    gateway.rpc.answer(auth.LIST_EID_LINKS, auth.EidLinkList(links=[auth.EidLinkPublic(
        link_id="l1", status="requested", email="jan@example.be", display_name="Jan Claes",
        national_number="85073003328", created_at=WHEN)]))


def test_staff_land_on_the_office_pages_after_logging_in(gateway: Gateway) -> None:
    assert sign_in_as_staff(gateway) == "/admin"
    assert gateway.client.get("/").headers["location"] == "/admin"


def test_a_client_cannot_open_the_office_pages(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair())
    gateway.client.post("/login", data={
        "email": "an@example.be", "password": "correct horse battery",
        "csrf_token": csrf(gateway)})
    page = gateway.client.get("/admin")
    assert page.status_code == 403
    assert "geen toegang" in page.text


def test_the_office_page_lists_registrations_and_eid_link_requests(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_requests(gateway)
    page = gateway.client.get("/admin")
    assert page.status_code == 200
    assert "Lotte Maes" in page.text and "Ik heb een autopolis." in page.text
    assert "Jan Claes" in page.text and "Koppeling aanvaarden" in page.text
    assert 'name="csrf_token"' in page.text
    assert "Auditlogboek" not in page.text  # an agent does not see the office admin's pages


def test_approving_grants_the_typed_dossiers_and_says_so(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_requests(gateway)
    gateway.rpc.answer(auth.APPROVE_REGISTRATION, registration())
    response = gateway.client.post("/admin/registrations/g1/approve", data={
        "dossier_ids": "DOS-1, DOS-2", "csrf_token": csrf(gateway)},
        headers={"User-Agent": "Firefox"})
    assert response.status_code == 303
    [request] = gateway.rpc.called(auth.APPROVE_REGISTRATION)
    assert isinstance(request, auth.ApproveRegistrationRequest)
    assert request.dossier_ids == ["DOS-1", "DOS-2"]
    assert request.caller.user_id == "staff1"
    assert request.origin is not None and request.origin.user_agent == "Firefox"
    page = gateway.client.get(response.headers["location"])
    assert "De inschrijving is goedgekeurd" in page.text


def test_approving_without_a_dossier_is_refused_with_a_readable_message(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_requests(gateway)
    page = gateway.client.post("/admin/registrations/g1/approve", data={
        "dossier_ids": " ", "csrf_token": csrf(gateway)})
    assert page.status_code == 422
    assert "Geef minstens één dossiernummer" in page.text
    assert gateway.rpc.called(auth.APPROVE_REGISTRATION) == []


def test_refusing_sends_the_reason(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_requests(gateway)
    gateway.rpc.answer(auth.REFUSE_REGISTRATION, registration())
    response = gateway.client.post("/admin/registrations/g1/refuse", data={
        "reason": "Geen klant van ons kantoor.", "csrf_token": csrf(gateway)})
    assert response.status_code == 303
    [request] = gateway.rpc.called(auth.REFUSE_REGISTRATION)
    assert isinstance(request, auth.RefuseRegistrationRequest)
    assert request.reason == "Geen klant van ons kantoor."


def test_a_registration_decided_meanwhile_gives_a_message_not_a_crash(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_requests(gateway)
    gateway.rpc.answer(auth.REFUSE_REGISTRATION, Gone("already decided"))
    page = gateway.client.post("/admin/registrations/g1/refuse", data={
        "reason": "Nee.", "csrf_token": csrf(gateway)})
    assert page.status_code == 409
    assert "Dit werd al behandeld" in page.text


def test_a_form_without_the_csrf_token_is_refused(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_requests(gateway)
    gateway.rpc.answer(auth.ACCEPT_EID_LINK, auth.EidLinkPublic(
        link_id="l1", status="accepted", email="jan@example.be", display_name="Jan Claes",
        national_number="85073003328", created_at=WHEN))
    response = gateway.client.post("/admin/eid-links/l1/accept", data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert gateway.rpc.called(auth.ACCEPT_EID_LINK) == []
    accepted = gateway.client.post("/admin/eid-links/l1/accept",
                                   data={"csrf_token": csrf(gateway)})
    assert accepted.headers["location"] == "/admin?done=eid_accepted"


def test_inviting_a_client_from_the_page(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    gateway.rpc.answer(auth.INVITE_CLIENT, auth.InvitationPublic(
        invitation_id="i1", user_id="u9", email="lotte@example.be", expires_at=WHEN))
    response = gateway.client.post("/admin/invitations", data={
        "email": "lotte@example.be", "display_name": "Lotte Maes", "language": "fr",
        "dossier_ids": "D1 D2", "csrf_token": csrf(gateway)})
    assert response.status_code == 303
    [request] = gateway.rpc.called(auth.INVITE_CLIENT)
    assert isinstance(request, auth.InviteClientRequest)
    assert (request.language, request.dossier_ids) == ("fr", ["D1", "D2"])


def test_an_invitation_with_a_wrong_address_keeps_what_was_typed(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    page = gateway.client.post("/admin/invitations", data={
        "email": "not-an-address", "display_name": "Lotte Maes", "csrf_token": csrf(gateway)})
    assert page.status_code == 422
    assert "Geef een geldig e-mailadres" in page.text and 'value="Lotte Maes"' in page.text


def test_an_account_found_by_address_offers_its_actions(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    gateway.rpc.answer(auth.FIND_USER, account())
    page = gateway.client.get("/admin/accounts", params={"email": "lotte@example.be"})
    assert "Lotte Maes" in page.text
    for action in ("Uitnodiging opnieuw versturen", "Uitnodiging intrekken",
                   "Account uitschakelen", "Toegang tot D1 intrekken"):
        assert action in page.text
    gateway.rpc.answer(auth.FIND_USER, NotFound("no"))
    missing = gateway.client.get("/admin/accounts", params={"email": "x@example.be"})
    assert missing.status_code == 404
    assert "Geen enkel account heeft dit e-mailadres" in missing.text


def test_account_actions_call_auth_for_that_account(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    gateway.rpc.answer(auth.FIND_USER, account())
    gateway.rpc.answer(auth.DISABLE_USER, account(status="disabled"))
    gateway.rpc.answer(auth.RESEND_INVITATION, auth.InvitationPublic(
        invitation_id="i2", user_id="u9", email="lotte@example.be", expires_at=WHEN))
    gateway.rpc.answer(auth.REVOKE_INVITATION, account())
    gateway.rpc.answer(auth.GRANT_DOSSIER, account(dossier_ids=["D1", "D2"]))
    gateway.rpc.answer(auth.REVOKE_DOSSIER, account(dossier_ids=[]))
    token = csrf(gateway)
    for path, data in (("/admin/users/u9/disable", {}),
                       ("/admin/users/u9/invitation/resend", {}),
                       ("/admin/users/u9/invitation/revoke", {}),
                       ("/admin/users/u9/grants", {"dossier_id": "D2"}),
                       ("/admin/users/u9/grants", {"dossier_id": "D1", "remove": "1"})):
        response = gateway.client.post(path, data={
            **data, "email": "lotte@example.be", "csrf_token": token})
        assert response.status_code == 303, path
    assert [r.user_id for r in gateway.rpc.called(auth.DISABLE_USER)] == ["u9"]  # type: ignore[attr-defined]
    [granted] = gateway.rpc.called(auth.GRANT_DOSSIER)
    [removed] = gateway.rpc.called(auth.REVOKE_DOSSIER)
    assert (granted.dossier_id, removed.dossier_id) == ("D2", "D1")  # type: ignore[attr-defined]
    page = gateway.client.get(response.headers["location"])
    assert "Het account heeft geen toegang meer tot het dossier" in page.text


def test_only_an_office_admin_creates_staff_and_reads_the_audit_log(gateway: Gateway) -> None:
    sign_in_as_staff(gateway, Role.AGENT)
    assert gateway.client.get("/admin/staff").status_code == 403
    assert gateway.client.get("/admin/audit").status_code == 403
    sign_in_as_staff(gateway, Role.ADMIN)
    gateway.rpc.answer(auth.LIST_AUDIT, audit_log())
    audit = gateway.client.get("/admin/audit")
    assert audit.status_code == 200
    assert "Els Janssens" in audit.text and "192.0.2.7" in audit.text
    gateway.rpc.answer(auth.CREATE_STAFF, account(role=Role.AGENT, status="active"))
    response = gateway.client.post("/admin/staff", data={
        "email": "bob@mybroker.example", "display_name": "Bob", "role": "agent",
        "password": "a long enough password", "csrf_token": csrf(gateway)})
    assert response.status_code == 303
    [request] = gateway.rpc.called(auth.CREATE_STAFF)
    assert request.role == Role.AGENT  # type: ignore[attr-defined]


def test_the_office_pages_speak_french(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_requests(gateway)
    gateway.client.get("/lang/fr")
    page = gateway.client.get("/admin")
    assert "Inscriptions à approuver" in page.text and "Approuver" in page.text


def test_refusing_an_eid_link_sends_the_reason(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_requests(gateway)
    gateway.rpc.answer(auth.REFUSE_EID_LINK, auth.EidLinkPublic(
        link_id="l1", status="refused", email="jan@example.be", display_name="Jan Claes",
        national_number="85073003328", created_at=WHEN))
    response = gateway.client.post("/admin/eid-links/l1/refuse", data={
        "reason": "Onbekend adres.", "csrf_token": csrf(gateway)})
    assert response.headers["location"] == "/admin?done=eid_refused"
    [request] = gateway.rpc.called(auth.REFUSE_EID_LINK)
    assert request.reason == "Onbekend adres."  # type: ignore[attr-defined]
    page = gateway.client.get("/admin?done=eid_refused")
    assert "De eID-koppeling is geweigerd" in page.text


ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/131.0.0.0 Mobile Safari/537.36")


def audit_log(next_before: str | None = None) -> auth.AuditLog:
    els = "a" * 32
    return auth.AuditLog(entries=[
        auth.AuditEntry(
            entry_id="e" * 32, at=WHEN, actor_id=els, actor_role=Role.AGENT,
            actor_name="Els Janssens",
            action="account.disable", target="b" * 32, target_name="Pieter Dupont",
            details={"sessions_ended": "2"}, client_ip="192.0.2.7", user_agent=ANDROID_CHROME),
        auth.AuditEntry(
            entry_id="f" * 32, at=WHEN, actor_id=els, actor_role=Role.AGENT,
            actor_name="Els Janssens",
            action="registration.approve", target="r1", target_name="Lotte Maes",
            details={"dossier_ids": "D1,D2", "user_id": "c" * 32},
            user_agent="python-httpx/0.28.1"),
        auth.AuditEntry(
            entry_id="d" * 32, at=WHEN, actor_id="9" * 32, actor_role=Role.ADMIN,
            action="grant.add", target="b" * 32, details={"dossier_id": "D2"})],
        staff=[auth.StaffMember(user_id=els, display_name="Els Janssens")],
        next_before=next_before)


def test_the_audit_log_reads_as_sentences_with_names_and_devices(gateway: Gateway) -> None:
    sign_in_as_staff(gateway, Role.ADMIN)
    gateway.rpc.answer(auth.LIST_AUDIT, audit_log())
    page = gateway.client.get("/admin/audit")
    for shown in ("Els Janssens</strong> heeft het account van Pieter Dupont uitgeschakeld "
                  "(2 sessies beëindigd)",
                  "heeft de inschrijving van Lotte Maes goedgekeurd voor dossier(s) D1, D2",
                  "Chrome Mobile op Android", "Een programma (python-httpx)", "Onbekend toestel",
                  "toegang gegeven tot dossier D2"):
        assert shown in page.text, shown
    assert "Onbekende medewerker" in page.text  # an id without an account now
    for raw in ("account.disable", "sessions_ended", "python-httpx/0.28.1", ">" + "9" * 32,
                "<table"):
        assert raw not in page.text, raw
    gateway.client.get("/lang/fr")
    french = gateway.client.get("/admin/audit")
    assert "a désactivé le compte de Pieter Dupont" in french.text
    assert "Chrome Mobile sur Android" in french.text


def test_the_audit_log_filters_and_pages_by_its_addresses(gateway: Gateway) -> None:
    sign_in_as_staff(gateway, Role.ADMIN)
    boundary = "2026-12-05T10:00:00+00:00/" + "e" * 32
    gateway.rpc.answer(auth.LIST_AUDIT, audit_log(next_before=boundary))
    page = gateway.client.get(f"/admin/audit?kind=account&actor={'a' * 32}")
    [query] = gateway.rpc.called(auth.LIST_AUDIT)
    assert (query.action_kind, query.actor_id) == ("account", "a" * 32)  # type: ignore[attr-defined]
    assert '<option value="account" selected>' in page.text
    next_page = (f"/admin/audit?kind=account&amp;actor={'a' * 32}"
                 f"&amp;before=2026-12-05T10%3A00%3A00%2B00%3A00%2F{'e' * 32}")
    assert next_page in page.text
    for forged in ("?before=k", "?actor=%24where", "?before=" + "x" * 79):
        response = gateway.client.get(f"/admin/audit{forged}")
        assert response.status_code == 303 and response.headers["location"] == "/admin/audit"


def test_the_office_admin_erases_a_client_account_after_typing_its_address(
    gateway: Gateway,
) -> None:
    from libs.contracts import privacy

    sign_in_as_staff(gateway, Role.AGENT)
    gateway.rpc.answer(auth.FIND_USER, account(status="active"))
    agents_page = gateway.client.get("/admin/accounts", params={"email": "lotte@example.be"})
    assert "Dit klantenaccount wissen" not in agents_page.text  # an agent has no such button
    refused = gateway.client.post("/admin/users/u9/erasure", data={
        "email": "lotte@example.be", "confirm_email": "lotte@example.be",
        "csrf_token": csrf(gateway)})
    assert refused.status_code == 403
    assert gateway.rpc.called(privacy.ERASE_ACCOUNT) == []

    sign_in_as_staff(gateway, Role.ADMIN)
    page = gateway.client.get("/admin/accounts", params={"email": "lotte@example.be"})
    assert "Dit klantenaccount wissen" in page.text
    assert 'action="/admin/users/u9/erasure"' in page.text
    gateway.rpc.answer(auth.GET_USER, account(status="active"))
    mistyped = gateway.client.post("/admin/users/u9/erasure", data={
        "email": "lotte@example.be", "confirm_email": "lotte@example.com",
        "csrf_token": csrf(gateway)})
    assert mistyped.status_code == 422
    assert "Typ het e-mailadres van het account om te bevestigen dat het gewist wordt" in (
        mistyped.text)
    assert gateway.rpc.called(privacy.ERASE_ACCOUNT) == []

    gateway.rpc.answer(privacy.ERASE_ACCOUNT, privacy.AccountErasureReport(
        user_id="u9", deleted={"users": 1, "sessions_ended": 2},
        kept=[privacy.KeptEvidence(collection="audit_log", count=1,
                                   reason="the staff audit log (GDPR art. 5(2))")]))
    erased = gateway.client.post("/admin/users/u9/erasure", data={
        "email": "lotte@example.be", "confirm_email": " Lotte@Example.be ",
        "csrf_token": csrf(gateway)})
    assert erased.status_code == 200
    [asked] = gateway.rpc.called(privacy.ERASE_ACCOUNT)
    assert asked.user_id == "u9"  # type: ignore[attr-defined]
    for shown in ("Het account van Lotte Maes (lotte@example.be) is gewist.", "sessions_ended: 2",
                  "the staff audit log (GDPR art. 5(2))"):
        assert shown in erased.text, shown
