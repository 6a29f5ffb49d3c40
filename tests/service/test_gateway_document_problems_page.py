"""The office's "Document problems" page at the gateway (the services are fakes): damaged
documents and failed uploads with their reason, linked to their dossier's documents."""

from datetime import UTC, datetime

from libs.contracts import auth, documents, dossier
from libs.servicekit.errors import NotFound
from services.documents.sniffing import ARCHIVE_PROBLEMS
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_admin_pages import csrf, sign_in_as_staff

DAMAGED = documents.DocumentProblem(
    document_id="doc1", dossier_id="D1", title="Polis woning", filename="polis-woning.pdf",
    problem="damaged", reason="The stored file is missing.",
    created_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC))
TOO_LARGE = documents.DocumentProblem(
    document_id="doc2", dossier_id="D9", title="Scan", filename="scan.tiff",
    problem="upload_failed", reason="The file is larger than the 50 MB allowed.",
    created_at=datetime(2025, 2, 28, 16, 5, tzinfo=UTC))


def summary_of_d1(request: object) -> dossier.DossierSummary:
    assert isinstance(request, dossier.DossierQuery)
    if request.dossier_id != "D1":
        raise NotFound("no such dossier")
    return dossier.DossierSummary(dossier_id="D1", name="Familie Peeters", person_count=2,
                                  contract_count=3)


def with_problems(gateway: Gateway) -> None:
    gateway.rpc.answer(documents.LIST_DOCUMENT_PROBLEMS,
                       documents.DocumentProblemList(problems=[DAMAGED, TOO_LARGE]))
    gateway.rpc.answer(dossier.GET_DOSSIER_SUMMARY, summary_of_d1)


def test_staff_see_each_problem_with_its_reason_and_a_link_to_its_dossier(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway)
    with_problems(gateway)
    page = gateway.client.get("/admin/document-problems")
    assert page.status_code == 200
    text = page.text
    assert '<a href="/admin/document-problems" aria-current="page">Documentproblemen</a>' in text
    assert text.index("Polis woning") < text.index("Scan")  # as the service sorts them
    assert "polis-woning.pdf" in text and "Beschadigd" in text
    assert "Het bewaarde bestand ontbreekt." in text  # a fixed reason, translated
    assert "scan.tiff" in text and "Upload mislukt" in text
    assert "The file is larger than the 50 MB allowed." in text  # figures: as written
    assert 'href="/admin/documents?dossier_id=D1"' in text and "Familie Peeters" in text
    assert 'dossier_id=D9' not in text and "onbekend dossier" in text
    [query] = gateway.rpc.called(documents.LIST_DOCUMENT_PROBLEMS)
    assert isinstance(query, documents.DocumentProblemsQuery) and query.caller.is_staff


def test_the_page_speaks_french_and_says_when_nothing_is_wrong(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_problems(gateway)
    gateway.client.get("/lang/fr?next=/admin")
    assert "Le fichier conservé est manquant." in gateway.client.get(
        "/admin/document-problems").text
    gateway.rpc.answer(documents.LIST_DOCUMENT_PROBLEMS,
                       documents.DocumentProblemList(problems=[]))
    assert "Aucun document n'a de problème." in gateway.client.get(
        "/admin/document-problems").text.replace("&#39;", "'")


def test_a_client_does_not_see_the_document_problems(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair(dossiers=("D1",)))
    gateway.client.post("/login", data={
        "email": "an@example.be", "password": "correct horse battery",
        "csrf_token": csrf(gateway)})
    with_problems(gateway)
    response = gateway.client.get("/admin/document-problems")
    assert response.status_code == 403
    assert "Polis woning" not in response.text
    assert gateway.rpc.called(documents.LIST_DOCUMENT_PROBLEMS) == []


def test_a_refused_zip_bomb_shows_its_reason_in_the_staff_language(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_problems(gateway)
    gateway.rpc.answer(documents.LIST_DOCUMENT_PROBLEMS, documents.DocumentProblemList(problems=[
        TOO_LARGE.model_copy(update={"document_id": f"bomb{number}", "reason": reason})
        for number, reason in enumerate(ARCHIVE_PROBLEMS)]))
    text = gateway.client.get("/admin/document-problems").text
    assert ("Het bestand pakt uit tot meer dan 100 MB; het werd geweigerd als mogelijke "
            "zipbom.") in text
    assert not any(reason.replace("'", "&#39;") in text for reason in ARCHIVE_PROBLEMS)
    gateway.client.get("/lang/fr?next=/admin")
    text = gateway.client.get("/admin/document-problems").text.replace("&#39;", "'")
    assert "Le fichier contient trop de parties ; il a été refusé comme bombe zip possible." in text
    assert text.count("bombe zip possible") == len(ARCHIVE_PROBLEMS)
