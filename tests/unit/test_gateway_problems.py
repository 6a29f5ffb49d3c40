"""Every failure becomes one RFC 9457 problem with the status its error code stands for."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from gateway.problems import PROBLEM_MEDIA_TYPE, Problem, install_problem_handlers, status_of
from libs.contracts.errors import ErrorCode
from libs.servicekit.errors import ServiceError, Unauthenticated, Unavailable

EXPECTED_STATUS = {
    ErrorCode.INVALID: 422, ErrorCode.UNAUTHENTICATED: 401, ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404, ErrorCode.CONFLICT: 409, ErrorCode.GONE: 410,
    ErrorCode.RATE_LIMITED: 429, ErrorCode.UNAVAILABLE: 503, ErrorCode.INTERNAL: 500,
}


class Message(BaseModel):
    subject: str = Field(min_length=1)
    body: str


def page_error(request: Request, status: int, code: str) -> Response:
    return HTMLResponse(f"<p>page error {code}</p>", status_code=status)


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    install_problem_handlers(app, page_error)

    @app.get("/api/v1/fail/{code}")
    async def fail(code: ErrorCode) -> None:
        raise ServiceError.from_code(code, f"failed with {code}",
                                     {"email": "taken"} if code == ErrorCode.INVALID else None)

    @app.post("/api/v1/messages")
    async def send(message: Message) -> Message:
        return message

    @app.get("/api/v1/too-large")
    async def too_large() -> None:
        raise Problem(413, "too_large", "The file is larger than the limit.")

    @app.get("/api/v1/bug")
    async def bug() -> None:
        raise RuntimeError("secret internals")

    @app.get("/contracts")
    async def page() -> None:
        raise Unauthenticated("sign in")

    @app.get("/claims")
    async def page_of_an_unreachable_service() -> None:
        raise Unavailable("dossier did not answer within 5 s.")

    @app.get("/api/v1/logins-busy")
    async def busy() -> None:
        raise Unavailable("Too many log-ins.", fields={"retry_after": "2"})

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(("code", "status"), EXPECTED_STATUS.items())
def test_each_error_code_has_its_http_status(code: ErrorCode, status: int) -> None:
    assert status_of(ServiceError.from_code(code, "x")) == status


@pytest.mark.parametrize(("code", "status"), EXPECTED_STATUS.items())
def test_a_service_error_becomes_a_problem_document(
    client: TestClient, code: ErrorCode, status: int
) -> None:
    response = client.get(f"/api/v1/fail/{code}")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    problem = response.json()
    assert problem["status"] == status
    assert problem["detail"] == f"failed with {code}"
    assert problem["type"].endswith(str(code))
    assert problem["instance"] == f"/api/v1/fail/{code}"
    assert problem["title"]


def test_an_invalid_request_problem_names_the_fields(client: TestClient) -> None:
    assert client.get("/api/v1/fail/invalid").json()["errors"] == {"email": "taken"}


def test_unauthenticated_tells_the_client_to_use_a_bearer_token(client: TestClient) -> None:
    response = client.get("/api/v1/fail/unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_body_that_breaks_the_schema_gets_422_with_an_error_per_field(
    client: TestClient,
) -> None:
    response = client.post("/api/v1/messages", json={"subject": ""})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert set(response.json()["errors"]) == {"subject", "body"}


def test_malformed_json_gets_422_problem(client: TestClient) -> None:
    response = client.post("/api/v1/messages", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "body" in response.json()["errors"]


def test_an_unknown_api_route_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["type"].endswith("not_found")


def test_a_gateway_problem_keeps_its_own_status(client: TestClient) -> None:
    assert client.get("/api/v1/too-large").json()["status"] == 413


def test_an_unexpected_failure_is_a_500_problem_without_internals(client: TestClient) -> None:
    response = client.get("/api/v1/bug")
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE


def test_web_pages_get_a_page_instead_of_a_problem(client: TestClient) -> None:
    response = client.get("/contracts")
    assert response.status_code == 401
    assert response.text == "<p>page error unauthenticated</p>"
    assert client.get("/nothing-here").text == "<p>page error not_found</p>"


def test_every_unavailable_answer_says_when_to_retry(client: TestClient) -> None:
    api = client.get(f"/api/v1/fail/{ErrorCode.UNAVAILABLE}")
    page = client.get("/claims")
    for response in (api, page):
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0  # RFC 9110: clients wait, then retry
    assert api.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert page.headers["content-type"].startswith("text/html")
    assert client.get("/api/v1/logins-busy").headers["Retry-After"] == "2"  # its own figure
    assert "Retry-After" not in client.get("/api/v1/bug").headers
