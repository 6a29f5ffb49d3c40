"""The gateway's routes sit on the app itself (no included-router copies), in their order."""

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from gateway.main import include_routes
from gateway.problems import PROBLEM_STATUSES, api_router


def _routers() -> tuple[APIRouter, APIRouter]:
    api = api_router(prefix="/api/v1", tags=["things"])
    pages = APIRouter(include_in_schema=False)

    @api.get("/things/changes")
    async def changes() -> dict[str, str]:
        return {}

    @api.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"thing_id": thing_id}

    @pages.get("/things")
    async def things_page() -> dict[str, str]:
        return {}

    return api, pages


def test_the_app_holds_the_routers_own_routes_in_order_with_their_problem_answers() -> None:
    api, pages = _routers()
    app = FastAPI()
    include_routes(app, api, pages)
    assert app.router.routes[-3:] == [*api.routes, *pages.routes]  # the objects themselves
    first = api.routes[0]
    assert isinstance(first, APIRoute) and first.path == "/api/v1/things/changes"
    assert set(PROBLEM_STATUSES) <= set(first.responses)
    assert not first.response_fields  # referenced schemas: no validator built per status
    paths = app.openapi()["paths"]
    assert "/things" not in paths
    assert "503" in paths["/api/v1/things/{thing_id}"]["get"]["responses"]


def test_an_api_route_that_would_not_document_its_problems_is_refused_at_start() -> None:
    bare = APIRouter(prefix="/api/v1")

    @bare.get("/bare")
    async def bare_route() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="api_router"):
        include_routes(FastAPI(), bare)
