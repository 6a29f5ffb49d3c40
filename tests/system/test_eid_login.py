"""eID login end to end (manual 1.1, "Aanmelden met eID"), as the TLS proxy forwards the card:
an unknown card asks for an e-mail address, staff accept, the mail confirms, then the card logs
in and sees its dossier. Untrusted, expired and unproxied cards are refused with a clear problem.
"""

import random
from datetime import timedelta

import httpx
import pytest

from deploy.local.demo_eid import NOW, as_forwarded_header, citizen_certificate, eid_hierarchy
from deploy.local.maildir import wait_for_mail
from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT
from tests.system.stack import ClientLogin, SystemStack

pytestmark = pytest.mark.system


def national_number() -> str:
    """A valid, unused Belgian national register number (born 17 May 1990)."""
    first_nine = f"900517{random.randrange(1, 998):03d}"
    return first_nine + f"{97 - int(first_nine) % 97:02d}"


def from_proxy(stack: SystemStack, card_header: str) -> dict[str, str]:
    """The headers the TLS proxy sets after the browser showed the card."""
    return {"X-SSL-Client-Cert": card_header, "X-MyBroker-Proxy-Auth": stack.eid.proxy_secret}


def test_an_unknown_card_is_linked_by_the_broker_and_then_logs_in_to_its_dossier(
    system_stack: SystemStack, gateway: httpx.Client, staff_token: str,
    dupont_client: ClientLogin,
) -> None:
    card = as_forwarded_header(citizen_certificate(
        system_stack.eid.hierarchy.citizen_ca, national_number=national_number(),
        given_name="Pieter", surname="Dupont"))
    unknown = gateway.post("/api/v1/auth/eid/login", headers=from_proxy(system_stack, card))
    assert unknown.status_code == 200, unknown.text
    assert unknown.json()["tokens"] is None
    assert unknown.json()["display_name"] == "Pieter Dupont"
    asked = gateway.post("/api/v1/auth/eid/link", json={
        "link_token": unknown.json()["link_token"], "email": dupont_client.email})
    assert asked.status_code == 202, asked.text
    still_unknown = gateway.post("/api/v1/auth/eid/login", headers=from_proxy(system_stack, card))
    assert still_unknown.json()["tokens"] is None  # nothing logs in before the broker accepts

    staff = bearer(staff_token)
    waiting = gateway.get("/admin/api/v1/eid-links", headers=staff).json()["links"]
    [link] = [entry for entry in waiting if entry["email"] == dupont_client.email]
    assert link["display_name"] == "Pieter Dupont"
    addresses = gateway.get("/admin/api/v1/office", headers=staff).json()["addresses"]
    office = (addresses["registrations"] or addresses["general"]
              or system_stack.config.office_email)
    told = wait_for_mail(system_stack.maildir, office, containing="eID")  # the office hears it
    assert "Pieter Dupont" in told.subject and dupont_client.email in told.text
    assert f"{system_stack.gateway_url}/admin" in told.text
    accepted = gateway.post(f"/admin/api/v1/eid-links/{link['link_id']}/accept", headers=staff)
    assert accepted.status_code == 200, accepted.text

    mail = wait_for_mail(system_stack.maildir, dupont_client.email, containing="/eid")
    confirmation_link = f"{system_stack.gateway_url}/eid"
    assert confirmation_link in mail.text
    with httpx.Client(timeout=30.0) as browser:  # the link opens in a browser behind the proxy
        landed = browser.get(confirmation_link, headers=from_proxy(system_stack, card))
        assert landed.status_code == 303, landed.text
        assert landed.headers["location"] == "/"
        assert browser.cookies.get("mb_access")
        portal = browser.get(f"{system_stack.gateway_url}/", headers=from_proxy(
            system_stack, card))
        assert portal.status_code == 200
        assert "Pieter Dupont" in portal.text

    logged_in = gateway.post("/api/v1/auth/eid/login", headers=from_proxy(system_stack, card))
    assert logged_in.status_code == 200, logged_in.text
    access = bearer(logged_in.json()["tokens"]["access_token"])
    me = gateway.get("/api/v1/me", headers=access).json()
    assert me["email"] == dupont_client.email
    contracts = gateway.get(f"/api/v1/dossiers/{DUPONT}/contracts", headers=access)
    assert contracts.status_code == 200, contracts.text
    assert contracts.json()["contracts"], "the Dupont dossier's contracts are listed"


def test_a_card_of_an_untrusted_authority_is_refused_with_a_clear_problem(
    system_stack: SystemStack, gateway: httpx.Client,
) -> None:
    stranger = eid_hierarchy()  # a "Citizen CA" the office does not trust
    card = as_forwarded_header(citizen_certificate(stranger.citizen_ca,
                                                   national_number=national_number()))
    refused = gateway.post("/api/v1/auth/eid/login", headers=from_proxy(system_stack, card))
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail"] == (
        "This card was not issued by a recognised Belgian eID authority.")


def test_an_expired_card_is_refused_with_a_clear_problem(
    system_stack: SystemStack, gateway: httpx.Client,
) -> None:
    card = as_forwarded_header(citizen_certificate(
        system_stack.eid.hierarchy.citizen_ca, national_number=national_number(),
        not_before=NOW - timedelta(days=3650), not_after=NOW - timedelta(days=1)))
    refused = gateway.post("/api/v1/auth/eid/login", headers=from_proxy(system_stack, card))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "This eID card has expired or is not valid yet."


def test_a_certificate_without_the_proxy_secret_is_refused(
    system_stack: SystemStack, gateway: httpx.Client,
) -> None:
    card = as_forwarded_header(citizen_certificate(system_stack.eid.hierarchy.citizen_ca,
                                                   national_number=national_number()))
    for proof in ({}, {"X-MyBroker-Proxy-Auth": "a guessed secret"}):
        refused = gateway.post("/api/v1/auth/eid/login",
                               headers={"X-SSL-Client-Cert": card, **proof})
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            "A client certificate is only accepted from the trusted proxy.")
