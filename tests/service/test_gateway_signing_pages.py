"""The signature page as a signer uses it: "Gelezen en goedgekeurd", "Onderteken", the password
again when the login is old (a fresh login whose tokens replace the cookies), and the refusals
in words."""

import time
from datetime import UTC, datetime

from libs.contracts import auth, documents, signing
from libs.contracts.envelope import utc_now
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Forbidden, Gone, Unauthenticated
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_pages import csrf, sign_in


def offer(*, signer_state: str = "opened", state: str = "open") -> signing.SignatureOffer:
    now = utc_now()
    signer = signing.SignerPublic(person_id="P1", name="An Peeters", order=1,
                                  state=signing.SignerState(signer_state))
    return signing.SignatureOffer(
        request=signing.SignatureRequestPublic(
            signature_request_id="r1", dossier_id="D1", document_id="doc1",
            title="Klantenfiche", document_sha256="a" * 64, state=signing.RequestState(state),
            signers=[signer], requested_by="staff1", requested_at=now),
        signer=signer, may_sign_now=signer_state in ("sent", "opened") and state == "open")


def test_an_opened_document_is_signed_with_the_tick_and_a_recent_login(gateway: Gateway
                                                                       ) -> None:
    sign_in(gateway, auth_time=int(time.time()))
    gateway.rpc.answer(signing.GET_OFFER, offer())
    page = gateway.client.get("/signing/r1")
    assert page.status_code == 200
    assert "Gelezen en goedgekeurd" in page.text and "Onderteken" in page.text
    assert 'name="password"' not in page.text  # the login is recent
    gateway.rpc.answer(signing.SIGN, offer(signer_state="signed"))
    signed = gateway.client.post("/signing/r1", data={"approved": "yes",
                                                      "csrf_token": csrf(gateway)})
    assert signed.status_code == 303 and signed.headers["location"] == "/signing/r1"
    sent = gateway.rpc.called(signing.SIGN)[-1]
    assert isinstance(sent, signing.SignRequest) and sent.approved
    assert sent.authenticated_at is not None and sent.evidence.client_ip
    gateway.rpc.answer(signing.GET_OFFER, offer(signer_state="signed", state="sealing"))
    done = gateway.client.get("/signing/r1")
    assert "Het document is nu getekend." in done.text


def test_while_the_signed_pdf_is_made_the_page_asks_again_and_waits_for_it(gateway: Gateway
                                                                         ) -> None:
    sign_in(gateway, auth_time=int(time.time()))
    gateway.rpc.answer(signing.GET_OFFER, offer(signer_state="signed", state="sealing"))
    page = gateway.client.get("/signing/r1")
    assert 'hx-get="/signing/r1?wait=10"' in page.text  # asks again at once, answered when made
    gateway.rpc.answer(signing.GET_OFFER, offer(signer_state="signed", state="awaiting_broker"))
    ready = gateway.client.get("/signing/r1?wait=10", headers={"HX-Request": "true"})
    asked = gateway.rpc.called(signing.GET_OFFER)[-1]
    assert isinstance(asked, signing.SignatureRequestQuery) and asked.wait_for_seal_seconds == 10
    assert "/signing/r1/signed" in ready.text and "hx-get" not in ready.text.split(
        'id="signed-state"')[1].split(">")[0]  # made: no further asking
    for wrong in ("soon", "-3", "nan"):  # any other wait is no wait
        assert gateway.client.get(f"/signing/r1?wait={wrong}").status_code == 200
        asked = gateway.rpc.called(signing.GET_OFFER)[-1]
        assert isinstance(asked, signing.SignatureRequestQuery)
        assert asked.wait_for_seal_seconds == 0


def test_the_api_waits_for_the_seal_when_asked_and_refuses_a_wait_out_of_range(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(signing.GET_OFFER, offer(signer_state="signed", state="awaiting_broker"))
    headers = gateway.bearer(dossiers=["D1"])
    sealed = gateway.client.get("/api/v1/signature-requests/r1?wait=10", headers=headers)
    assert sealed.status_code == 200 and sealed.json()["request"]["state"] == "awaiting_broker"
    asked = gateway.rpc.called(signing.GET_OFFER)[-1]
    assert isinstance(asked, signing.SignatureRequestQuery) and asked.wait_for_seal_seconds == 10
    for wrong in ("11", "-1", "nan", "soon"):
        refused = gateway.client.get(f"/api/v1/signature-requests/r1?wait={wrong}",
                                     headers=headers)
        assert refused.status_code == 422, wrong
        assert refused.headers["content-type"].startswith("application/problem+json")


def test_an_old_login_asks_the_password_again_and_a_fresh_login_signs(gateway: Gateway) -> None:
    sign_in(gateway, auth_time=int(time.time()) - 3600, session_id="old-session")
    gateway.rpc.answer(signing.GET_OFFER, offer())
    gateway.rpc.answer(signing.SIGN, Forbidden("Enter your password again to sign.",
                                               fields={"reason": "reauthentication_required"}))
    asked = gateway.client.post("/signing/r1", data={"approved": "yes",
                                                     "csrf_token": csrf(gateway)})
    assert asked.status_code == 403
    assert "Geef voor uw veiligheid uw wachtwoord opnieuw in" in asked.text
    assert 'name="password"' in asked.text and "checked" in asked.text  # the tick is kept

    gateway.rpc.answer(auth.LOG_IN, Unauthenticated("wrong"))
    wrong = gateway.client.post("/signing/r1", data={
        "approved": "yes", "password": "not it", "csrf_token": csrf(gateway)})
    assert wrong.status_code == 401 and "Het wachtwoord is niet juist." in wrong.text

    fresh = gateway.key.pair(auth_time=int(time.time()), session_id="new-session")
    gateway.rpc.answer(auth.LOG_IN, fresh)
    gateway.rpc.answer(auth.LOG_OUT, Ack())
    gateway.rpc.answer(signing.SIGN, offer(signer_state="signed"))
    signed = gateway.client.post("/signing/r1", data={
        "approved": "yes", "password": "correct horse battery", "csrf_token": csrf(gateway)})
    assert signed.status_code == 303
    sent = gateway.rpc.called(signing.SIGN)[-1]
    assert isinstance(sent, signing.SignRequest) and sent.authenticated_at is not None
    assert (datetime.now(UTC) - sent.authenticated_at).total_seconds() < 60
    assert gateway.client.cookies["mb_access"] == fresh.access_token
    logged_out = gateway.rpc.called(auth.LOG_OUT)[-1]
    assert isinstance(logged_out, auth.LogoutRequest)
    assert logged_out.session_id == "old-session"


def test_a_document_not_yet_opened_and_a_cancelled_request_say_so(gateway: Gateway) -> None:
    sign_in(gateway, auth_time=int(time.time()))
    gateway.rpc.answer(signing.GET_OFFER, offer(signer_state="sent"))
    unopened = gateway.client.get("/signing/r1")
    assert "Open en lees het document voor u het ondertekent." in unopened.text
    assert "Gelezen en goedgekeurd" not in unopened.text
    gateway.rpc.answer(signing.GET_OFFER, offer(state="cancelled"))
    cancelled = gateway.client.get("/signing/r1")
    assert cancelled.status_code == 410
    assert "Uw makelaar heeft deze ondertekeningsaanvraag geannuleerd." in cancelled.text
    gateway.rpc.answer(signing.SIGN, Gone("cancelled", fields={"reason": "cancelled"}))
    assert gateway.client.post("/signing/r1", data={
        "approved": "yes", "csrf_token": csrf(gateway)}).status_code == 410


def test_the_viewer_of_an_offered_document_offers_to_sign_it(gateway: Gateway) -> None:
    sign_in(gateway, auth_time=int(time.time()))
    now = utc_now()
    gateway.rpc.answer(documents.OPEN_DOWNLOAD, documents.DownloadTicket(
        document=documents.DocumentPublic(
            document_id="doc1", dossier_id="D1", title="Klantenfiche", filename="k.pdf",
            content_type="application/pdf", size=10, sha256="a" * 64, uploaded_by="staff1",
            uploaded_at=now, rendition=documents.RenditionPublic(
                state=documents.RenditionState.READY, content_type="application/pdf")),
        download_url="http://storage.test/doc1"))
    gateway.rpc.answer(signing.DOCUMENT_SERVED, signing.OfferReply(offer=offer()))
    viewer = gateway.client.get("/documents/doc1")
    assert viewer.status_code == 200
    assert 'href="/signing/r1?dossier=D1">Ondertekenen</a>' in viewer.text
    served = gateway.rpc.called(signing.DOCUMENT_SERVED)[-1]
    assert isinstance(served, signing.DocumentServed) and served.document_id == "doc1"
