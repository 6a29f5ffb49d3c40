"""The dossier's delivery log and the client's "Mijn meldingen" at the gateway (the notifier is a
fake): staff see each mail with its result and resend the rebuildable ones; a client sees and
saves their own preferences, and reads which mails always go at once."""

from datetime import UTC, datetime

from libs.contracts import auth, notifier
from libs.contracts.caller import Role
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_admin_pages import csrf, sign_in_as_staff

DEAD = notifier.LoggedMail(
    mail_id="e1.documents-published.u1", kind="documents-published",
    recipient="An Peeters <an@example.be>", subject="Een nieuw document in MyBroker",
    language="nl", result="dead_lettered", attempts=8,
    created_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC), last_error="(451, 'Try again later')",
    resendable=True)
SENT = notifier.LoggedMail(
    mail_id="e2.request-update", kind="request-update", recipient="An Peeters <an@example.be>",
    subject="Nieuws over uw bericht", language="fr", result="sent", attempts=2,
    created_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC), resendable=False)
RESENT = DEAD.model_copy(update={"mail_id": "n1.documents-published", "result": "sent",
                                 "attempts": 1, "resend_of": DEAD.mail_id, "resendable": False})
SETTINGS = notifier.NotificationSettings(
    preferences=notifier.NotificationPreferences(documents="daily_digest"),
    digest_at="17:00 Europe/Brussels")


def with_log(gateway: Gateway) -> None:
    gateway.rpc.answer(notifier.LIST_DOSSIER_MAILS, notifier.DossierMailLog(
        mails=[DEAD, SENT], next_before="1740820000000"))
    gateway.rpc.answer(notifier.RESEND_LOGGED_MAIL, RESENT)


def test_the_admin_api_pages_the_dossier_log_for_staff_only(gateway: Gateway) -> None:
    with_log(gateway)
    staff = gateway.bearer(user_id="staff1", role=Role.AGENT, dossiers=())
    response = gateway.client.get("/admin/api/v1/dossiers/D1/mails?limit=2&before=123",
                                  headers=staff)
    assert response.status_code == 200, response.text
    assert [mail["result"] for mail in response.json()["mails"]] == ["dead_lettered", "sent"]
    assert response.json()["next_before"] == "1740820000000"
    [query] = gateway.rpc.called(notifier.LIST_DOSSIER_MAILS)
    assert isinstance(query, notifier.DossierMailsQuery)
    assert (query.dossier_id, query.limit, query.before) == ("D1", 2, "123")
    client = gateway.bearer(dossiers=("D1",))
    assert gateway.client.get("/admin/api/v1/dossiers/D1/mails", headers=client
                              ).status_code == 403
    assert gateway.client.get("/admin/api/v1/dossiers/D1/mails?before=x%24", headers=staff
                              ).status_code == 422
    assert len(gateway.rpc.called(notifier.LIST_DOSSIER_MAILS)) == 1


def test_staff_see_each_mail_and_resend_a_dead_lettered_one_as_a_new_mail(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway)
    with_log(gateway)
    text = gateway.client.get("/admin/dossiers/D1/mails").text
    assert "Mails van dossier D1" in text
    assert "Opgegeven (dead letter)" in text and "(451, &#39;Try again later&#39;)" in text
    assert 'action="/admin/dossiers/D1/mails/e1.documents-published.u1/resend"' in text
    assert "/e2.request-update/resend" not in text  # a sent mail's body is gone
    assert 'href="/admin/dossiers/D1/mails?before=1740820000000"' in text
    response = gateway.client.post("/admin/dossiers/D1/mails/e1.documents-published.u1/resend",
                                   data={"csrf_token": csrf(gateway)})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/dossiers/D1/mails?done=resent"
    [request] = gateway.rpc.called(notifier.RESEND_LOGGED_MAIL)
    assert isinstance(request, notifier.ResendLoggedMailRequest)
    assert (request.dossier_id, request.mail_id) == ("D1", "e1.documents-published.u1")
    assert "De mail is opnieuw verzonden als nieuwe mail." in gateway.client.get(
        "/admin/dossiers/D1/mails?done=resent").text


def sign_in_as_client(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair(dossiers=("D1",)))
    gateway.client.post("/login", data={
        "email": "an@example.be", "password": "correct horse battery",
        "csrf_token": csrf(gateway)})


def test_a_client_chooses_the_daily_digest_and_reads_what_always_goes_at_once(
    gateway: Gateway,
) -> None:
    sign_in_as_client(gateway)
    gateway.rpc.answer(notifier.GET_PREFERENCES, SETTINGS)
    gateway.rpc.answer(notifier.SAVE_PREFERENCES, SETTINGS)
    page = gateway.client.get("/notifications").text
    assert "Mijn meldingen" in page
    assert 'name="documents" value="daily_digest" checked' in page
    assert "om 17:00 (Europe/Brussels)" in page
    assert "vragen om een document te ondertekenen" in page
    assert gateway.client.get("/admin/dossiers/D1/mails").status_code == 403

    saved = gateway.client.post("/notifications", data={
        "csrf_token": csrf(gateway), "requests": "daily_digest", "documents": "immediate",
        "signatures": "immediate", "language": "fr"})
    assert saved.status_code == 303
    [request] = gateway.rpc.called(notifier.SAVE_PREFERENCES)
    assert isinstance(request, notifier.SavePreferencesRequest)
    assert (request.preferences.requests, request.preferences.language) == ("daily_digest", "fr")
    assert not request.caller.is_staff

    refused = gateway.client.post("/notifications", data={
        "csrf_token": csrf(gateway), "requests": "never"})
    assert refused.status_code == 422
    assert len(gateway.rpc.called(notifier.SAVE_PREFERENCES)) == 1


def test_the_json_api_reads_and_replaces_the_callers_own_preferences(gateway: Gateway) -> None:
    gateway.rpc.answer(notifier.GET_PREFERENCES, SETTINGS)
    gateway.rpc.answer(notifier.SAVE_PREFERENCES, SETTINGS)
    client = gateway.bearer(user_id="u1", dossiers=("D1",))
    read = gateway.client.get("/api/v1/me/notifications", headers=client)
    assert read.status_code == 200 and read.json()["preferences"]["documents"] == "daily_digest"
    put = gateway.client.put("/api/v1/me/notifications", headers=client,
                             json={"signatures": "daily_digest"})
    assert put.status_code == 200
    [request] = gateway.rpc.called(notifier.SAVE_PREFERENCES)
    assert isinstance(request, notifier.SavePreferencesRequest)
    assert (request.caller.user_id, request.preferences.signatures) == ("u1", "daily_digest")
    assert gateway.client.put("/api/v1/me/notifications", headers=client,
                              json={"language": "de"}).status_code == 422
    assert gateway.client.get("/api/v1/me/notifications").status_code == 401
