"""The request forms' pages on the whole stack, as a browser without JavaScript uses them
(manual 4.1-4.4): each form prefilled as the office holds the data, a refused field shown
beside it with everything typed kept, the confirmation, and the request pending in the
client's requests (JSON API)."""

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT
from tests.system.stack import ClientLogin, SystemStack

pytestmark = pytest.mark.system

CONFIRMATION = "Uw aanvraag werd verzonden en is in afwachting bij uw makelaar."


class Browser:
    """A browser without JavaScript: cookies, CSRF field, plain form posts."""

    def __init__(self, stack: SystemStack, login: ClientLogin) -> None:
        self.client = httpx.Client(base_url=stack.gateway_url, timeout=30.0)
        self.login = login
        self.client.get("/login")
        signed_in = self.client.post("/login", data={
            "email": login.email, "password": login.password, "next": "/",
            "csrf_token": self.csrf})
        assert signed_in.status_code == 303, signed_in.text

    @property
    def csrf(self) -> str:
        return str(self.client.cookies["mb_csrf"])

    def page(self, path: str) -> httpx.Response:
        answer = self.client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer

    def post(self, path: str, data: dict[str, Any],
             files: list[tuple[str, tuple[str, bytes, str]]] | None = None) -> httpx.Response:
        return self.client.post(path, data={**data, "csrf_token": self.csrf}, files=files)


@pytest.fixture
def browser(system_stack: SystemStack, dupont_client: ClientLogin) -> Iterator[Browser]:
    opened = Browser(system_stack, dupont_client)
    yield opened
    opened.client.close()


def requests_of(gateway: httpx.Client, login: ClientLogin) -> list[dict[str, Any]]:
    """The dossier's requests as the JSON API lists them."""
    listed = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests",
                         headers=bearer(login.log_in(gateway)))
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()["requests"]
    return found


def value_of(html: str, name: str) -> str:
    found = re.search(r'<input id="' + re.escape(name) + r'"[^>]* value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def key_of(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def sent_to_confirmation(browser: Browser, answer: httpx.Response, kind: str) -> None:
    assert answer.status_code == 303, answer.text[-2000:]
    assert answer.headers["location"] == f"/forms/sent?kind={kind}&dossier={DUPONT}"
    confirmation = browser.page(answer.headers["location"])
    assert CONFIRMATION in confirmation.text
    assert f'href="/requests?dossier={DUPONT}"' in confirmation.text


def test_changing_personal_data_from_my_data(
    browser: Browser, gateway: httpx.Client, dupont_client: ClientLogin
) -> None:
    my_data = browser.page("/my-data")
    assert f'href="/forms/personal-data/P-00417-1?dossier={DUPONT}"' in my_data.text
    form = browser.page(f"/forms/personal-data/P-00417-1?dossier={DUPONT}")
    assert value_of(form.text, "last_name") == "Dupont"
    assert value_of(form.text, "phone") == "+32 475 12 34 56"
    typed = {"idempotency_key": key_of(form.text), "last_name": "Dupont",
             "first_name": "Pieter", "birth_date": "1981-04-12", "national_number": "12345",
             "language": "nl", "email": "pieter.dupont@example.be", "phone": "+32 470 00 11 22"}
    refused = browser.post(f"/forms/personal-data/P-00417-1?dossier={DUPONT}", typed)
    assert refused.status_code == 422
    assert 'id="national_number-error"' in refused.text
    assert value_of(refused.text, "phone") == "+32 470 00 11 22", "what was typed is kept"
    before = len(requests_of(gateway, dupont_client))
    answer = browser.post(f"/forms/personal-data/P-00417-1?dossier={DUPONT}",
                          {**typed, "national_number": "81.04.12-153.52"})
    sent_to_confirmation(browser, answer, "personal_data")
    listed = requests_of(gateway, dupont_client)
    assert len(listed) == before + 1
    newest = max(listed, key=lambda request: request["sent_at"])
    assert (newest["kind"], newest["status"]) == ("personal_data", "pending")


def test_changing_the_address_with_the_municipality_of_the_postal_code(
    browser: Browser, gateway: httpx.Client, dupont_client: ClientLogin
) -> None:
    options = browser.page("/forms/municipalities?postal_code=8500")
    assert '<option value="Kortrijk">' in options.text
    form = browser.page(f"/forms/address?dossier={DUPONT}")
    assert 'value="P-00417-3" checked' in form.text
    typed = {"idempotency_key": key_of(form.text), "start_date": "2027-01-01",
             "postal_code": "8500", "municipality": "Gent", "street": "Grote Markt",
             "number": "1", "box": "", "person_ids": ["P-00417-1", "P-00417-2"]}
    refused = browser.post(f"/forms/address?dossier={DUPONT}", typed)
    assert refused.status_code == 422
    assert 'id="municipality-error"' in refused.text
    assert value_of(refused.text, "street") == "Grote Markt"
    assert 'value="P-00417-3" checked' not in refused.text, "the unticked member stays so"
    answer = browser.post(f"/forms/address?dossier={DUPONT}", {**typed, "municipality": "Kortrijk"})
    sent_to_confirmation(browser, answer, "address")
    kinds = [(r["kind"], r["status"]) for r in requests_of(gateway, dupont_client)]
    assert ("address", "pending") in kinds


def test_adding_a_family_member(
    browser: Browser, gateway: httpx.Client, dupont_client: ClientLogin
) -> None:
    form = browser.page(f"/forms/family-member?dossier={DUPONT}")
    typed = {"idempotency_key": key_of(form.text), "member_kind": "child",
             "last_name": "Dupont", "first_name": "Emma", "birth_date": "2099-01-01"}
    refused = browser.post(f"/forms/family-member?dossier={DUPONT}", typed)
    assert refused.status_code == 422
    assert 'id="birth_date-error"' in refused.text
    assert value_of(refused.text, "first_name") == "Emma"
    answer = browser.post(f"/forms/family-member?dossier={DUPONT}",
                          {**typed, "birth_date": "2025-11-02"})
    sent_to_confirmation(browser, answer, "family_member")
    kinds = [(r["kind"], r["status"]) for r in requests_of(gateway, dupont_client)]
    assert ("family_member", "pending") in kinds


def claim_fields(key: str) -> dict[str, Any]:
    return {"idempotency_key": key, "general.email": "pieter.dupont@example.be",
            "risk_object_id": ["R-00417-1", ""], "loss_date": "2026-01-10",
            "loss_time": "08:15", "description": "Aanrijding op de parking van het station",
            "vat_liable": "no", "police_report_number": "GE.55.L1.000123/2026",
            "attachment_description": ["Foto van de schade", "Proces-verbaal", ""]}


def test_declaring_a_claim_from_a_contract_with_documents_once_whatever_the_retries(
    browser: Browser, gateway: httpx.Client, dupont_client: ClientLogin
) -> None:
    contract = browser.page(f"/contracts/C-00417-AUTO?dossier={DUPONT}")
    claim_path = f"/forms/claim/contracts/C-00417-AUTO?dossier={DUPONT}"
    assert f'href="{claim_path}"' in contract.text
    form = browser.page(claim_path)
    assert re.search(r'id="general.last_name"[^>]*value="Dupont"[^>]* readonly', form.text)
    assert '<option value="R-00417-1" selected>' in form.text, "the contract's one risk object"
    assert "R-00417-2" not in form.text, "only the contract's risk objects are offered"
    key = key_of(form.text)
    photo = b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 1000
    files = [("attachment", ("schade.jpg", photo, "image/jpeg")),
             ("attachment", ("pv.txt", b"Proces-verbaal GE.55.L1.000123/2026\n", "text/plain")),
             ("attachment", ("", b"", "application/octet-stream"))]
    future = browser.post(claim_path, {**claim_fields(key), "loss_date": "2099-01-01"}, files)
    assert future.status_code == 422
    assert 'id="loss_date-error"' in future.text
    assert "Aanrijding op de parking van het station" in future.text
    before = len(requests_of(gateway, dupont_client))
    answer = browser.post(claim_path, claim_fields(key), files)
    sent_to_confirmation(browser, answer, "claim")
    again = browser.post(claim_path, claim_fields(key), files)  # a double click, a retry
    assert again.status_code == 303
    listed = requests_of(gateway, dupont_client)
    assert len(listed) == before + 1, "one request whatever the retries"
    claim = max(listed, key=lambda request: request["sent_at"])
    assert (claim["kind"], claim["status"]) == ("claim", "pending")
    attached = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents",
                           params={"context": f"request:{claim['request_id']}"},
                           headers=bearer(dupont_client.log_in(gateway)))
    assert attached.status_code == 200, attached.text
    titles = {document["title"] for document in attached.json()["documents"]}
    assert {"Foto van de schade", "Proces-verbaal"} <= titles


def test_a_file_over_two_megabytes_never_loses_the_rest_of_the_claim(
    browser: Browser, gateway: httpx.Client, dupont_client: ClientLogin
) -> None:
    claim_path = f"/forms/claim/risk-objects/R-00417-1?dossier={DUPONT}"
    form = browser.page(claim_path)
    assert '<option value="R-00417-1" selected>' in form.text
    before = len(requests_of(gateway, dupont_client))
    refused = browser.post(claim_path, claim_fields(key_of(form.text)), [
        ("attachment", ("video.mp4", b"\0" * (2 * 1024 * 1024 + 10), "video/mp4"))])
    assert refused.status_code == 422
    assert "video.mp4 werd niet toegevoegd" in refused.text
    assert "Aanrijding op de parking van het station" in refused.text
    assert value_of(refused.text, "police_report_number") == "GE.55.L1.000123/2026"
    assert len(requests_of(gateway, dupont_client)) == before


def test_a_draft_saved_on_one_device_is_offered_on_another_and_gone_once_sent(
    system_stack: SystemStack, browser: Browser, dupont_client: ClientLogin
) -> None:
    saved = browser.client.post(f"/forms/draft?dossier={DUPONT}",
                                headers={"X-CSRF-Token": browser.csrf},
                                data={"kind": "family_member", "about": "",
                                      "first_name": "Noor", "member_kind": "other_family"})
    assert saved.status_code == 204, saved.text
    phone = Browser(system_stack, dupont_client)  # the same client on another device
    try:
        offered = phone.page(f"/forms/family-member?dossier={DUPONT}")
        assert "Concept hervatten" in offered.text
        resumed = phone.page(f"/forms/family-member?dossier={DUPONT}&draft=resume")
        assert value_of(resumed.text, "first_name") == "Noor"
        answer = phone.post(f"/forms/family-member?dossier={DUPONT}", {
            "idempotency_key": key_of(resumed.text), "member_kind": "other_family",
            "last_name": "Dupont", "first_name": "Noor", "birth_date": "1950-05-05"})
        assert answer.status_code == 303
        assert "Concept hervatten" not in browser.page(
            f"/forms/family-member?dossier={DUPONT}").text
    finally:
        phone.client.close()
