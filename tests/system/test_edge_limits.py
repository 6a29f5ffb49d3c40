"""The running gateway (uvicorn as `python -m gateway` starts it) bounds request headers: a huge
head is refused before it is buffered, too many headers get 431, ordinary requests pass."""

import httpx
import pytest

from tests.system.stack import SystemStack

pytestmark = pytest.mark.system


def test_oversized_or_too_many_headers_are_refused_and_the_gateway_goes_on(
    system_stack: SystemStack,
) -> None:
    # A fresh connection per request: the server closes one after refusing its request head,
    # and may do so while a large head is still being sent (the client then sees a reset).
    def status(headers: dict[str, str]) -> int | str:
        try:
            with httpx.Client(base_url=system_stack.gateway_url, timeout=10.0) as client:
                return client.get("/api/v1/me", headers=headers).status_code
        except httpx.ReadError:
            return "closed"

    assert status({"x-filler": "a" * 100 * 1024}) in (400, 431, "closed")
    assert status({"x-filler": "a" * 1024 * 1024}) in (400, 431, "closed")
    assert status({f"x-filler-{number}": "a" for number in range(200)}) == 431
    assert status({f"x-filler-{number}": "a" for number in range(2000)}) in (400, 431, "closed")
    with httpx.Client(base_url=system_stack.gateway_url, timeout=10.0) as client:
        ordinary = client.get("/api/v1/me",
                              headers={f"x-filler-{number}": "a" * 100 for number in range(40)})
    assert ordinary.status_code == 401  # it reached the route: no token, "sign in first"
    assert ordinary.headers["cache-control"] == "no-store"
