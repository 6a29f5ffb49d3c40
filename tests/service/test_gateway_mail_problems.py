"""Uncertain mails at the gateway (the notifier is a fake): the admin API and the office page
"Mail problems" list them, and staff resend one by an explicit action."""

from datetime import UTC, datetime

from libs.contracts import auth, notifier
from libs.contracts.caller import Role
from libs.servicekit.errors import Conflict
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_admin_pages import csrf, sign_in_as_staff

INVITATION = notifier.MailProblem(
    mail_id="e1.invitation", kind="invitation", recipient="An Peeters <an@example.be>",
    subject="Uw toegang tot de klantenzone van uw verzekeringsmakelaar", event_id="e1",
    reason="redelivered_while_sending", claimed_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
    uncertain_at=datetime(2025, 3, 1, 9, 31, tzinfo=UTC))
DIGEST = notifier.MailProblem(
    mail_id="d7.office-digest", kind="office-digest", recipient="office@broker.be",
    subject="3 nieuwe berichten in dossier D1", dossier_id="D1",
    reason="stalled_while_sending", claimed_at=datetime(2025, 2, 28, 16, 5, tzinfo=UTC),
    uncertain_at=datetime(2025, 2, 28, 16, 9, tzinfo=UTC))
RESENT = notifier.MailResent(mail_id="e1.invitation", recipient="An Peeters <an@example.be>",
                             resent_by="staff1", resent_at=datetime(2025, 3, 1, 10, tzinfo=UTC))


def with_problems(gateway: Gateway) -> None:
    gateway.rpc.answer(notifier.LIST_MAIL_PROBLEMS,
                       notifier.MailProblemList(problems=[INVITATION, DIGEST]))
    gateway.rpc.answer(notifier.RESEND_MAIL, RESENT)


def test_the_admin_api_lists_uncertain_mails_for_staff_only(gateway: Gateway) -> None:
    with_problems(gateway)
    staff = gateway.bearer(user_id="staff1", role=Role.AGENT, dossiers=())
    response = gateway.client.get("/admin/api/v1/mail-problems?limit=20", headers=staff)
    assert response.status_code == 200, response.text
    assert [p["mail_id"] for p in response.json()["problems"]] == [
        "e1.invitation", "d7.office-digest"]
    [query] = gateway.rpc.called(notifier.LIST_MAIL_PROBLEMS)
    assert isinstance(query, notifier.MailProblemsQuery)
    assert (query.caller.user_id, query.limit) == ("staff1", 20)

    refused = gateway.client.get("/admin/api/v1/mail-problems", headers=gateway.bearer())
    assert refused.status_code == 403
    assert len(gateway.rpc.called(notifier.LIST_MAIL_PROBLEMS)) == 1


def test_staff_resend_through_the_api_and_a_second_resend_is_a_conflict(
    gateway: Gateway,
) -> None:
    with_problems(gateway)
    staff = gateway.bearer(user_id="staff1", role=Role.ADMIN, dossiers=())
    response = gateway.client.post("/admin/api/v1/mail-problems/e1.invitation/resend",
                                   headers=staff)
    assert response.status_code == 200, response.text
    assert response.json()["resent_by"] == "staff1"
    [request] = gateway.rpc.called(notifier.RESEND_MAIL)
    assert isinstance(request, notifier.ResendMailRequest)
    assert (request.mail_id, request.caller.user_id) == ("e1.invitation", "staff1")

    gateway.rpc.answer(notifier.RESEND_MAIL, Conflict("This mail is sent, not uncertain."))
    again = gateway.client.post("/admin/api/v1/mail-problems/e1.invitation/resend",
                                headers=staff)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


def test_a_mail_id_that_is_not_one_never_reaches_the_notifier(gateway: Gateway) -> None:
    staff = gateway.bearer(user_id="staff1", role=Role.AGENT, dossiers=())
    response = gateway.client.post("/admin/api/v1/mail-problems/%24where%00x/resend",
                                   headers=staff)
    assert response.status_code == 422
    assert gateway.rpc.called(notifier.RESEND_MAIL) == []


def test_staff_see_each_uncertain_mail_with_why_and_a_resend_button(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_problems(gateway)
    page = gateway.client.get("/admin/mail-problems")
    assert page.status_code == 200
    text = page.text
    assert '<a href="/admin/mail-problems" aria-current="page">Mailproblemen</a>' in text
    assert text.index("Uw toegang tot de klantenzone") < text.index("3 nieuwe berichten")
    assert "Aan An Peeters &lt;an@example.be&gt;" in text
    assert "MyBroker stopte terwijl het de mail aan de mailserver gaf." in text
    assert "Het doorgeven aan de mailserver werd nooit afgerond." in text
    assert 'action="/admin/mail-problems/e1.invitation/resend"' in text
    assert "Deze mail opnieuw versturen" in text


def test_the_resend_button_resends_and_says_so(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_problems(gateway)
    response = gateway.client.post("/admin/mail-problems/e1.invitation/resend",
                                   data={"csrf_token": csrf(gateway)})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/mail-problems?done=resent"
    assert "De mail is opnieuw verstuurd." in gateway.client.get(
        "/admin/mail-problems?done=resent").text
    [request] = gateway.rpc.called(notifier.RESEND_MAIL)
    assert isinstance(request, notifier.ResendMailRequest) and request.caller.is_staff


def test_a_refused_resend_is_explained_on_the_page_in_french(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_problems(gateway)
    gateway.client.get("/lang/fr?next=/admin")
    gateway.rpc.answer(notifier.RESEND_MAIL, Conflict("This mail is sent, not uncertain."))
    response = gateway.client.post("/admin/mail-problems/e1.invitation/resend",
                                   data={"csrf_token": csrf(gateway)})
    assert response.status_code == 409
    assert "Problèmes d'e-mail" in response.text.replace("&#39;", "'")
    assert "Renvoyer cet e-mail" in response.text


def test_a_resend_without_the_form_token_is_refused(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_problems(gateway)
    response = gateway.client.post("/admin/mail-problems/e1.invitation/resend")
    assert response.status_code == 403
    assert gateway.rpc.called(notifier.RESEND_MAIL) == []


def test_a_client_does_not_see_the_mail_problems(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair(dossiers=("D1",)))
    gateway.client.post("/login", data={
        "email": "an@example.be", "password": "correct horse battery",
        "csrf_token": csrf(gateway)})
    with_problems(gateway)
    response = gateway.client.get("/admin/mail-problems")
    assert response.status_code == 403
    assert "klantenzone" not in response.text
    assert gateway.rpc.called(notifier.LIST_MAIL_PROBLEMS) == []
