"""A document goes only into a dossier that exists, on an object of that same dossier: the
documents service asks the dossier service before handing out an upload link."""

from collections.abc import AsyncIterator

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import documents
from libs.contracts.caller import Caller, Role
from libs.servicekit.errors import Invalid, NotFound, Unavailable
from services.documents.config import DocumentsSettings
from services.documents.main import DocumentsService, build
from services.documents.store import DOCUMENTS
from tests.service.conftest import call_in_memory
from tests.service.documents_support import (
    POLICY_PDF,
    STAFF,
    begin,
    bucket_fixture,  # noqa: F401 - the `bucket` fixture
)
from tests.service.dossier_stand_in import DossierStandIn

X, Y = "DOS-X", "DOS-Y"
CLIENT_OF_X = Caller(user_id="u-x", role=Role.CLIENT, dossier_ids=[X])
CLAIM_OF_Y = documents.DocumentContext(kind=documents.ContextKind.CLAIM, ref_id="S-Y-1")
CLAIM_OF_X = documents.DocumentContext(kind=documents.ContextKind.CLAIM, ref_id="S-X-1")


@pytest.fixture
def dossiers() -> DossierStandIn:
    return DossierStandIn(dossiers=[X, Y], objects=[
        (X, "claim", "S-X-1"), (X, "contract", "C-X-1"), (Y, "claim", "S-Y-1")])


@pytest.fixture
async def service(mongo_url: str, database_name: str, s3_settings: dict[str, str], bucket: str,
                  dossiers: DossierStandIn) -> AsyncIterator[DocumentsService]:
    built = build(DocumentsSettings(
        mongo_url=mongo_url, mongo_db=database_name, s3_endpoint=s3_settings["endpoint"],
        s3_access_key=s3_settings["access_key"], s3_secret_key=s3_settings["secret_key"],
        s3_bucket=bucket), rpc=dossiers)
    await built.store.ensure_indexes()
    await built.storage.ensure_bucket()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def stored(service: DocumentsService) -> int:
    return await service.runtime.database[DOCUMENTS].count_documents({})


async def test_a_client_cannot_attach_a_file_in_their_dossier_to_another_dossiers_claim(
    service: DocumentsService,
) -> None:
    with pytest.raises(Invalid) as refused:
        await begin(service, POLICY_PDF, caller=CLIENT_OF_X, dossier_id=X, context=CLAIM_OF_Y)
    assert refused.value.detail == "This dossier has no claim S-Y-1."
    assert refused.value.fields == {"context": "unknown: S-Y-1"}
    assert await stored(service) == 0  # nothing stored, no upload link handed out

    slot = await begin(service, POLICY_PDF, caller=CLIENT_OF_X, dossier_id=X, context=CLAIM_OF_X)
    assert slot.upload_url


async def test_staff_cannot_publish_into_a_dossier_that_does_not_exist(
    service: DocumentsService,
) -> None:
    with pytest.raises(NotFound):
        await begin(service, POLICY_PDF, caller=STAFF, dossier_id="DOS-GHOST")
    with pytest.raises(Invalid):
        await begin(service, POLICY_PDF, caller=STAFF, dossier_id=X,
                    context=documents.DocumentContext(kind=documents.ContextKind.CONTRACT,
                                                      ref_id="C-GHOST"))
    assert await stored(service) == 0


async def test_when_the_dossier_service_cannot_answer_no_upload_is_begun(
    service: DocumentsService, dossiers: DossierStandIn,
) -> None:
    dossiers.reachable = False
    with pytest.raises(Unavailable):
        await begin(service, POLICY_PDF, caller=CLIENT_OF_X, dossier_id=X, context=CLAIM_OF_X)
    assert await stored(service) == 0


@pytest.mark.parametrize("hostile", ["$where", "S\x001", "x" * 5000, "a:b"])
async def test_the_contract_refuses_a_hostile_context_id_before_any_lookup(
    service: DocumentsService, dossiers: DossierStandIn, hostile: str,
) -> None:
    context = documents.DocumentContext.model_construct(kind=documents.ContextKind.CLAIM,
                                                        ref_id=hostile)
    request = documents.BeginUploadRequest.model_construct(
        caller=CLIENT_OF_X, dossier_id=X, title="pv", filename="pv.pdf",
        content_type="application/pdf", size=len(POLICY_PDF), context=context)
    with pytest.raises(Invalid) as refused:
        await call_in_memory(service.runtime.broker, documents.BEGIN_UPLOAD, request)
    assert "context.ref_id" in (refused.value.fields or {})
    assert dossiers.asked == []
