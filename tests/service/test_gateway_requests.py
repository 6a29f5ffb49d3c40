"""The gateway's requests API and request desk alone (the services are fakes): what reaches the
requests service, bad input as problem+json with its fields, files refused before any is
stored, staff-only desk, assignment to staff only."""

from libs.contracts import auth, dossier, requests
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Conflict, NotFound
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)

PROBLEM = "application/problem+json"


def stored(request: object) -> requests.RequestPublic:
    assert isinstance(request, requests.SendMessageRequest)
    return requests.RequestPublic(
        request_id=request.request_id or "q1", dossier_id=request.dossier_id, kind="message",
        subject=request.subject, body=request.body, about=request.about, status="pending",
        sent_by=request.caller.user_id, sent_at=utc_now())


def office_request(status: str = "pending") -> requests.OfficeRequest:
    return requests.OfficeRequest(request_id="q1", dossier_id="D1", kind="message",
                                  subject="Vraag", status=status, sent_by="u1",
                                  sent_at=utc_now())


def test_a_message_carries_what_it_is_about_and_its_idempotency_key(gateway: Gateway) -> None:
    gateway.rpc.answer(requests.SEND_MESSAGE, stored)
    gateway.rpc.answer(dossier.CHECK_REFERENCES, dossier.UnknownReferences())
    response = gateway.client.post(
        "/api/v1/dossiers/D1/messages", headers={**gateway.bearer(), "Idempotency-Key": "abc"},
        json={"subject": "Omnium", "body": "Is mijn ruit gedekt?",
              "about": {"kind": "contract", "ref_id": "C1", "label": "Polis 123"}})
    assert response.status_code == 201, response.text
    [sent] = gateway.rpc.called(requests.SEND_MESSAGE)
    assert isinstance(sent, requests.SendMessageRequest)
    assert (sent.idempotency_key, sent.about.ref_id, sent.sender_name) == ("abc", "C1",
                                                                          "An Peeters")
    [checked] = gateway.rpc.called(dossier.CHECK_REFERENCES)
    assert isinstance(checked, dossier.ReferencesQuery)
    assert checked.objects[0].model_dump() == {"dossier_id": "D1", "kind": "contract",
                                               "object_id": "C1"}


def test_a_message_about_another_dossiers_contract_is_not_found(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.CHECK_REFERENCES, dossier.UnknownReferences(objects=[
        dossier.DossierObjectRef(dossier_id="D1", kind="contract", object_id="C-OTHER")]))
    response = gateway.client.post(
        "/api/v1/dossiers/D1/messages", headers=gateway.bearer(),
        json={"subject": "Omnium", "body": "?", "about": {"kind": "contract",
                                                          "ref_id": "C-OTHER"}})
    assert response.status_code == 404
    assert gateway.rpc.called(requests.SEND_MESSAGE) == []


def test_bad_input_is_a_problem_with_its_fields(gateway: Gateway) -> None:
    empty = gateway.client.post("/api/v1/dossiers/D1/requests/q1/replies",
                                headers=gateway.bearer(), json={"body": ""})
    assert empty.status_code == 422 and empty.headers["content-type"] == PROBLEM
    assert "body" in empty.json()["errors"]
    broken = gateway.client.post("/api/v1/dossiers/D1/messages", headers={
        **gateway.bearer(), "Content-Type": "application/json"}, content=b"{not json")
    assert broken.status_code == 422 and broken.json()["errors"] == {"body": "not valid JSON"}
    text = gateway.client.post("/api/v1/dossiers/D1/messages", headers={
        **gateway.bearer(), "Content-Type": "text/plain"}, content=b"hallo")
    assert text.status_code == 415
    about = gateway.client.post("/api/v1/dossiers/D1/messages", headers=gateway.bearer(),
                                json={"subject": "x", "body": "y", "about": {"kind": "contract"}})
    assert about.status_code == 422 and about.json()["errors"] == {
        "about.ref_id": "required for this kind"}


def test_a_reply_with_files_to_a_closed_thread_is_refused_before_a_file_is_stored(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(requests.GET_REQUEST, requests.RequestPublic.model_validate(
        office_request("closed").model_dump(exclude={"notes"})))
    response = gateway.client.post(
        "/api/v1/dossiers/D1/requests/q1/replies", headers=gateway.bearer(),
        data={"body": "En een foto"}, files=[("file", ("foto.jpg", b"\xff\xd8jpeg", "image/jpeg"))])
    assert response.status_code == 409
    assert response.json()["detail"] == "This conversation is closed; send a new message."
    [asked] = gateway.rpc.called(requests.GET_REQUEST)
    assert isinstance(asked, requests.GetRequestQuery) and not asked.mark_read
    assert gateway.store.objects == {}


def test_a_message_with_files_under_a_forms_key_is_refused_before_a_file_is_stored(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(requests.FIND_RESUBMITTED, Conflict(
        "This idempotency key was already used for another request (a claim).",
        fields={"idempotency_key": "used for another request"}))
    response = gateway.client.post(
        "/api/v1/dossiers/D1/messages", headers={**gateway.bearer(), "Idempotency-Key": "k1"},
        data={"subject": "Foto", "body": "Hier is ze"},
        files=[("file", ("foto.jpg", b"\xff\xd8jpeg", "image/jpeg"))])
    assert response.status_code == 409 and response.headers["content-type"] == PROBLEM
    assert response.json()["errors"] == {"idempotency_key": "used for another request"}
    assert gateway.store.objects == {} and gateway.rpc.called(requests.SEND_MESSAGE) == []
    [asked] = gateway.rpc.called(requests.FIND_RESUBMITTED)
    assert isinstance(asked, requests.FindResubmittedQuery) and asked.kind == "message"
    # A resend of the message itself is answered with it, its files not read again.
    gateway.rpc.answer(requests.FIND_RESUBMITTED, requests.RequestPublic.model_validate(
        office_request().model_dump(exclude={"notes"})))
    again = gateway.client.post(
        "/api/v1/dossiers/D1/messages", headers={**gateway.bearer(), "Idempotency-Key": "k1"},
        data={"subject": "Foto", "body": "Hier is ze"},
        files=[("file", ("foto.jpg", b"\xff\xd8jpeg", "image/jpeg"))])
    assert again.status_code == 201 and again.json()["request_id"] == "q1"
    assert gateway.store.objects == {}


def test_a_reply_to_another_dossiers_request_is_not_found(gateway: Gateway) -> None:
    gateway.rpc.answer(requests.REPLY, NotFound("This request does not exist."))
    response = gateway.client.post("/api/v1/dossiers/D1/requests/q9/replies",
                                   headers=gateway.bearer(), json={"body": "Hallo"})
    assert response.status_code == 404
    mine = gateway.client.get("/api/v1/dossiers/D2/requests/q1", headers=gateway.bearer())
    assert mine.status_code == 404  # a dossier the token does not grant: never asked


def test_the_desk_is_for_staff_and_passes_its_filters(gateway: Gateway) -> None:
    gateway.rpc.answer(requests.DESK_LIST, requests.DeskPage(items=[]))
    client = gateway.client.get("/admin/api/v1/requests", headers=gateway.bearer())
    assert client.status_code == 403
    staff = gateway.bearer(user_id="agent-1", role=Role.AGENT, dossiers=())
    listed = gateway.client.get("/admin/api/v1/requests", headers=staff, params={
        "status": "pending", "kind": "claim", "assignee": "me", "older_than_days": 3,
        "dossier_id": "D1", "limit": 20})
    assert listed.status_code == 200, listed.text
    [query] = gateway.rpc.called(requests.DESK_LIST)
    assert isinstance(query, requests.DeskQuery)
    assert (query.status, query.kind, query.assignee, query.older_than_days, query.dossier_id,
            query.limit, query.caller.user_id) == ("pending", "claim", "me", 3, "D1", 20,
                                                   "agent-1")
    bad = gateway.client.get("/admin/api/v1/requests", headers=staff,
                             params={"status": "done"})
    assert bad.status_code == 422


def test_a_request_is_assigned_to_staff_only(gateway: Gateway) -> None:
    staff = gateway.bearer(user_id="agent-1", role=Role.AGENT, dossiers=(), name="Sofie")
    gateway.rpc.answer(auth.GET_USER, auth.UserPublic(
        user_id="u-client", email="c@example.be", display_name="Klant", role=Role.CLIENT,
        status="active"))
    refused = gateway.client.post("/admin/api/v1/requests/q1/assign", headers=staff,
                                  json={"assignee_id": "u-client"})
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"assignee_id": "not an active staff account"}
    gateway.rpc.answer(auth.GET_USER, auth.UserPublic(
        user_id="agent-2", email="j@example.be", display_name="Jan Claes", role=Role.AGENT,
        status="active"))
    gateway.rpc.answer(requests.REASSIGN, office_request("in_progress"))
    assigned = gateway.client.post("/admin/api/v1/requests/q1/assign", headers=staff,
                                   json={"assignee_id": "agent-2", "version": 3})
    assert assigned.status_code == 200, assigned.text
    [command] = gateway.rpc.called(requests.REASSIGN)
    assert isinstance(command, requests.AssignCommand)
    assert (command.assignee_id, command.assignee_name, command.staff_name, command.version) == (
        "agent-2", "Jan Claes", "Sofie", 3)


def test_a_stale_office_action_is_a_409(gateway: Gateway) -> None:
    staff = gateway.bearer(user_id="agent-1", role=Role.AGENT, dossiers=())
    gateway.rpc.answer(requests.SET_STATUS, Conflict(
        "This request changed since you opened it: reload it and try again."))
    response = gateway.client.post("/admin/api/v1/requests/q1/status", headers=staff,
                                   json={"status": "accepted", "version": 1})
    assert response.status_code == 409 and response.headers["content-type"] == PROBLEM
    take = gateway.client.post("/admin/api/v1/requests/q1/take", headers=staff)
    assert take.status_code == 503  # the fake has no answer: the body was optional
