"""Ids and references through the whole product, every process running: a dossier taken away
stops working within moments, nobody is granted or sent into a dossier that does not exist, no
file hangs on another dossier's claim, and only staff get dossier numbers suggested."""

import time
import uuid

import httpx
import pytest

from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT, PEETERS
from tests.system.stack import ClientLogin, SystemStack, new_client, staff_log_in

pytestmark = pytest.mark.system

PROBLEM_JSON = "application/problem+json"
PEETERS_POLICY = "BR-4410.778.02"
DUPONT_POLICY = "AU-7712.345.219"


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, object] = response.json()
    return problem


def test_a_dossier_taken_away_stops_working_within_two_seconds_for_the_api_and_the_pages(
    system_stack: SystemStack, gateway: httpx.Client, office_dossiers: tuple[str, str],
) -> None:
    client = new_client(system_stack, gateway, "Eva Beide", [DUPONT, PEETERS])
    token = client.log_in(gateway)
    api = bearer(token)
    user_id = gateway.get("/api/v1/me", headers=api).json()["user_id"]
    page_cookies = {"Cookie": f"mb_access={token}; mb_dossier={PEETERS}"}
    assert gateway.get(f"/api/v1/dossiers/{PEETERS}/contract-pages", headers=api
                       ).status_code == 200
    assert PEETERS_POLICY in gateway.get("/contracts", headers=page_cookies).text

    staff = bearer(staff_log_in(system_stack, gateway))
    taken = gateway.delete(f"/admin/api/v1/dossiers/{PEETERS}/grants/{user_id}", headers=staff)
    assert taken.status_code == 200, taken.text
    started = time.monotonic()
    while gateway.get(f"/api/v1/dossiers/{PEETERS}/contract-pages", headers=api
                      ).status_code != 404:
        assert time.monotonic() - started < 2.0, "the same token still reads the dossier"
        time.sleep(0.05)

    page = gateway.get("/contracts", headers=page_cookies)  # the same access token
    assert page.status_code == 200
    assert PEETERS_POLICY not in page.text and DUPONT_POLICY in page.text
    assert gateway.get(f"/api/v1/dossiers/{DUPONT}/contract-pages", headers=api
                       ).status_code == 200


def test_nobody_is_invited_granted_or_sent_documents_into_a_dossier_that_does_not_exist(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
) -> None:
    staff = bearer(staff_log_in(system_stack, gateway))
    invited = gateway.post("/admin/api/v1/invitations", headers=staff, json={
        "email": f"ghost.{uuid.uuid4().hex[:6]}@example.com", "display_name": "Ghost",
        "dossier_ids": [DUPONT, "DOS-DOES-NOT-EXIST"]})
    assert _problem(invited, 422)["errors"] == {"dossier_ids": "unknown: DOS-DOES-NOT-EXIST"}

    user_id = gateway.get("/api/v1/me", headers=bearer(dupont_client.log_in(gateway))
                          ).json()["user_id"]
    granted = gateway.put(f"/admin/api/v1/dossiers/DOS-DOES-NOT-EXIST/grants/{user_id}",
                          headers=staff)
    assert _problem(granted, 422)["errors"] == {"dossier_id": "unknown: DOS-DOES-NOT-EXIST"}

    for address in ("/admin/api/v1/dossiers/DOS-DOES-NOT-EXIST/documents/batch",
                    "/admin/api/v1/dossiers/DOS-DOES-NOT-EXIST/documents"):
        published = gateway.post(address, headers=staff, data={"title": "Polis"},
                                 files={"file": ("polis.txt", b"Polis\n", "text/plain")})
        _problem(published, 404)


def test_a_client_cannot_attach_a_file_to_a_claim_of_another_dossier(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
) -> None:
    other = f"DOS-EDGE-{uuid.uuid4().hex[:6]}"
    staff = bearer(staff_log_in(system_stack, gateway))
    imported = gateway.post("/admin/api/v1/dossiers", headers=staff, json={
        "dossier_id": other, "name": "Elders",
        "persons": [{"person_id": "P-E-1", "role": "policyholder", "last_name": "Elders",
                     "first_name": "Eva"}],
        "contracts": [{
            "contract_id": "C-E-1", "policy_number": "E-1", "insurer": "AG", "product": "Auto",
            "start_date": "2024-01-01", "annual_premium_cents": 10000}],
        "claims": [{"claim_id": "S-E-1", "claim_number": "SE1", "contract_id": "C-E-1",
                    "occurred_on": "2024-05-01", "description": "Aanrijding"}]})
    assert imported.status_code == 201, imported.text
    client = bearer(dupont_client.log_in(gateway))

    refused = gateway.post(f"/api/v1/dossiers/{DUPONT}/documents", headers=client,
                           data={"context": "claim:S-E-1"},
                           files={"file": ("pv.txt", b"PV\n", "text/plain")})
    problem = _problem(refused, 422)
    assert problem["detail"] == "This dossier has no claim S-E-1."
    listed = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents?context=claim:S-E-1",
                         headers=client).json()
    assert listed["documents"] == []  # nothing was stored

    accepted = gateway.post(f"/api/v1/dossiers/{DUPONT}/documents", headers=client,
                            data={"context": "claim:S-00417-1"},
                            files={"file": ("pv.txt", b"PV\n", "text/plain")})
    assert accepted.status_code == 201, accepted.text


def test_a_hostile_id_is_refused_at_the_edge(
    gateway: httpx.Client, dupont_client: ClientLogin,
) -> None:
    client = bearer(dupont_client.log_in(gateway))
    for hostile in ("%24where", "D%001", "x" * 5000):
        _problem(gateway.get(f"/api/v1/dossiers/{hostile}/contract-pages", headers=client), 422)
        _problem(gateway.get(f"/api/v1/dossiers/{DUPONT}/claims/{hostile}", headers=client),
                 422)


def test_only_staff_get_dossier_numbers_suggested(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
    office_dossiers: tuple[str, str],
) -> None:
    staff = bearer(staff_log_in(system_stack, gateway))
    found = gateway.get("/admin/api/v1/dossiers", params={"q": "dos-20"}, headers=staff)
    assert found.status_code == 200, found.text
    numbers = [summary["dossier_id"] for summary in found.json()["dossiers"]]
    assert DUPONT in numbers and PEETERS in numbers
    by_name = gateway.get("/admin/api/v1/dossiers", params={"q": "peeters"}, headers=staff)
    named = [summary["dossier_id"] for summary in by_name.json()["dossiers"]]
    assert PEETERS in named and DUPONT not in named  # other tests may name dossiers Peeters too

    client = bearer(dupont_client.log_in(gateway))
    _problem(gateway.get("/admin/api/v1/dossiers", params={"q": "DOS"}, headers=client), 403)
    page = gateway.get("/admin/dossier-suggestions", params={"dossier_ids": "DOS"},
                       headers={"Cookie": f"mb_access={dupont_client.log_in(gateway)}"})
    assert page.status_code == 403
    assert PEETERS not in page.text
