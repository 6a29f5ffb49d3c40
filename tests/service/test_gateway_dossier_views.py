"""The insurance file through the gateway: JSON views, the office's import, and the pages."""

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from libs.contracts import dossier, requests
from libs.contracts.caller import Role
from libs.servicekit.errors import Invalid, NotFound
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
    sample_contract_page,
)
from tests.service.test_gateway_admin_pages import sign_in_as_staff
from tests.service.test_gateway_pages import sign_in

FIXTURES = Path(__file__).parents[1] / "fixtures"


def dupont() -> dossier.DossierImport:
    data: dict[str, Any] = json.loads((FIXTURES / "dossier_dupont.json").read_text("utf-8"))
    return dossier.DossierImport.model_validate(data)


def risk_detail(query: BaseModel) -> dossier.RiskObjectDetail:
    assert isinstance(query, dossier.ObjectQuery)
    data = dupont()
    car = data.risk_objects[0]
    return dossier.RiskObjectDetail(
        dossier_id=query.dossier_id, risk_object=car, contracts=data.contracts[:1],
        claims=data.claims, covers=[dossier.CoverLine(
            contract_id="C-00417-AUTO", policy_number="AU-7712.345.219", insurer="AG Insurance",
            product="Autoverzekering Top Drive", status="active", renewal_date=date(2026, 3, 15),
            included=["Volledige omnium"], optional=["Pechbijstand Benelux"])])


def contract_detail(query: BaseModel) -> dossier.ContractDetail:
    assert isinstance(query, dossier.ObjectQuery)
    data = dupont()
    return dossier.ContractDetail(
        dossier_id=query.dossier_id, contract=data.contracts[0],
        risk_objects=data.risk_objects[:1], claims=data.claims, invoices=data.invoices[:1])


def claim_detail(query: BaseModel) -> dossier.ClaimDetail:
    assert isinstance(query, dossier.ObjectQuery)
    data = dupont()
    return dossier.ClaimDetail(dossier_id=query.dossier_id, claim=data.claims[0],
                               contract=data.contracts[0], risk_objects=data.risk_objects[:1])


def invoice_page(query: BaseModel) -> dossier.InvoicePage:
    """Page 2 of 3 behind the cursor "c2" (the first page without one)."""
    assert isinstance(query, dossier.ListQuery)
    if query.cursor not in (None, "c2"):
        raise Invalid("This page link is damaged or out of date.")
    second = query.cursor == "c2"
    invoices = dupont().invoices
    return dossier.InvoicePage(
        dossier_id=query.dossier_id, total=45, page=2 if second else 1, page_count=3,
        page_size=query.page_size, sort="due_date", descending=False,
        previous_cursor="c1" if second else None, next_cursor="c3" if second else "c2",
        last_cursor="c3", items=invoices, open_amount_cents=48720, overdue_count=1,
        overdue_invoice_ids=["F-00417-2"])


def risk_page(query: BaseModel) -> dossier.RiskObjectPage:
    assert isinstance(query, dossier.ListQuery)
    return dossier.RiskObjectPage(
        dossier_id="D1", total=25, page=2, page_count=3, page_size=10, sort="kind",
        descending=True, previous_cursor="before-R11", next_cursor="after-R20",
        last_cursor="last", items=[])


def test_a_risk_list_page_is_asked_with_its_sort_and_cursor(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.LIST_RISK_OBJECTS, risk_page)
    response = gateway.client.get(
        "/api/v1/dossiers/D1/risk-objects?cursor=after-R10&page_size=10&sort=kind&order=desc",
        headers=gateway.bearer())
    assert response.status_code == 200, response.text
    [query] = gateway.rpc.called(dossier.LIST_RISK_OBJECTS)
    assert isinstance(query, dossier.ListQuery)
    assert (query.cursor, query.page_size, query.sort, query.descending) == (
        "after-R10", 10, "kind", True)


def test_a_list_page_links_to_the_first_previous_next_and_last_pages(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.LIST_RISK_OBJECTS, risk_page)
    body = gateway.client.get("/api/v1/dossiers/D1/risk-objects?cursor=after-R10&page_size=10"
                              "&sort=kind&order=desc", headers=gateway.bearer()).json()
    path = "/api/v1/dossiers/D1/risk-objects?page_size=10&sort=kind&order=desc"
    assert body["links"] == {"first": path, "previous": f"{path}&cursor=before-R11",
                             "next": f"{path}&cursor=after-R20", "last": f"{path}&cursor=last"}
    assert (body["page"], body["page_count"], body["total"]) == (2, 3, 25)


def test_a_damaged_cursor_is_a_problem_not_a_page(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.LIST_INVOICES, invoice_page)
    response = gateway.client.get("/api/v1/dossiers/D1/invoices?cursor=forged",
                                  headers=gateway.bearer())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_a_numbered_page_is_refused_now_that_lists_page_by_cursor(gateway: Gateway) -> None:
    response = gateway.client.get("/api/v1/dossiers/D1/claims?page=3", headers=gateway.bearer())
    assert response.status_code == 422
    assert "query.page" in response.json()["errors"]
    assert gateway.rpc.called(dossier.LIST_CLAIMS) == []


def test_a_page_size_above_100_is_refused_before_any_service(gateway: Gateway) -> None:
    response = gateway.client.get("/api/v1/dossiers/D1/claims?page_size=5000",
                                  headers=gateway.bearer())
    assert response.status_code == 422
    assert gateway.rpc.called(dossier.LIST_CLAIMS) == []


def test_a_detail_of_another_clients_dossier_is_not_found_without_asking_a_service(
    gateway: Gateway,
) -> None:
    for path in ("risk-objects/R1", "contracts/C1", "claims/S1", "invoices", "persons"):
        response = gateway.client.get(f"/api/v1/dossiers/D2/{path}",
                                      headers=gateway.bearer(dossiers=("D1",)))
        assert response.status_code == 404, path
    assert [m for m in gateway.rpc.methods if m.startswith("dossier.")] == []


def test_the_contract_detail_has_its_own_address(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.GET_CONTRACT, contract_detail)
    response = gateway.client.get("/api/v1/dossiers/D1/contracts/C-00417-AUTO",
                                  headers=gateway.bearer())
    assert response.status_code == 200
    assert response.json()["contract"]["policy_number"] == "AU-7712.345.219"
    [query] = gateway.rpc.called(dossier.GET_CONTRACT)
    assert isinstance(query, dossier.ObjectQuery) and query.object_id == "C-00417-AUTO"


def test_staff_upsert_a_record_and_read_the_report(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.UPSERT_DOSSIER, lambda request: dossier.ImportReport(
        dossier_id="D1", dossier="unchanged", unchanged=11))
    response = gateway.client.post(
        "/admin/api/v1/dossier-imports?remove_missing=true",
        json={"dossier_id": "D1", "invoices": []},
        headers=gateway.bearer(role=Role.ADMIN, dossiers=()))
    assert response.status_code == 200, response.text
    assert response.json()["unchanged"] == 11
    [request] = gateway.rpc.called(dossier.UPSERT_DOSSIER)
    assert isinstance(request, dossier.UpsertDossierRequest)
    assert request.remove_missing and request.record.invoices == []
    assert request.record.contracts is None  # left out: not touched
    # A big dossier takes minutes: the gateway waits for it longer than for a page.
    assert gateway.rpc.timeouts[dossier.UPSERT_DOSSIER.queue] == 110.0


def test_a_client_may_not_import(gateway: Gateway) -> None:
    response = gateway.client.post("/admin/api/v1/dossier-imports", json={"dossier_id": "D1"},
                                   headers=gateway.bearer())
    assert response.status_code == 403


def test_the_import_schema_is_published(gateway: Gateway) -> None:
    schema = gateway.client.get("/admin/api/v1/dossier-imports/schema",
                                headers=gateway.bearer(role=Role.AGENT, dossiers=()))
    assert schema.status_code == 200
    assert set(schema.json()["properties"]) >= {"dossier_id", "contracts", "claims"}
    sign_in_as_staff(gateway)  # the admin API's OpenAPI document is for staff only
    openapi = gateway.client.get("/admin/api-docs/openapi.json").json()
    assert "DossierRecord" in openapi["components"]["schemas"]
    assert "VehicleDetails" in openapi["components"]["schemas"]


def test_the_vehicle_page_shows_its_contracts_guarantees_claims_and_a_close_cross(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(dossier.GET_RISK_OBJECT, risk_detail)
    sign_in(gateway)
    page = gateway.client.get("/risks/R-00417-1")
    assert page.status_code == 200
    for shown in ("1-ABC-123", "WVWZZZCDZMW123456", "Volledige omnium", "Pechbijstand Benelux",
                  "Optie", "SCH-2024-018832", 'href="/claims/S-00417-1?dossier=D1"',
                  'href="/contracts/C-00417-AUTO?dossier=D1"', "Vervaldag 15 mrt 2026"):
        assert shown in page.text, shown
    assert 'class="close" href="/risks?dossier=D1"' in page.text


def test_the_contract_page_lists_guarantees_risk_objects_claims_and_invoices(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(dossier.GET_CONTRACT, contract_detail)
    sign_in(gateway)
    gateway.client.get("/lang/fr")
    page = gateway.client.get("/contracts/C-00417-AUTO")
    assert page.status_code == 200
    for shown in ("AU-7712.345.219", "Garanties", "Volledige omnium", "VF-2025-031177",
                  "Payée", 'href="/risks/R-00417-1?dossier=D1"',
                  'class="close" href="/contracts?dossier=D1"'):
        assert shown in page.text, shown


def test_the_claim_page_names_the_insurers_reference(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.GET_CLAIM, claim_detail)
    sign_in(gateway)
    gateway.client.get("/lang/en")
    page = gateway.client.get("/claims/S-00417-1")
    assert "AG-SIN-2024-5518772" in page.text and "In progress" in page.text
    assert "€1,843.50" in page.text


def test_my_invoices_show_the_open_amount_and_highlight_the_overdue(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.LIST_INVOICES, invoice_page)
    sign_in(gateway)
    page = gateway.client.get("/invoices?cursor=c2")
    assert page.status_code == 200
    assert "Openstaand bedrag" in page.text and "€\xa0487,20" in page.text
    assert "1 factuur vervallen" in page.text  # a real singular, not "factuur/facturen"
    assert page.text.count('class="row invoice overdue"') == 1
    assert "Pagina 2 van 3" in page.text
    links = "/invoices?sort=due_date&amp;order=asc"
    assert f'rel="first" href="{links}"' in page.text
    assert f'rel="prev" href="{links}&amp;cursor=c1"' in page.text
    assert f'rel="next" href="{links}&amp;cursor=c2"' not in page.text  # page 2 leads on to 3
    assert f'rel="next" href="{links}&amp;cursor=c3"' in page.text
    assert f'rel="last" href="{links}&amp;cursor=c3"' in page.text


def test_an_outdated_page_link_shows_the_first_page_with_a_notice(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.LIST_INVOICES, invoice_page)
    sign_in(gateway)
    page = gateway.client.get("/invoices?cursor=made-for-another-sort")
    assert page.status_code == 200
    assert "Die paginalink is niet meer geldig" in page.text
    assert "Pagina 1 van 3" in page.text and "VF-2025-031177" in page.text
    assert [query.cursor for query in gateway.rpc.called(dossier.LIST_INVOICES)
            if isinstance(query, dossier.ListQuery)] == ["made-for-another-sort", None]


def test_an_unknown_detail_is_a_readable_not_found_page(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.GET_CLAIM, NotFound("This item does not exist in the dossier."))
    sign_in(gateway)
    page = gateway.client.get("/claims/S-OTHER")
    assert page.status_code == 404 and "bestaat niet" in page.text


def test_the_welcome_page_shows_the_recent_requests_newest_first(gateway: Gateway) -> None:
    def sent(subject: str, day: int, status: str) -> requests.RequestSummary:
        return requests.RequestSummary(
            request_id=subject, dossier_id="D1", kind="message", subject=subject,
            status=status, sent_by="u1", sent_at=datetime(2026, 11, day, 9, 0, tzinfo=UTC))

    gateway.rpc.answer(requests.LIST_REQUESTS, requests.RequestList(requests=[
        sent("Vraag over de omnium", 3, "accepted"), sent("Nieuw adres", 20, "pending")]))
    sign_in(gateway)
    page = gateway.client.get("/")
    assert page.status_code == 200
    assert "Recente aanvragen" in page.text
    assert page.text.index("Nieuw adres") < page.text.index("Vraag over de omnium")
    assert "In afwachting" in page.text and "Aanvaard" in page.text


def test_each_detail_page_has_a_documents_button_for_its_context(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.GET_CONTRACT, contract_detail)
    gateway.rpc.answer(dossier.GET_CLAIM, claim_detail)
    sign_in(gateway)
    contract_page = gateway.client.get("/contracts/C-00417-AUTO")
    assert 'href="/documents?context=contract:C-00417-AUTO&amp;dossier=D1"' in contract_page.text
    assert "Documenten" in contract_page.text
    claim_page = gateway.client.get("/claims/S-00417-1")
    assert 'href="/documents?context=claim:S-00417-1&amp;dossier=D1"' in claim_page.text


def test_my_data_shows_each_persons_language_and_since_when_the_address_holds(
    gateway: Gateway,
) -> None:
    persons = dupont().persons
    gateway.rpc.answer(dossier.LIST_PERSONS, dossier.PersonList(dossier_id="D1", persons=persons))
    sign_in(gateway)
    gateway.client.get("/lang/fr")
    page = gateway.client.get("/my-data")
    assert page.status_code == 200
    assert "Nederlands" in page.text  # Pieter's language, as the office writes to him
    assert "Depuis le 15 juin 2019" in page.text  # his address holds since then


def test_a_building_shows_its_type_whether_it_is_owned_and_the_brokers_further_details(
    gateway: Gateway,
) -> None:
    def building(query: BaseModel) -> dossier.RiskObjectDetail:
        assert isinstance(query, dossier.ObjectQuery)
        return dossier.RiskObjectDetail(dossier_id=query.dossier_id,
                                        risk_object=dupont().risk_objects[1], covers=[],
                                        contracts=[], claims=[])

    gateway.rpc.answer(dossier.GET_RISK_OBJECT, building)
    sign_in(gateway)
    page = gateway.client.get("/risks/R-00417-2")
    assert page.status_code == 200
    for shown in ("Type gebouw", "Woning", "U bent", "Eigenaar", "Bouwjaar", "1932",
                  "Aantal hoofdvertrekken", "Evaluatierooster"):
        assert shown in page.text, shown
    assert "building_type" not in page.text  # shown once, translated, not as a raw field


def test_a_person_related_risk_names_the_insured_person_and_the_kind_of_cover(
    gateway: Gateway,
) -> None:
    pieter = dupont().persons[0]
    life = dossier.RiskObject(
        risk_object_id="R-LIFE", kind="person", description="Schuldsaldoverzekering",
        insured_person=dossier.InsuredPersonDetails(person_id=pieter.person_id, cover="life"))
    gateway.rpc.answer(dossier.GET_RISK_OBJECT, dossier.RiskObjectDetail(
        dossier_id="D1", risk_object=life, covers=[], contracts=[], claims=[],
        insured_person=pieter))
    sign_in(gateway)
    gateway.client.get("/lang/en")
    page = gateway.client.get("/risks/R-LIFE")
    assert "Insured person" in page.text and "Pieter Dupont" in page.text
    assert "Kind of cover" in page.text and "Life" in page.text


def test_an_invoice_shows_its_date_beside_its_due_date(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.LIST_INVOICES, invoice_page)
    sign_in(gateway)
    page = gateway.client.get("/invoices")
    assert "Gedateerd 13 feb 2025 · Te betalen op 15 mrt 2025" in page.text


def test_the_cross_returns_to_the_list_page_the_detail_was_opened_from(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(dossier.LIST_CLAIMS, lambda query: dossier.ClaimPage(
        dossier_id="D1", total=45, page=2, page_count=3, page_size=20, sort="status",
        descending=False, previous_cursor="c1", next_cursor="c3", last_cursor="c3",
        items=dupont().claims))
    gateway.rpc.answer(dossier.GET_CLAIM, claim_detail)
    sign_in(gateway)
    listed = gateway.client.get("/claims?sort=status&order=asc&cursor=c2")
    opened = "/claims/S-00417-1?back=/claims%3Fsort%3Dstatus%26order%3Dasc%26cursor%3Dc2"
    assert f'href="{opened}&amp;dossier=D1"' in listed.text
    detail = gateway.client.get(f"{opened}&dossier=D1")
    assert ('class="close" href="/claims?sort=status&amp;order=asc&amp;cursor=c2&amp;dossier=D1"'
            in detail.text)
    # A shared detail link closes to the list; a `back` elsewhere is not followed.
    for elsewhere in ("", "?back=https://evil.example/claims", "?back=/admin", "?back=//x"):
        page = gateway.client.get(f"/claims/S-00417-1{elsewhere}")
        assert 'class="close" href="/claims?dossier=D1"' in page.text, elsewhere


def contract_only_in(dossier_id: str) -> Any:
    """The dossier service's answer when the contract exists in `dossier_id` only."""
    def answer(query: BaseModel) -> dossier.ContractDetail:
        assert isinstance(query, dossier.ObjectQuery)
        if query.dossier_id != dossier_id:
            raise NotFound("This contract does not exist.")
        return contract_detail(query)
    return answer


def test_every_link_of_a_page_names_its_dossier(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.GET_CONTRACT, contract_detail)
    sign_in(gateway, dossiers=("D1", "D2"))
    page = gateway.client.get("/contracts/C-00417-AUTO")
    links = [link for link in re.findall(r'href="(/(?:risks|claims|contracts|documents)[^"]*)"',
                                         page.text)]
    assert links and all("dossier=D1" in link for link in links), links


def test_a_link_to_the_clients_other_dossier_opens_there_and_switches_to_it(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(dossier.GET_CONTRACT, contract_only_in("D2"))
    gateway.rpc.answer(dossier.LIST_CONTRACT_PAGE, sample_contract_page)
    sign_in(gateway, dossiers=("D1", "D2"))  # D1 is active

    page = gateway.client.get("/contracts/C-00417-AUTO?dossier=D2")

    assert page.status_code == 200
    assert "Autoverzekering Top Drive" in page.text
    gateway.client.get("/contracts")  # the pages that follow stay in D2
    [listed] = gateway.rpc.called(dossier.LIST_CONTRACT_PAGE)
    assert listed.dossier_id == "D2"  # type: ignore[attr-defined]


def test_an_address_saved_without_its_dossier_still_opens_in_the_clients_other_dossier(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(dossier.GET_CONTRACT, contract_only_in("D2"))
    sign_in(gateway, dossiers=("D1", "D2"))

    page = gateway.client.get("/contracts/C-00417-AUTO")

    assert page.status_code == 200
    assert 'href="/risks/R-00417-1?dossier=D2"' in page.text


def test_a_link_naming_a_dossier_the_client_may_not_see_is_not_found(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.GET_CONTRACT, contract_detail)
    sign_in(gateway, dossiers=("D1", "D2"))
    for address in ("/contracts/C-00417-AUTO?dossier=D3", "/contracts?dossier=D3",
                    "/documents?dossier=D3"):
        page = gateway.client.get(address)
        assert page.status_code == 404, address
    assert gateway.rpc.called(dossier.GET_CONTRACT) == []  # no service was asked
    gateway.rpc.answer(dossier.GET_CONTRACT, contract_only_in("D3"))
    assert gateway.client.get("/contracts/C-00417-AUTO").status_code == 404


def car_with_its_driver(query: BaseModel) -> dossier.RiskObjectDetail:
    detail = risk_detail(query)
    car = detail.risk_object.model_copy(update={
        "details": {**detail.risk_object.details, "roof_box": "yes", "tow_bar": "no"},
        "detail_labels": {"roof_box": "Dakkoffer"}})
    return detail.model_copy(update={"risk_object": car, "usual_driver": dupont().persons[0]})


def test_a_vehicles_fields_have_labels_units_and_the_drivers_name_in_every_language(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(dossier.GET_RISK_OBJECT, car_with_its_driver)
    sign_in(gateway)
    expected = {
        "nl": ("Brandstof", "Benzine", "Vermogen", "110\xa0kW", "Cataloguswaarde",
               "€\xa032.450,00", "Gewone bestuurder"),
        "fr": ("Carburant", "Essence", "Puissance", "110\xa0kW", "Valeur catalogue",
               "32\u202f450,00\xa0€", "Conducteur habituel"),
        "en": ("Fuel", "Petrol", "Power", "110\xa0kW", "Catalogue value", "€32,450.00",
               "Usual driver"),
    }
    for language, shown in expected.items():
        gateway.client.get(f"/lang/{language}")
        page = gateway.client.get("/risks/R-00417-1")
        assert page.status_code == 200
        for text in shown:
            assert text in page.text, (language, text)
        assert '<a href="/my-data?dossier=D1#person-P-00417-1">Pieter Dupont</a>' in page.text
        assert "Dakkoffer" in page.text  # the label the broker's import gave
        assert "Tow bar" in page.text  # no label given: the name made readable
        for raw in ("power_kw", "Power kw", "cents", "P-00417-1</", "usual_driver", "Fuel: "):
            assert raw not in page.text, (language, raw)


def test_co_users_of_a_dossier_see_who_sent_each_recent_request(gateway: Gateway) -> None:
    def sent(subject: str, user_id: str, name: str) -> requests.RequestSummary:
        return requests.RequestSummary(
            request_id=subject, dossier_id="D1", kind="message", subject=subject,
            status="pending", sent_by=user_id, sent_by_name=name,
            sent_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC))

    gateway.rpc.answer(requests.LIST_REQUESTS, requests.RequestList(requests=[
        sent("Nieuw adres", "u1", "An Peeters"), sent("Vraag over de omnium", "u2", "Luc Peeters"),
        sent("Oud bericht", "u3", "")]))
    sign_in(gateway)  # as An Peeters (u1)
    page = gateway.client.get("/")
    assert "Verzonden door u" in page.text
    assert "Verzonden door Luc Peeters" in page.text
    assert "Verzonden door een andere gebruiker van dit dossier" in page.text
