"""The signing service answers "documents to sign" for the dossiers a caller may see."""

from collections.abc import AsyncIterator

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import signing
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import NotFound
from services.signing.config import SigningSettings
from services.signing.main import SigningService, build
from services.signing.store import SIGNATURE_REQUESTS
from tests.service.conftest import call_in_memory

CLIENT = Caller(user_id="u1", role=Role.CLIENT, dossier_ids=["D1"])


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[SigningService]:
    built = build(SigningSettings(mongo_url=mongo_url, mongo_db=database_name))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def test_a_dossier_without_signature_requests_has_nothing_to_sign(
    service: SigningService,
) -> None:
    query = signing.DocumentsToSignQuery(caller=CLIENT, dossier_id="D1")
    reply = await call_in_memory(service.runtime.broker, signing.LIST_DOCUMENTS_TO_SIGN, query)
    assert reply.documents == []


async def test_open_signature_requests_are_listed_for_the_dossier(service: SigningService) -> None:
    await service.runtime.database[SIGNATURE_REQUESTS].insert_many([
        {"_id": "s1", "dossier_id": "D1", "document_id": "doc1", "title": "Klantenfiche",
         "status": "awaiting_client", "requested_at": utc_now()},
        {"_id": "s2", "dossier_id": "D1", "document_id": "doc2", "title": "Old",
         "status": "signed", "requested_at": utc_now()},
        {"_id": "s3", "dossier_id": "D2", "document_id": "doc3", "title": "Other dossier",
         "status": "awaiting_client", "requested_at": utc_now()},
    ])
    query = signing.DocumentsToSignQuery(caller=CLIENT, dossier_id="D1")
    reply = await call_in_memory(service.runtime.broker, signing.LIST_DOCUMENTS_TO_SIGN, query)
    assert [d.title for d in reply.documents] == ["Klantenfiche"]


async def test_another_clients_dossier_is_not_found(service: SigningService) -> None:
    query = signing.DocumentsToSignQuery(caller=CLIENT, dossier_id="D2")
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, signing.LIST_DOCUMENTS_TO_SIGN, query)
