"""After the dossier service acknowledges an import, the client reads the new data through the
gateway's read model: at once when the import went through this gateway, and, when it reached
the service another way (another gateway instance, the office's import tool), as soon as the
service's change events arrive. The figures of that delay are `tests/load/bench_contracts.py
--staleness`'s; here the new data must come, and an old ETag must no longer answer 304."""

import asyncio
import copy
import time
import uuid
from typing import Any

import httpx
import pytest

from deploy.local.seed_demo import bearer
from libs.contracts import dossier
from libs.contracts.caller import Caller, Role
from libs.servicekit.rpc import RpcClient
from tests.system.stack import (
    SystemStack,
    fixture_dossier,
    new_client,
    staff_log_in,
)

pytestmark = pytest.mark.system

WAIT_SECONDS = 10.0  # a generous bound for a loaded test machine: correctness, not speed


def own_dossier() -> dict[str, Any]:
    """The Dupont fixture under a dossier number of this test's own."""
    record = copy.deepcopy(fixture_dossier("dupont"))
    record["dossier_id"] = f"DOS-READS-{uuid.uuid4().hex[:8]}"
    return record


def premiums(answer: httpx.Response) -> dict[str, int]:
    assert answer.status_code == 200, answer.text
    return {contract["contract_id"]: contract["annual_premium_cents"]
            for contract in answer.json()["contracts"]}


def read_until(gateway: httpx.Client, path: str, headers: dict[str, str], contract_id: str,
               premium: int) -> float:
    """Seconds until the gateway answers `premium` for `contract_id` (fails after the bound)."""
    started = time.monotonic()
    while (seen := premiums(gateway.get(path, headers=headers)).get(contract_id)) != premium:
        assert time.monotonic() - started < WAIT_SECONDS, f"still {seen}, not {premium}"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_client_reads_an_acknowledged_import_through_the_read_model(
    system_stack: SystemStack, gateway: httpx.Client
) -> None:
    record = own_dossier()
    dossier_id = record["dossier_id"]
    staff = bearer(staff_log_in(system_stack, gateway))
    created = gateway.post("/admin/api/v1/dossiers", json=record, headers=staff)
    assert created.status_code == 201, created.text
    client = new_client(system_stack, gateway, "Lees Model", [dossier_id])
    reader = bearer(client.log_in(gateway))
    path = f"/api/v1/dossiers/{dossier_id}/contracts"
    contract = record["contracts"][0]
    contract_id, premium = contract["contract_id"], contract["annual_premium_cents"]

    # Read until the answer is kept (the read model settles after the import's events).
    deadline = time.monotonic() + WAIT_SECONDS
    while "etag" not in (first := gateway.get(path, headers=reader)).headers:
        assert time.monotonic() < deadline, "the read model never kept the answer"
        time.sleep(0.1)
    assert premiums(first)[contract_id] == premium
    tag = first.headers["etag"]
    assert gateway.get(path, headers={**reader, "If-None-Match": tag}).status_code == 304

    # 1. An import through this gateway: the very next read has it.
    upserted = gateway.post("/admin/api/v1/dossier-imports", headers=staff, json={
        "dossier_id": dossier_id, "contracts": [{**contract, "annual_premium_cents": premium + 1}]})
    assert upserted.status_code == 200 and upserted.json()["updated"] == 1, upserted.text
    after = gateway.get(path, headers={**reader, "If-None-Match": tag})
    assert after.status_code == 200  # the old ETag no longer matches
    assert premiums(after)[contract_id] == premium + 1

    # 2. An import that reaches the service without this gateway: its events tell the gateway.
    while "etag" not in (kept := gateway.get(path, headers=reader)).headers:
        assert time.monotonic() < deadline + WAIT_SECONDS, "the read model never kept it again"
        time.sleep(0.1)
    assert premiums(kept)[contract_id] == premium + 1

    async def import_elsewhere() -> None:
        rpc = RpcClient(system_stack.config.amqp_url, timeout_seconds=30)
        await rpc.connect()
        try:
            report = await rpc.call(dossier.UPSERT_DOSSIER, dossier.UpsertDossierRequest(
                caller=Caller(user_id="office-tool", role=Role.ADMIN),
                record=dossier.DossierRecord.model_validate({
                    "dossier_id": dossier_id,
                    "contracts": [{**contract, "annual_premium_cents": premium + 2}]})))
            assert report.updated == 1
        finally:
            await rpc.close()

    asyncio.run(import_elsewhere())
    read_until(gateway, path, reader, contract_id, premium + 2)
    assert gateway.get(path, headers={**reader, "If-None-Match": kept.headers["etag"]}
                       ).status_code == 200
