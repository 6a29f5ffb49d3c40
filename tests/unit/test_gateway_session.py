"""Browser sessions: one refresh per refresh token, CSRF double submit, cookies on any answer."""

import asyncio

import pytest
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from gateway.problems import Problem
from gateway.web.session import (
    SessionRefresher,
    apply_cookies,
    check_csrf,
    cookie,
    queue_cookie,
    queue_cookie_deletion,
)
from libs.contracts import auth
from libs.servicekit.errors import Unauthenticated


class SlowAuth:
    """Answers REFRESH after a pause, counting the calls; refuses a token used twice."""

    def __init__(self) -> None:
        self.calls = 0

    async def call(self, method: object, request: BaseModel) -> auth.TokenPair:
        self.calls += 1
        await asyncio.sleep(0.05)
        if self.calls > 1:
            raise Unauthenticated("refresh token reused: session revoked")
        return auth.TokenPair(access_token="a2", refresh_token="r2", expires_in=300)


async def test_pages_loading_at_once_share_one_refresh() -> None:
    rpc = SlowAuth()
    refresher = SessionRefresher(rpc)  # type: ignore[arg-type]
    pairs = await asyncio.gather(*(refresher.refresh("r1") for _ in range(5)))
    assert rpc.calls == 1
    assert {pair.refresh_token for pair in pairs} == {"r2"}


async def test_a_failed_refresh_is_not_remembered() -> None:
    class Refusing:
        calls = 0

        async def call(self, method: object, request: BaseModel) -> auth.TokenPair:
            Refusing.calls += 1
            raise Unauthenticated("expired")

    refresher = SessionRefresher(Refusing())  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await refresher.refresh("r1")
    assert Refusing.calls == 2


def form_request(body: bytes, cookie_header: str) -> Request:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({
        "type": "http", "method": "POST", "path": "/login", "query_string": b"",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded"),
                    (b"cookie", cookie_header.encode())],
    }, receive)


async def test_a_form_with_the_cookies_csrf_token_is_accepted() -> None:
    await check_csrf(form_request(b"csrf_token=abc123&email=x", "mb_csrf=abc123"))


@pytest.mark.parametrize(("body", "cookie_header"), [
    (b"csrf_token=abc123", ""),  # no cookie: the post did not come from our page
    (b"email=x", "mb_csrf=abc123"),  # no field
    (b"csrf_token=other", "mb_csrf=abc123"),  # another site guessed
])
async def test_a_form_without_the_matching_csrf_token_is_refused(
    body: bytes, cookie_header: str
) -> None:
    with pytest.raises(Problem) as refused:
        await check_csrf(form_request(body, cookie_header))
    assert refused.value.status == 403


def test_queued_cookies_are_written_on_the_final_response_and_read_back() -> None:
    request = form_request(b"", "mb_lang=nl; mb_dossier=D1")
    queue_cookie(request, "mb_lang", "fr", max_age=60)
    queue_cookie_deletion(request, "mb_dossier")
    assert cookie(request, "mb_lang") == "fr"
    assert cookie(request, "mb_dossier") is None
    response = apply_cookies(request, Response(), secure=True)
    headers = response.headers.getlist("set-cookie")
    assert any(h.startswith("mb_lang=fr") and "Secure" in h and "HttpOnly" in h for h in headers)
    assert any(h.startswith("mb_dossier=") and "Max-Age=0" in h for h in headers)
