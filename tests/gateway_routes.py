"""The gateway's route table, for the tests that must cover every route the day it lands (the
authorization matrix, the accessibility of every page)."""

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from tests.service.gateway_support import FakeRpc, run_gateway


def _walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str, APIRoute]]:
    for route in routes:
        if isinstance(route, APIRoute):
            for method in (route.methods or set()) - {"HEAD", "OPTIONS"}:
                yield method, prefix + route.path, route
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.160)
            yield from _walk(route.original_router.routes, prefix + route.include_context.prefix)


def gateway_routes() -> list[tuple[str, str, APIRoute]]:
    """Every (method, path, route) the gateway serves, read from an app built like main's."""
    with tempfile.TemporaryDirectory() as directory:
        for gateway in run_gateway(Path(directory), FakeRpc()):
            app_routes = gateway.client.app.router.routes  # type: ignore[attr-defined]
            return list(_walk(app_routes, ""))
    raise AssertionError("the gateway did not start")
