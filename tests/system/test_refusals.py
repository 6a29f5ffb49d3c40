"""What the gateway refuses, and how: a problem+json a client can act on (RFC 9457)."""

import httpx
import pytest

from deploy.local.seed_demo import bearer
from tests.system.stack import ClientLogin, fixture_dossier

pytestmark = pytest.mark.system

PROBLEM_JSON = "application/problem+json"


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, object] = response.json()
    assert problem["status"] == status
    assert problem["title"]
    return problem


def test_an_unknown_activation_link_is_not_found(gateway: httpx.Client) -> None:
    _problem(gateway.get("/api/v1/auth/invitations/no-such-token-0123456789"), 404)


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    gateway: httpx.Client, dupont_client: ClientLogin
) -> None:
    wrong_password = gateway.post("/api/v1/auth/login", json={
        "email": dupont_client.email, "password": "not-the-password-at-all"})
    unknown_email = gateway.post("/api/v1/auth/login", json={
        "email": "nobody.here@example.com", "password": "not-the-password-at-all"})
    assert _problem(wrong_password, 401)["detail"] == _problem(unknown_email, 401)["detail"]


def test_a_malformed_dossier_import_is_refused_with_the_faulty_fields(
    gateway: httpx.Client, staff_token: str
) -> None:
    dossier = fixture_dossier("peeters")
    dossier["dossier_id"] = "spaces are not allowed"
    del dossier["name"]
    problem = _problem(gateway.post("/admin/api/v1/dossiers", json=dossier,
                                    headers=bearer(staff_token)), 422)
    errors = problem.get("errors")
    assert isinstance(errors, dict)
    assert any("dossier_id" in field for field in errors)
    assert any("name" in field for field in errors)


def test_a_client_cannot_reach_the_admin_api(
    gateway: httpx.Client, dupont_client: ClientLogin
) -> None:
    client = bearer(dupont_client.log_in(gateway))
    _problem(gateway.post("/admin/api/v1/dossiers", json=fixture_dossier("dupont"),
                          headers=client), 403)


def test_a_request_without_a_token_is_unauthenticated(gateway: httpx.Client) -> None:
    _problem(gateway.get("/api/v1/me"), 401)
