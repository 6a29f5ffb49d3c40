"""The JSON and admin APIs: who may call what, and how failures look to an API client."""

import time
from pathlib import Path

from gateway.problems import PROBLEM_MEDIA_TYPE
from libs.contracts import auth, dossier, requests
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Gone, NotFound, Unauthenticated
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
    household_rpc,
    run_gateway,
    write_signing_key,
)

PROBLEM = "application/problem+json"


def test_a_client_sees_the_contracts_of_a_dossier_granted_to_them(gateway: Gateway) -> None:
    response = gateway.client.get("/api/v1/dossiers/D1/contracts", headers=gateway.bearer())
    assert response.status_code == 200
    assert [c["policy_number"] for c in response.json()["contracts"]] == [
        "AUTO-2024-0001", "WON-2023-0042"]
    [query] = gateway.rpc.called(dossier.LIST_CONTRACTS)
    assert isinstance(query, dossier.DossierQuery)
    assert query.caller.user_id == "u1" and query.caller.dossier_ids == ["D1"]


def test_another_clients_dossier_is_not_found_and_never_reaches_a_service(
    gateway: Gateway,
) -> None:
    before = len(gateway.rpc.calls)
    for path in ("contracts", "documents", "requests", "documents-to-sign",
                 "documents/doc1/content"):
        response = gateway.client.get(f"/api/v1/dossiers/D2/{path}",
                                      headers=gateway.bearer(dossiers=("D1",)))
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM
    assert gateway.rpc.calls[before:] == []


def test_staff_do_not_use_the_client_api_for_dossiers(gateway: Gateway) -> None:
    response = gateway.client.get("/api/v1/dossiers/D1/contracts",
                                  headers=gateway.bearer(role=Role.AGENT, dossiers=()))
    assert response.status_code == 404


def test_a_client_token_on_the_admin_api_is_forbidden(gateway: Gateway) -> None:
    before = len(gateway.rpc.calls)
    response = gateway.client.get("/admin/api/v1/dossiers/D1", headers=gateway.bearer())
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert gateway.rpc.calls[before:] == []


def test_staff_may_open_any_dossier_on_the_admin_api(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.GET_DOSSIER_SUMMARY, dossier.DossierSummary(
        dossier_id="D7", name="Janssens", person_count=2, contract_count=0))
    response = gateway.client.get("/admin/api/v1/dossiers/D7",
                                  headers=gateway.bearer(role=Role.AGENT, dossiers=()))
    assert response.status_code == 200
    assert response.json()["name"] == "Janssens"


def test_without_a_token_the_api_answers_401_with_a_bearer_challenge(gateway: Gateway) -> None:
    response = gateway.client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == PROBLEM


def test_an_expired_token_is_refused(gateway: Gateway) -> None:
    past = int(time.time()) - 3600
    response = gateway.client.get("/api/v1/me", headers=gateway.bearer(issued_at=past))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_token_signed_by_someone_else_is_refused(gateway: Gateway, tmp_path: Path) -> None:
    (tmp_path / "stranger").mkdir()
    stranger = write_signing_key(tmp_path / "stranger")
    response = gateway.client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {stranger.token()}"})
    assert response.status_code == 401


def test_me_lists_the_granted_dossiers_by_name(gateway: Gateway) -> None:
    response = gateway.client.get("/api/v1/me", headers=gateway.bearer(dossiers=("D1", "D2")))
    assert response.status_code == 200
    me = response.json()
    assert me["user_id"] == "u1" and me["role"] == "client" and me["language"] == "nl"
    assert me["dossiers"] == [{"dossier_id": "D1", "name": "Familie Peeters"},
                              {"dossier_id": "D2", "name": "Peeters Bouw BV"}]


def test_login_returns_the_token_pair_of_auth(gateway: Gateway) -> None:
    pair = gateway.key.pair()
    gateway.rpc.answer(auth.LOG_IN, pair)
    response = gateway.client.post("/api/v1/auth/login",
                                   json={"email": "an@example.be", "password": "secret"})
    assert response.status_code == 200
    assert response.json()["access_token"] == pair.access_token


def test_a_wrong_password_is_a_401_problem(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, Unauthenticated("Wrong e-mail address or password."))
    response = gateway.client.post("/api/v1/auth/login",
                                   json={"email": "an@example.be", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong e-mail address or password."


def test_an_unknown_or_used_invitation_is_404_or_410(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_INVITATION, NotFound("Unknown invitation."))
    assert gateway.client.get("/api/v1/auth/invitations/abc").status_code == 404
    gateway.rpc.answer(auth.LOOK_UP_INVITATION, Gone("Used."))
    assert gateway.client.get("/api/v1/auth/invitations/abc").status_code == 410


def test_after_logout_the_same_access_token_is_refused(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_OUT, Ack())
    headers = gateway.bearer(session_id="s-bye")
    assert gateway.client.get("/api/v1/me", headers=headers).status_code == 200
    response = gateway.client.post("/api/v1/auth/logout", headers=headers,
                                   json={"refresh_token": "r1"})
    assert response.status_code == 204
    [logout] = gateway.rpc.called(auth.LOG_OUT)
    assert logout == auth.LogoutRequest(refresh_token="r1", session_id="s-bye")
    assert gateway.client.get("/api/v1/me", headers=headers).status_code == 401


def test_logout_needs_no_body(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_OUT, Ack())
    headers = gateway.bearer(session_id="s-app")
    assert gateway.client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert gateway.rpc.called(auth.LOG_OUT) == [auth.LogoutRequest(session_id="s-app")]


def test_a_refresh_token_buys_a_new_pair(gateway: Gateway) -> None:
    pair = gateway.key.pair()
    gateway.rpc.answer(auth.REFRESH, pair)
    response = gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": "r1"})
    assert response.status_code == 200 and response.json()["refresh_token"] == pair.refresh_token
    assert gateway.rpc.called(auth.REFRESH) == [auth.RefreshRequest(refresh_token="r1")]


def test_sessions_revoked_before_the_gateway_started_are_refused(tmp_path: Path) -> None:
    rpc = household_rpc()
    rpc.answer(auth.LIST_REVOKED_SESSIONS, auth.RevokedSessions(session_ids=["s-old"]))
    for running in run_gateway(tmp_path, rpc):
        [since] = rpc.called(auth.LIST_REVOKED_SESSIONS)
        assert isinstance(since, auth.RevokedSessionsRequest)
        assert (utc_now() - since.since).total_seconds() >= 299
        assert running.client.get("/api/v1/me",
                                  headers=running.bearer(session_id="s-old")).status_code == 401
        assert running.client.get("/api/v1/me",
                                  headers=running.bearer(session_id="s-new")).status_code == 200


def test_a_dossier_import_that_is_not_json_is_a_422_problem(gateway: Gateway) -> None:
    response = gateway.client.post(
        "/admin/api/v1/dossiers", content=b'{"dossier_id": "D1", "name": ',
        headers={**gateway.bearer(role=Role.ADMIN, dossiers=()),
                 "content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"]
    assert gateway.rpc.called(dossier.IMPORT_DOSSIER) == []


def test_a_dossier_import_missing_fields_names_them(gateway: Gateway) -> None:
    response = gateway.client.post(
        "/admin/api/v1/dossiers", json={"dossier_id": "D1", "contracts": [{"insurer": "AG"}]},
        headers=gateway.bearer(role=Role.ADMIN, dossiers=()))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "name" in errors
    assert "contracts.0.policy_number" in errors


def test_a_valid_dossier_import_is_forwarded_with_the_staff_caller(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.IMPORT_DOSSIER, dossier.DossierSummary(
        dossier_id="D1", name="Familie Peeters", person_count=0, contract_count=0))
    response = gateway.client.post(
        "/admin/api/v1/dossiers", json={"dossier_id": "D1", "name": "Familie Peeters"},
        headers={**gateway.bearer(role=Role.ADMIN, dossiers=(), user_id="admin1"),
                 "x-correlation-id": "import-42"})
    assert response.status_code == 201
    [imported] = gateway.rpc.called(dossier.IMPORT_DOSSIER)
    assert isinstance(imported, dossier.ImportDossierRequest)
    assert imported.caller.user_id == "admin1" and imported.correlation_id == "import-42"
    assert response.headers["x-correlation-id"] == "import-42"


def test_a_message_is_sent_in_the_callers_dossier(gateway: Gateway) -> None:
    def sent(request: object) -> requests.RequestPublic:
        assert isinstance(request, requests.SendMessageRequest)
        return requests.RequestPublic(
            request_id="q1", dossier_id=request.dossier_id, kind="message",
            subject=request.subject, body=request.body, status="pending",
            sent_by=request.caller.user_id, sent_at=utc_now())

    gateway.rpc.answer(requests.SEND_MESSAGE, sent)
    response = gateway.client.post("/api/v1/dossiers/D1/messages", headers=gateway.bearer(),
                                   json={"subject": "Nieuwe wagen", "body": "Graag een offerte."})
    assert response.status_code == 201
    assert response.json()["status"] == "pending"


def test_an_unknown_api_address_is_a_404_problem(gateway: Gateway) -> None:
    response = gateway.client.get("/api/v1/nothing", headers=gateway.bearer())
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_the_gateway_is_ready_once_it_can_verify_tokens(gateway: Gateway) -> None:
    assert gateway.client.get("/health/live").status_code == 200
    ready = gateway.client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"token_key": True, "bus": True}


def test_without_the_public_key_the_gateway_is_not_ready(tmp_path: Path) -> None:
    for running in run_gateway(tmp_path, household_rpc(),
                               jwt_public_key_path=str(tmp_path / "missing.pem")):
        assert running.client.get("/health/ready").status_code == 503
        assert running.client.get("/api/v1/me", headers=running.bearer()).status_code == 503


def test_metrics_count_requests_by_route(gateway: Gateway) -> None:
    gateway.client.get("/api/v1/me", headers=gateway.bearer())
    metrics = gateway.client.get("/metrics").text
    assert 'mybroker_gateway_http_requests_total{method="GET",route="/api/v1/me",status="200"}' \
        in metrics


def test_the_openapi_document_is_published(gateway: Gateway) -> None:
    document = gateway.client.get("/api/openapi.json").json()
    paths = document["paths"]
    assert "ProblemDetails" in document["components"]["schemas"]
    assert "/api/v1/dossiers/{dossier_id}/contracts" in paths
    assert "/admin/api/v1/dossiers/{dossier_id}/documents" not in paths  # staff only: see
    assert gateway.client.get("/api/docs").status_code == 200  # tests/service/test_gateway_edge
    for path, operations in paths.items():  # each operation lists the problems it may answer
        for method, operation in operations.items():
            statuses = {int(status) for status in operation["responses"] if status.isdigit()}
            assert {401, 403, 422, 503} <= statuses, (method, path)
            assert PROBLEM_MEDIA_TYPE in operation["responses"]["503"]["content"], (method, path)


def test_a_staff_grant_reaches_auth_with_where_it_came_from_for_the_audit_log(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(auth.GRANT_DOSSIER, auth.UserPublic(
        user_id="u-an", email="an@example.be", display_name="An", role=Role.CLIENT,
        status="active", dossier_ids=["D1"]))
    response = gateway.client.put(
        "/admin/api/v1/dossiers/D1/grants/u-an",
        headers={**gateway.bearer(role=Role.AGENT, dossiers=()), "User-Agent": "office-pc"})
    assert response.status_code == 200
    [request] = gateway.rpc.called(auth.GRANT_DOSSIER)
    assert isinstance(request, auth.GrantRequest)
    assert request.origin is not None
    assert request.origin.user_agent == "office-pc"
    assert request.origin.client_ip
