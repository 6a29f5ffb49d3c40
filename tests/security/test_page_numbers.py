"""Huge page numbers, sizes and cursors (`GET /api/v1/dossiers/X/documents?page=
100000000000000000` was a 500, MongoDB's OverflowError on the skip, when that list still paged
by number): every page number, size and cursor a client sends is bounded in the contracts, so
an attacker's value is a 422, never a 500."""

import json
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from libs.contracts import account_lists, auth, documents, dossier, paging, requests, signing
from libs.contracts.caller import Role
from libs.contracts.errors import ErrorCode
from libs.contracts.rpc import RpcEnvelope, RpcMethod
from services.documents.main import DocumentsService
from tests.service.documents_support import (  # noqa: F401 - fixtures
    CLIENT,
    bucket_fixture,
    publish,
    published_batches_fixture,
    published_events_fixture,
    service_fixture,
)
from tests.service.gateway_support import Gateway, gateway_fixture  # noqa: F401 - fixture
from tests.service.test_gateway_pages import sign_in

HUGE = [10**17, 2**63, 10**40]
PAGED_FIELDS = {"page", "page_size", "limit"}


def request_models() -> list[type[BaseModel]]:
    """Every request model of an RPC of the contracts (what a gateway route fills in)."""
    found: dict[str, type[BaseModel]] = {}
    for module in (account_lists, auth, documents, dossier, requests, signing):
        for value in vars(module).values():
            if isinstance(value, RpcMethod):
                found[value.request.__name__] = value.request
    return list(found.values())


def test_every_page_number_and_size_of_every_request_contract_has_an_upper_bound() -> None:
    unbounded = [
        f"{model.__name__}.{name}" for model in request_models()
        for name, field in model.model_fields.items()
        if name in PAGED_FIELDS and int in (field.annotation, *get_args(field.annotation))
        and not any(getattr(rule, "le", None) is not None for rule in field.metadata)]
    assert unbounded == []
    assert {"ListDocumentsQuery.page_size", "ListQuery.page_size"} <= {
        f"{model.__name__}.{name}" for model in request_models() for name in model.model_fields}


def test_every_cursor_of_every_request_contract_has_an_upper_bound() -> None:
    unbounded = [
        f"{model.__name__}.{name}" for model in request_models()
        for name, field in model.model_fields.items()
        if name in {"cursor", "after"}
        and not any(getattr(rule, "max_length", None) is not None for rule in field.metadata)]
    assert unbounded == []


@pytest.mark.parametrize("path", ["/api/v1/dossiers/D1/documents",
                                  "/admin/api/v1/signature-requests"])
def test_a_huge_cursor_is_a_422_before_any_service(gateway: Gateway, path: str) -> None:
    calls = len(gateway.rpc.calls)
    headers = gateway.bearer(role=Role.AGENT) if path.startswith("/admin") else gateway.bearer()
    answer = gateway.client.get(path, params={"cursor": "A" * (paging.MAX_CURSOR + 1)},
                                headers=headers)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert "query.cursor" in answer.json()["errors"]
    assert documents.LIST_DOCUMENTS.queue not in gateway.rpc.methods[calls:]
    assert signing.LIST_SIGNATURE_REQUESTS.queue not in gateway.rpc.methods[calls:]


@pytest.mark.parametrize(("path", "name"), [
    ("/api/v1/dossiers/D1/documents", "page_size"),
    ("/api/v1/dossiers/D1/contract-pages", "page_size"),
    ("/api/v1/dossiers/D1/claims", "page_size"),
    ("/admin/api/v1/accounts", "limit"), ("/admin/api/v1/invitations", "limit"),
])
def test_a_huge_page_size_is_a_422(gateway: Gateway, path: str, name: str) -> None:
    headers = gateway.bearer(role=Role.AGENT) if path.startswith("/admin") else gateway.bearer()
    for size in HUGE:
        answer = gateway.client.get(path, params={name: str(size)}, headers=headers)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"


def test_a_page_number_of_an_old_documents_link_shows_the_first_page(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(documents.LIST_DOCUMENTS, documents.DocumentList(documents=[], total=0))
    sign_in(gateway)
    page = gateway.client.get("/documents", params={"page": str(10**40)})
    assert page.status_code == 200
    [query] = gateway.rpc.called(documents.LIST_DOCUMENTS)
    assert isinstance(query, documents.ListDocumentsQuery)
    assert query.cursor is None


@pytest.mark.parametrize("page_size", HUGE)
async def test_the_documents_service_answers_a_huge_page_size_as_invalid_not_a_failure(
    service: DocumentsService, page_size: int,
) -> None:
    """A caller that skips the gateway (another service, a replayed message) gets INVALID."""
    await publish(service)
    body: dict[str, Any] = {"caller": CLIENT.model_dump(mode="json"), "dossier_id": "D1",
                            "page_size": page_size}
    response = await service.runtime.broker.request(body, queue=documents.LIST_DOCUMENTS.queue)
    decoded: Any = await response.decode()
    envelope = RpcEnvelope.model_validate(
        decoded if isinstance(decoded, dict) else json.loads(decoded))
    assert envelope.error is not None and envelope.error.code == ErrorCode.INVALID
    assert "page_size" in (envelope.error.fields or {})
