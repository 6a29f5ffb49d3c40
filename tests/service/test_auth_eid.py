"""Log in with eID (manual 1.1): a linked card logs in; an unknown card asks for a link, staff
accept it, and from then on the card logs in."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from faststream.rabbit import TestRabbitBroker
from structlog.testing import capture_logs

from libs.contracts import auth
from libs.servicekit.errors import Conflict, Gone, Unauthenticated, Unavailable
from libs.servicekit.outbox import OUTBOX_FIELD
from services.auth.eid.domain import UNTRUSTED
from services.auth.eid.store import EID_LINKS
from services.auth.main import AuthService, build
from tests.eid_test_ca import as_forwarded_header, citizen_certificate, eid_hierarchy
from tests.service.conftest import call_in_memory, settings
from tests.service.dossier_stand_in import DossierStandIn
from tests.service.test_auth import ADMIN, AGENT, activate, claims_of, invite

HIERARCHY = eid_hierarchy()
EMAIL = "lotte.maes@example.be"
ORIGIN = auth.StaffOrigin(client_ip="192.0.2.10", user_agent="Firefox/140")


@pytest.fixture
async def service(
    mongo_url: str, database_name: str, tmp_path: Path
) -> AsyncIterator[AuthService]:
    bundle = tmp_path / "eid-trust.pem"
    bundle.write_bytes(HIERARCHY.bundle_pem)
    built = build(settings(mongo_url, database_name, eid_trust_bundle_path=str(bundle)),
                  rpc=DossierStandIn())
    await built.prepare_database()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def call(service: AuthService, method: Any, request: Any) -> Any:
    return await call_in_memory(service.runtime.broker, method, request)


async def present_card(service: AuthService, **card: Any) -> auth.EidLoginReply:
    header = as_forwarded_header(citizen_certificate(HIERARCHY.citizen_ca, **card))
    reply: auth.EidLoginReply = await call(service, auth.EID_LOG_IN, auth.EidLoginRequest(
        certificate_pem=header, client_ip="198.51.100.7"))
    return reply


async def test_an_unknown_card_is_linked_by_staff_and_then_logs_in(service: AuthService) -> None:
    invitation, token = await invite(service, email=EMAIL)
    await activate(service, token)

    first = await present_card(service)
    assert first.tokens is None and first.link_token
    assert first.display_name == "Lotte Anna Maes"
    await call(service, auth.REQUEST_EID_LINK, auth.EidLinkRequest(
        link_token=first.link_token, email=EMAIL))
    [link] = (await call(service, auth.LIST_EID_LINKS,
                         auth.ListEidLinksRequest(caller=AGENT))).links
    assert (link.email, link.national_number, link.status) == (EMAIL, "85073003328", "requested")
    requested = await service.runtime.database[EID_LINKS].find_one({"_id": link.link_id})
    assert requested is not None
    [told] = requested[OUTBOX_FIELD].values()  # in the same write: the office is told
    assert told["routing_key"] == auth.EidLinkRequested.routing_key
    assert told["payload"]["email"] == EMAIL
    assert told["payload"]["display_name"] == "Lotte Anna Maes"
    assert "85073003328" not in str(told["payload"])  # never the card's national number

    accepted = await call(service, auth.ACCEPT_EID_LINK, auth.AcceptEidLinkRequest(
        caller=AGENT, link_id=link.link_id, origin=ORIGIN))
    assert (accepted.status, accepted.user_id) == ("accepted", invitation.user_id)
    doc = await service.runtime.database[EID_LINKS].find_one({"_id": link.link_id})
    assert doc is not None
    assert auth.EidLinked.routing_key in {  # the confirmation mail
        event["routing_key"] for event in doc[OUTBOX_FIELD].values()}

    again = await present_card(service)
    assert again.tokens is not None
    assert claims_of(service, again.tokens).sub == invitation.user_id
    audit = await call(service, auth.LIST_AUDIT, auth.AuditQuery(caller=ADMIN))
    assert audit.entries[0].action == "eid.link.accept"


async def test_a_card_of_another_hierarchy_does_not_log_in(service: AuthService) -> None:
    stranger = eid_hierarchy()
    header = as_forwarded_header(citizen_certificate(stranger.citizen_ca))
    with pytest.raises(Unauthenticated) as refused:
        await call(service, auth.EID_LOG_IN, auth.EidLoginRequest(certificate_pem=header))
    assert refused.value.detail == UNTRUSTED
    assert refused.value.fields == {auth.EID_REFUSAL_FIELD: auth.EidRefusal.UNTRUSTED.value}


async def test_a_link_token_is_used_once(service: AuthService) -> None:
    reply = await present_card(service)
    assert reply.link_token is not None
    request = auth.EidLinkRequest(link_token=reply.link_token, email=EMAIL)
    await call(service, auth.REQUEST_EID_LINK, request)
    with pytest.raises(Gone):
        await call(service, auth.REQUEST_EID_LINK, request)


async def test_a_link_to_an_address_without_an_active_account_cannot_be_accepted(
    service: AuthService,
) -> None:
    reply = await present_card(service)
    assert reply.link_token is not None
    await call(service, auth.REQUEST_EID_LINK, auth.EidLinkRequest(
        link_token=reply.link_token, email="nobody@example.be"))
    [link] = (await call(service, auth.LIST_EID_LINKS,
                         auth.ListEidLinksRequest(caller=AGENT))).links
    with pytest.raises(Conflict):
        await call(service, auth.ACCEPT_EID_LINK, auth.AcceptEidLinkRequest(
            caller=AGENT, link_id=link.link_id))


async def test_staff_refuse_a_link_with_a_reason_and_the_card_still_does_not_log_in(
    service: AuthService,
) -> None:
    reply = await present_card(service)
    assert reply.link_token is not None
    await call(service, auth.REQUEST_EID_LINK, auth.EidLinkRequest(
        link_token=reply.link_token, email=EMAIL))
    [link] = (await call(service, auth.LIST_EID_LINKS,
                         auth.ListEidLinksRequest(caller=AGENT))).links
    refused = await call(service, auth.REFUSE_EID_LINK, auth.RefuseEidLinkRequest(
        caller=AGENT, link_id=link.link_id, reason="Dit adres kennen we niet.", origin=ORIGIN))
    assert refused.status == "refused"
    doc = await service.runtime.database[EID_LINKS].find_one({"_id": link.link_id})
    assert doc is not None
    assert auth.EidLinkRefused.routing_key in {  # the refusal mail
        event["routing_key"] for event in doc[OUTBOX_FIELD].values()}
    assert (await call(service, auth.LIST_EID_LINKS,
                       auth.ListEidLinksRequest(caller=AGENT))).links == []
    with pytest.raises(Conflict):
        await call(service, auth.ACCEPT_EID_LINK, auth.AcceptEidLinkRequest(
            caller=AGENT, link_id=link.link_id))
    assert (await present_card(service)).tokens is None
    audit = await call(service, auth.LIST_AUDIT, auth.AuditQuery(caller=ADMIN))
    assert audit.entries[0].action == "eid.link.refuse"


async def test_without_its_trust_bundle_auth_starts_with_eid_login_off(
    mongo_url: str, database_name: str, tmp_path: Path
) -> None:
    """Kubernetes mounts the optional Secret mybroker-eid-ca only when it exists: the path is
    configured, the file is not there. auth starts, says so, and answers that eID is off."""
    absent = tmp_path / "eid-trust" / "ca.crt"
    with capture_logs() as logs:
        built = build(settings(mongo_url, database_name, eid_trust_bundle_path=str(absent)),
                      rpc=DossierStandIn())
    assert any(entry["event"].startswith("eID login disabled") and entry["path"] == str(absent)
               for entry in logs)
    await built.prepare_database()
    async with TestRabbitBroker(built.runtime.broker):
        for certificate in (as_forwarded_header(citizen_certificate(HIERARCHY.citizen_ca)), ""):
            with pytest.raises(Unavailable, match="not available"):
                await call(built, auth.EID_LOG_IN, auth.EidLoginRequest(
                    certificate_pem=certificate, client_ip="198.51.100.7"))
    await built.runtime.database.client.drop_database(database_name)


async def test_with_eid_on_a_visit_without_a_card_is_told_apart(service: AuthService) -> None:
    with pytest.raises(Unauthenticated, match="No eID card"):
        await call(service, auth.EID_LOG_IN, auth.EidLoginRequest(certificate_pem=""))
