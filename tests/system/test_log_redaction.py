"""Every process's log, after an upload and a download through presigned S3 URLs, holds none of
their signatures: a logged URL would be a login-free download for its lifetime."""

import httpx
import pytest

from deploy.local.applications import SERVICES
from deploy.local.seed_demo import bearer
from tests.system.stack import ClientLogin, SystemStack
from tests.system.test_document_ranges import content_path, publish_pdf

pytestmark = pytest.mark.system
SECRETS = ("X-Amz-Signature", "X-Amz-Credential")


def test_no_log_of_any_process_holds_a_presigned_url_signature(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
) -> None:
    document_id, body = publish_pdf(system_stack, gateway, "Logs")
    download = gateway.get(content_path(document_id),
                           headers=bearer(dupont_client.log_in(gateway)))
    assert download.status_code == 200 and download.content == body

    logs = {name: system_stack.group.log_path(name) for name in (*SERVICES, "gateway")}
    gateway_log = logs["gateway"].read_text(errors="replace")
    assert f"/{document_id}?" in gateway_log  # the store's requests are logged, as paths
    leaks = [f"{name}: {line[:200]}" for name, path in logs.items() if path.exists()
             for line in path.read_text(errors="replace").splitlines()
             if any(secret in line for secret in SECRETS)]
    assert leaks == []
