"""Dossier reads through the gateway's read model (gateway/read_model.py): a second identical
read of an unchanged dossier costs no RPC, `If-None-Match` with the answer's ETag gets 304, a
change of the dossier (or an import through this gateway) is read anew at once, and nothing is
answered before the caller is authorized for the dossier."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.read_model import DossierVersions, ReadModel
from libs.contracts import dossier
from libs.contracts.caller import Role
from tests.service.gateway_support import Gateway, household_rpc, run_gateway, sample_contracts
from tests.service.test_gateway_pages import sign_in

CONTRACTS = "/api/v1/dossiers/D1/contracts"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    """The gateway on fake services, its read model synchronised as if its listener consumed."""
    for running in run_gateway(tmp_path, household_rpc()):
        yield with_synchronised_read_model(running)


def with_synchronised_read_model(running: Gateway) -> Gateway:
    """`running` with a read model that takes changes at once, as if its listener consumed."""
    state = running.client.app.state.gateway  # type: ignore[attr-defined]
    state.read_model = ReadModel(DossierVersions(settle_seconds=0.0))
    state.read_model.versions.synchronise()
    return running


def versions(gateway: Gateway) -> DossierVersions:
    model: ReadModel = gateway.client.app.state.gateway.read_model  # type: ignore[attr-defined]
    return model.versions


def test_a_second_read_of_an_unchanged_dossier_costs_no_rpc(gateway: Gateway) -> None:
    first = gateway.client.get(CONTRACTS, headers=gateway.bearer())
    second = gateway.client.get(CONTRACTS, headers=gateway.bearer(user_id="u2", dossiers=("D1",)))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == sample_contracts().model_dump(mode="json")
    assert first.headers["etag"] == second.headers["etag"]
    assert first.headers["cache-control"] == "no-store"  # still kept by no browser or proxy
    assert len(gateway.rpc.called(dossier.LIST_CONTRACTS)) == 1


def test_the_etag_answers_304_until_the_dossier_changes(gateway: Gateway) -> None:
    first = gateway.client.get(CONTRACTS, headers=gateway.bearer())
    tag = first.headers["etag"]
    gateway.rpc.calls.clear()
    same = gateway.client.get(CONTRACTS, headers={**gateway.bearer(), "If-None-Match": tag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == tag
    assert gateway.rpc.calls == []  # no service touched

    changed = sample_contracts()
    changed.contracts[0].annual_premium_cents = 99
    gateway.rpc.answer(dossier.LIST_CONTRACTS, lambda request: changed)
    versions(gateway).changed("D1")  # a `dossier.contract.changed` event heard
    fresh = gateway.client.get(CONTRACTS, headers={**gateway.bearer(), "If-None-Match": tag})
    assert fresh.status_code == 200
    assert fresh.json()["contracts"][0]["annual_premium_cents"] == 99
    assert fresh.headers["etag"] != tag


def test_another_query_or_dossier_never_gets_the_etag_of_this_one(gateway: Gateway) -> None:
    tag = gateway.client.get(CONTRACTS, headers=gateway.bearer()).headers["etag"]
    paged = gateway.client.get("/api/v1/dossiers/D1/contract-pages",
                               headers={**gateway.bearer(), "If-None-Match": tag})
    assert paged.status_code == 200 and paged.headers["etag"] != tag
    other = gateway.client.get("/api/v1/dossiers/D2/contracts",
                               headers={**gateway.bearer(dossiers=("D1", "D2")),
                                        "If-None-Match": tag})
    assert other.status_code == 200 and other.headers["etag"] != tag


def test_authorization_comes_before_the_cache(gateway: Gateway) -> None:
    tag = gateway.client.get(CONTRACTS, headers=gateway.bearer()).headers["etag"]
    gateway.rpc.calls.clear()
    for headers in ({"If-None-Match": tag}, {}):
        stranger = gateway.client.get(CONTRACTS, headers={
            **gateway.bearer(user_id="u9", dossiers=("D2",)), **headers})
        assert stranger.status_code == 404, stranger.text  # as if it did not exist
        assert "AUTO-2024-0001" not in stranger.text  # nothing of the kept answer
    anonymous = gateway.client.get(CONTRACTS, headers={"If-None-Match": tag})
    assert anonymous.status_code == 401
    assert gateway.rpc.calls == []


def test_an_import_through_this_gateway_is_read_anew_at_once(gateway: Gateway) -> None:
    gateway.client.get(CONTRACTS, headers=gateway.bearer())
    gateway.rpc.answer(dossier.UPSERT_DOSSIER, dossier.ImportReport(
        dossier_id="D1", dossier="updated", updated=1))
    staff = gateway.bearer(user_id="agent1", role=Role.AGENT, dossiers=())
    imported = gateway.client.post("/admin/api/v1/dossier-imports", headers=staff,
                                   json={"dossier_id": "D1", "name": "Familie Peeters"})
    assert imported.status_code == 200, imported.text
    gateway.rpc.calls.clear()
    gateway.client.get(CONTRACTS, headers=gateway.bearer())
    assert len(gateway.rpc.called(dossier.LIST_CONTRACTS)) == 1  # not from memory


def test_not_synchronised_every_read_goes_to_the_service(gateway: Gateway) -> None:
    versions(gateway).desynchronise()  # the bus connection is lost
    for _ in range(2):
        answer = gateway.client.get(CONTRACTS, headers=gateway.bearer())
        assert answer.status_code == 200 and "etag" not in answer.headers
    assert len(gateway.rpc.called(dossier.LIST_CONTRACTS)) == 2


def test_the_contracts_page_reads_its_list_and_dossier_names_once(gateway: Gateway) -> None:
    sign_in(gateway)
    first = gateway.client.get("/contracts")
    second = gateway.client.get("/contracts")
    assert first.status_code == second.status_code == 200
    assert "AUTO-2024-0001" in second.text and "Familie Peeters" in second.text
    assert len(gateway.rpc.called(dossier.LIST_CONTRACT_PAGE)) == 1
    assert len(gateway.rpc.called(dossier.LIST_DOSSIER_SUMMARIES)) == 1


def test_the_short_way_checks_the_session_and_the_query_like_the_route(gateway: Gateway) -> None:
    paged = "/api/v1/dossiers/D1/contract-pages?page_size=5&sort=insurer"
    first = gateway.client.get(paged, headers=gateway.bearer(session_id="s7"))
    again = gateway.client.get(paged, headers=gateway.bearer(session_id="s7"))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["etag"] == first.headers["etag"]
    assert again.headers["x-correlation-id"] and again.headers["cache-control"] == "no-store"
    assert len(gateway.rpc.called(dossier.LIST_CONTRACT_PAGE)) == 1

    state = gateway.client.app.state.gateway  # type: ignore[attr-defined]
    state.deny_list.add("s7")  # the session was logged out
    ended = gateway.client.get(paged, headers={**gateway.bearer(session_id="s7"),
                                               "If-None-Match": first.headers["etag"]})
    assert ended.status_code == 401, ended.text
    refused = gateway.client.get(paged + "&page=2", headers=gateway.bearer())
    assert refused.status_code == 422  # the route's own answer to an unknown parameter
    expired = gateway.client.get(paged, headers=gateway.bearer(issued_at=1_000_000))
    assert expired.status_code == 401
    assert len(gateway.rpc.called(dossier.LIST_CONTRACT_PAGE)) == 1
