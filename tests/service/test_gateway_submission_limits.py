"""A client over their submission window gets a clear 429 problem with Retry-After at the
gateway (the requests service is a fake that says so): for messages, and for attachments
before a byte of the upload is read or stored."""

from libs.contracts import documents, requests
from libs.servicekit.errors import RateLimited
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_documents import (
    attach,
    attachments_fixture,  # noqa: F401 - the `attachments` fixture
)

PROBLEM = "application/problem+json"


def test_a_message_over_the_window_is_a_429_problem_with_retry_after(gateway: Gateway) -> None:
    gateway.rpc.answer(requests.SEND_MESSAGE, RateLimited(
        "Too many messages in a short time. Please try again in 12 seconds.",
        fields={"retry_after": "12"}))
    response = gateway.client.post("/api/v1/dossiers/D1/messages", headers=gateway.bearer(),
                                   json={"subject": "Nog eens", "body": "En nog eens."})
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "12"
    assert response.json()["detail"] == (
        "Too many messages in a short time. Please try again in 12 seconds.")
    assert "retry_after" not in response.json().get("errors", {})


def test_an_attachment_over_the_window_is_refused_before_its_body_is_read(
    attachments: Gateway,
) -> None:
    attachments.rpc.answer(requests.ADMIT_ATTACHMENT, RateLimited(
        "Too many attachments in a short time. Please try again in 6 seconds.",
        fields={"retry_after": "6"}))
    response = attach(attachments, [("foto.jpg", b"\xff\xd8\xff" * 1000)], context="claim:CL1")
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "6"
    assert attachments.rpc.called(documents.BEGIN_UPLOAD) == []
    assert attachments.store.objects == {}
    [asked] = attachments.rpc.called(requests.ADMIT_ATTACHMENT)
    assert isinstance(asked, requests.AdmitAttachmentRequest)
    assert (asked.caller.user_id, asked.dossier_id) == ("u1", "D1")


def test_an_attachment_within_the_window_is_stored(attachments: Gateway) -> None:
    response = attach(attachments, [("foto.jpg", b"\xff\xd8\xff" * 1000)])
    assert response.status_code == 201, response.text
    assert len(attachments.rpc.called(requests.ADMIT_ATTACHMENT)) == 1
