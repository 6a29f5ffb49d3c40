"""The office's page that offers a document for signature: the dossier's persons (those
without an account cannot be ticked), the order typed beside the names, a due date and a
message; the signing service's refusals in words; the list's notice once it is made."""

from datetime import date

from pydantic import BaseModel

from libs.contracts import auth, documents, dossier, signing
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Invalid
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_pages import csrf, sign_in

PAGE = "/admin/dossiers/D1/documents/doc1/signature-request"


def ticket(*, content_type: str = "application/pdf",
           rendition: documents.RenditionState = documents.RenditionState.READY
           ) -> documents.DownloadTicket:
    return documents.DownloadTicket(
        document=documents.DocumentPublic(
            document_id="doc1", dossier_id="D1", title="Polis BA", filename="polis.pdf",
            content_type=content_type, size=10, sha256="a" * 64, uploaded_by="staff1",
            uploaded_at=utc_now(), rendition=documents.RenditionPublic(
                state=rendition, content_type="application/pdf")),
        download_url="http://storage.test/doc1")


def office(gateway: Gateway) -> None:
    sign_in(gateway, role=Role.AGENT, dossiers=())
    gateway.rpc.answer(documents.OPEN_DOWNLOAD, ticket())
    gateway.rpc.answer(dossier.LIST_PERSONS, dossier.PersonList(dossier_id="D1", persons=[
        dossier.Person(person_id="P1", role="policyholder", last_name="Dupont",
                       first_name="Pieter", email="pieter@example.be"),
        dossier.Person(person_id="P2", role="partner", last_name="Peeters", first_name="An",
                       email="AN@example.be"),
        dossier.Person(person_id="P3", role="child", last_name="Dupont", first_name="Lotte")]))
    gateway.rpc.answer(auth.LIST_DOSSIER_MEMBERS, auth.DossierMembers(members=[
        auth.DossierMember(user_id="u-p", email="pieter@example.be", display_name="Pieter"),
        auth.DossierMember(user_id="u-an", email="an@example.be", display_name="An")]))


def created() -> signing.SignatureRequestPublic:
    return signing.SignatureRequestPublic(
        signature_request_id="r1", dossier_id="D1", document_id="doc1", title="Polis BA",
        document_sha256="a" * 64, state=signing.RequestState.OPEN, signers=[],
        requested_by="u1", requested_at=utc_now())


def test_staff_offer_a_document_to_persons_in_the_order_they_typed(gateway: Gateway) -> None:
    office(gateway)
    viewer_link = gateway.client.get("/admin/dossiers/D1/documents/doc1")
    assert f'href="{PAGE}"' in viewer_link.text
    form = gateway.client.get(PAGE)
    assert form.status_code == 200
    assert "Polis BA" in form.text and "Pieter Dupont" in form.text
    # Lotte has no account of the dossier: shown, but she cannot be ticked.
    assert 'value="P3" disabled' in form.text
    gateway.rpc.answer(signing.CREATE_SIGNATURE_REQUEST, created())
    sent = gateway.client.post(PAGE, data={
        "signer": ["P1", "P2"], "position-P1": "2", "position-P2": "1", "ordered": "yes",
        "due_date": "2099-01-31", "message": "  Graag tekenen ", "csrf_token": csrf(gateway)})
    assert sent.status_code == 303
    assert sent.headers["location"] == "/admin/signing?done=signature_requested"
    command = gateway.rpc.called(signing.CREATE_SIGNATURE_REQUEST)[-1]
    assert isinstance(command, signing.CreateSignatureRequest)
    assert command.signer_person_ids == ["P2", "P1"] and command.ordered
    assert command.due_date == date(2099, 1, 31) and command.note == "Graag tekenen"
    assert command.dossier_id == "D1" and command.document_id == "doc1"
    gateway.rpc.answer(signing.LIST_SIGNATURE_REQUESTS, signing.SignatureRequestList(
        requests=[created()], total=1))
    listed = gateway.client.get(sent.headers["location"])
    assert "De ondertekeningsaanvraag is gemaakt" in listed.text


def test_unordered_signers_keep_the_forms_order_and_refusals_are_in_words(
    gateway: Gateway,
) -> None:
    office(gateway)
    nobody = gateway.client.post(PAGE, data={"csrf_token": csrf(gateway)})
    assert nobody.status_code == 422 and "Kies minstens één persoon" in nobody.text
    gateway.rpc.answer(signing.CREATE_SIGNATURE_REQUEST, Invalid(
        "The signature request cannot be made.", fields={"due_date": "The due date has passed."}))
    late = gateway.client.post(PAGE, data={
        "signer": ["P2", "P1"], "position-P1": "1", "due_date": "2020-01-01",
        "message": "Dringend", "csrf_token": csrf(gateway)})
    assert late.status_code == 422 and "De vervaldatum is voorbij" in late.text
    assert "Dringend" in late.text  # what was filled in stays
    command = gateway.rpc.called(signing.CREATE_SIGNATURE_REQUEST)[-1]
    assert isinstance(command, signing.CreateSignatureRequest)
    assert command.signer_person_ids == ["P2", "P1"] and not command.ordered
    bad_date = gateway.client.post(PAGE, data={
        "signer": ["P1"], "due_date": "31/01/2099", "csrf_token": csrf(gateway)})
    assert bad_date.status_code == 422 and "geen datum" in bad_date.text


def test_a_document_not_shown_as_pdf_cannot_be_offered(gateway: Gateway) -> None:
    office(gateway)
    gateway.rpc.answer(documents.OPEN_DOWNLOAD, ticket(
        content_type="image/png"))
    form = gateway.client.get(PAGE)
    assert form.status_code == 422 and "Enkel een document dat als PDF" in form.text


def test_a_client_cannot_open_the_office_form(gateway: Gateway) -> None:
    sign_in(gateway)
    assert gateway.client.get(PAGE).status_code == 403
    assert gateway.client.post(PAGE, data={"signer": ["P1"], "csrf_token": csrf(gateway)}
                               ).status_code == 403
    assert gateway.rpc.called(signing.CREATE_SIGNATURE_REQUEST) == []


def test_the_office_list_links_the_next_page_by_its_cursor_and_keeps_the_filter(
    gateway: Gateway,
) -> None:
    sign_in(gateway, role=Role.AGENT, dossiers=())
    gateway.rpc.answer(signing.LIST_SIGNATURE_REQUESTS, signing.SignatureRequestList(
        requests=[created()], total=30, next_cursor="page.two"))
    first = gateway.client.get("/admin/signing", params={"state": "open"})
    assert first.status_code == 200
    assert 'href="/admin/signing?state=open&amp;cursor=page.two"' in first.text
    assert "Eerste pagina" not in first.text
    second = gateway.client.get("/admin/signing", params={"state": "open", "cursor": "page.two"})
    assert 'href="/admin/signing?state=open"' in second.text and "Eerste pagina" in second.text
    asked = [(query.state, query.cursor) for query in gateway.rpc.called(
        signing.LIST_SIGNATURE_REQUESTS) if isinstance(query, signing.ListSignatureRequestsQuery)]
    assert asked == [(signing.RequestState.OPEN, None), (signing.RequestState.OPEN, "page.two")]


def test_a_refused_cursor_in_an_office_list_link_shows_the_first_page_with_a_notice(
    gateway: Gateway,
) -> None:
    sign_in(gateway, role=Role.AGENT, dossiers=())

    def listed(query: BaseModel) -> signing.SignatureRequestList:
        assert isinstance(query, signing.ListSignatureRequestsQuery)
        if query.cursor is not None:
            raise Invalid("This page link is damaged or out of date: open the list from its "
                          "first page.", fields={"cursor": "not a cursor of this list"})
        return signing.SignatureRequestList(requests=[created()], total=1)

    gateway.rpc.answer(signing.LIST_SIGNATURE_REQUESTS, listed)
    page = gateway.client.get("/admin/signing", params={"cursor": "forged"})
    assert page.status_code == 200
    assert "Die paginalink is niet meer geldig" in page.text and "Eerste pagina" not in page.text
