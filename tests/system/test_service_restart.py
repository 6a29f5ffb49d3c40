"""A service that crashes does not take the portal down, and serves again once restarted."""

import httpx
import pytest

from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT
from tests.system.stack import ClientLogin, SystemStack

pytestmark = pytest.mark.system


def test_a_crashed_dossier_service_answers_again_after_a_restart(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin
) -> None:
    client = bearer(dupont_client.log_in(gateway))
    contracts_path = f"/api/v1/dossiers/{DUPONT}/contracts"
    before = gateway.get(contracts_path, headers=client)
    assert before.status_code == 200, before.text

    # A read the gateway never made: its read model cannot answer it while the service is down
    # (one it made of an unchanged dossier it still answers from memory).
    unread_path = f"/api/v1/dossiers/{DUPONT}/contract-pages?page_size=7&sort=insurer&order=desc"
    system_stack.group.kill("dossier")
    try:
        assert gateway.get("/health/live").status_code == 200
        while_down = gateway.get(unread_path, headers=client)
        assert while_down.status_code in (502, 503, 504), while_down.text
        assert while_down.headers["content-type"].startswith("application/problem+json")
        # The gateway gives up on a silent service by its own RPC bound, before the client's.
        assert "dossier did not answer within" in while_down.json()["detail"], while_down.text
    finally:
        system_stack.applications.restart("dossier")

    after = gateway.get(contracts_path, headers=client)
    assert after.status_code == 200, after.text
    assert after.json() == before.json()
